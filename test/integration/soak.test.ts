import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { ManifestAgentSchema } from '../../src/protocol/manifest.js'
import { faultAgentPath, prng, turnText, type FaultTurn } from '../fixtures/fault/fault-turn.js'
import { inProcessHost, waitFor, webSocketHost, type AnyHost } from '../fixtures/fault/hosts.js'
import type { HostChatEvent } from '../fixtures/fault/ws-host.js'

/**
 * About 30 s of sustained chats with real agent processes (in-process and WebSocket
 * hosts, cancels, approvals, hosts leaving and coming back), with the hub process's
 * heap sampled after full collections. Fails if memory keeps growing: the median of
 * the last third of the samples against the first third, with a generous margin, so
 * a loaded machine (fewer chats, slower GC) cannot make it flaky, while anything that
 * keeps per-chat state (sessions, events, timers, listeners) grows far past it.
 */

const DURATION_MS = Number(process.env.CARHOST_SOAK_MS ?? 30_000)
const WARM_UP_MS = 3_000
const SAMPLE_EVERY_MS = 250
const MIB = 2 ** 20

/** A full GC, without needing `--expose-gc` on the test worker. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Waiting {
  spec: FaultTurn
  text: string
  cancelled: boolean
  done(terminal: HostChatEvent): void
}

describe('soak', () => {
  it(`keeps memory flat over ${DURATION_MS / 1000} s of sustained chats with real agents`, async () => {
    const gc = exposeGc()
    const rnd = prng(0x50a4)
    const launcher = new ChildProcessLauncher({ execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const hub = new Hub({
      agents: ['k0', 'k1'].map((id) => ManifestAgentSchema.parse({ id, name: id, module: faultAgentPath, ready_signal: true })),
      launcher,
      ackTimeoutMs: 30_000,
    })
    const token = randomBytes(32).toString('base64url')
    const server = await HubServer.listen({ hub, token, port: 0, staticRoot: null })
    const samples: Array<{ at: number; heap: number }> = []
    const failures: string[] = []
    let completed = 0
    let reconnects = 0
    let sampler: NodeJS.Timeout | undefined

    try {
      await hub.start()
      const started = Date.now()
      const deadline = started + DURATION_MS

      /** One host chatting in a loop: the next chat as soon as the last one ended. */
      const worker = async (kind: 'in-process' | 'websocket', index: number) => {
        const waiting = new Map<string, Waiting>()
        const open = async (): Promise<AnyHost> => {
          const name = `${kind}-${index}`
          const host = kind === 'in-process' ? inProcessHost(hub, name, { keepEvents: false }) : await webSocketHost(server.wsUrl, token, name, { keepEvents: false })
          host.onEvent((event) => {
            const turn = waiting.get(event.session_id)
            if (!turn) return failures.push(`${name} got an event of ${event.session_id}`)
            if (event.kind === 'token') turn.text += event.delta as string
            else if (event.kind === 'approval_pending') {
              void host.request('agents.chat.approve', { session_id: event.session_id, approval_id: event.approval_id, decision: true }).catch(() => undefined)
            } else if (event.kind === 'done' || event.kind === 'error') turn.done(event)
          })
          return host
        }
        let host = await open()
        let n = 0
        while (Date.now() < deadline) {
          // Leaving the CPU some room between chats keeps the rest of the suite (running in parallel) unhurried.
          await new Promise((resolve) => setTimeout(resolve, 2))
          const tokens = rnd.int(3, 30)
          const spec: FaultTurn = { tokens, delayMs: 0, end: 'done', ...(rnd.chance(0.1) ? { approvalAt: rnd.int(0, tokens - 1) } : {}) }
          const sessionId = `${kind}-${index}-${n++}`
          const turn: Waiting = { spec, text: '', cancelled: false, done: () => {} }
          const ended = new Promise<HostChatEvent>((resolve) => (turn.done = resolve))
          waiting.set(sessionId, turn)
          try {
            await host.request('agents.chat', { agent_id: rnd.pick(['k0', 'k1']), prompt: JSON.stringify(spec), session_id: sessionId })
          } catch (error) {
            failures.push(`chat ${sessionId}: ${String(error)}`)
            waiting.delete(sessionId)
            continue
          }
          if (rnd.chance(0.1)) {
            turn.cancelled = true
            void host.request('agents.chat.cancel', { session_id: sessionId }).catch(() => undefined)
          }
          const terminal = await ended
          waiting.delete(sessionId)
          const full = turnText(spec)
          if (terminal.kind === 'done' && terminal.finish_reason === 'stop') {
            if (turn.text !== full) failures.push(`${sessionId}: text '${turn.text.slice(0, 40)}…' is not what the agent sent`)
          } else if (!(turn.cancelled && terminal.finish_reason === 'cancelled')) {
            failures.push(`${sessionId}: ended with ${JSON.stringify(terminal)}`)
          }
          completed++
          // Now and then the host goes away between chats and comes back (a window reloaded).
          if (n % 50 === 0) {
            host.disconnect()
            host = await open()
            reconnects++
          }
        }
        host.disconnect()
      }

      sampler = setInterval(() => {
        if (Date.now() - started < WARM_UP_MS) return
        gc()
        samples.push({ at: Date.now() - started, heap: process.memoryUsage().heapUsed })
      }, SAMPLE_EVERY_MS)
      await Promise.all([...[0, 1, 2, 3].map((i) => worker('in-process', i)), worker('websocket', 0)])
      clearInterval(sampler)

      expect(failures).toEqual([])
      expect(completed).toBeGreaterThan(200)
      await waitFor(() => hub.stats().hosts_connected === 0, 5_000, () => `hosts to leave: ${hub.stats().hosts_connected}`)
      // Nothing per chat or per host stays behind in the hub.
      expect(hub.stats().sessions_active).toBe(0)
      expect([...hub.router.sessions.values()]).toEqual([])
      expect(hub.router.sessions.ofAgent('k0')).toEqual([])
      expect(hub.router.sessions.ofAgent('k1')).toEqual([])
      for (const agent of hub.supervisor.all()) expect(agent.pendingRequests).toBe(0)
      expect(hub.supervisor.list().map((a) => a.restart_count)).toEqual([0, 0])

      const third = Math.floor(samples.length / 3)
      expect(third).toBeGreaterThanOrEqual(5)
      const first = median(samples.slice(0, third).map((s) => s.heap))
      const last = median(samples.slice(-third).map((s) => s.heap))
      console.log(
        `soak: ${completed} chats, ${reconnects} host reconnects, ${samples.length} heap samples; ` +
          `heap after gc: first third ${(first / MIB).toFixed(1)} MiB, last third ${(last / MIB).toFixed(1)} MiB ` +
          `(${(((last - first) / Math.max(1, completed)) | 0)} B/chat); stats ${JSON.stringify(hub.stats())}`,
      )
      expect(last, 'heap keeps growing').toBeLessThan(first * 1.15 + 3 * MIB)
    } finally {
      clearInterval(sampler)
      await hub.shutdown()
      await server.close()
      launcher.dispose()
    }
  }, DURATION_MS + 60_000)
})
