/**
 * Experiment (not part of `npm run bench`): what two WebSocket transport changes
 * would buy, measured with the same agents, hub and WebSocket client process as the
 * throughput scenario, against the transport as it is.
 *
 *   node --expose-gc --import tsx bench/experiments/ws-transport.ts [--runs 5]
 *
 * - `cork`: cork the socket on the first frame of a tick, uncork on process.nextTick,
 *   so the frames of one tick leave in one writev instead of one syscall each.
 * - `cork + tick merge`: also report "not writable" from the first frame of a tick
 *   until setImmediate, so the hub's outbox queues the rest of the tick and merges
 *   consecutive tokens of a session (PROTOCOL.md §8 allows it), then flushes them.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { WebSocketServer, type WebSocket } from 'ws'
import { WebSocketHostTransport } from '../../src/platform/node/websocket-host-transport.js'
import type { DriverChat } from '../agents/ws-client.js'
import { agentExecArgv, stopChild, wsClientPath } from '../lib/env.js'
import { HubRig } from '../lib/hub-rig.js'
import { RawRig } from '../lib/raw.js'
import { fmt, median } from '../lib/stats.js'

type RawSocket = { cork(): void; uncork(): void }

/** Frames of one tick leave in one write. */
class CorkedTransport extends WebSocketHostTransport {
  private corked = false
  protected readonly raw: RawSocket | undefined

  constructor(ws: WebSocket) {
    super(ws)
    this.raw = (ws as unknown as { _socket?: RawSocket })._socket
  }

  override send(message: object, size?: number): void {
    const raw = this.raw
    if (raw && !this.corked) {
      this.corked = true
      raw.cork()
      process.nextTick(() => {
        this.corked = false
        raw.uncork()
      })
    }
    super.send(message, size)
  }
}

/** Also lets the outbox merge the rest of a tick's tokens and send them at its end. */
class TickMergingTransport extends CorkedTransport {
  private holding = false
  private releasing = false

  override get writable(): boolean {
    return !this.holding && super.writable
  }

  override send(message: object, size?: number): void {
    super.send(message, size)
    if (this.holding || this.releasing) return
    this.holding = true
    setImmediate(() => {
      this.holding = false
      this.releasing = true
      ;(this as unknown as { drains: { fire(): void } }).drains.fire()
      this.releasing = false
    })
  }
}

const variants = {
  'as is': (ws: WebSocket) => new WebSocketHostTransport(ws),
  cork: (ws: WebSocket) => new CorkedTransport(ws),
  'cork + tick merge': (ws: WebSocket) => new TickMergingTransport(ws),
} as const
type Variant = keyof typeof variants

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const runs = Number(values.runs)

async function measure(agents: number, hosts: number, count: number) {
  const raw = await RawRig.start(agents)
  const rig = await HubRig.start(agents)
  let current: Variant = 'as is'
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await once(wss, 'listening')
  wss.on('connection', (ws) => rig.hub.connectHost(variants[current](ws)))
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`
  const driver = fork(wsClientPath, [], { execArgv: agentExecArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let reqId = 0
  const call = (command: object) =>
    new Promise<{ ok: boolean; results?: Array<{ startMs: number; endMs: number; events: number; textBytes: number }> }>((resolve) => {
      const id = ++reqId
      const onMessage = (message: { reqId: number }) => {
        if (message.reqId !== id) return
        driver.off('message', onMessage)
        resolve(message as never)
      }
      driver.on('message', onMessage)
      driver.send({ ...command, reqId: id })
    })
  const names = Object.keys(variants) as Variant[]
  const firstHost = new Map<Variant, number>()
  for (const name of names) {
    current = name
    firstHost.set(name, names.indexOf(name) * hosts)
    await call({ cmd: 'connect', url, token: '', count: hosts })
  }
  const samples = new Map<Variant | 'raw', Array<{ msgs: number; bytes: number }>>([['raw', []], ...names.map((n) => [n, []] as [Variant, []])])
  let tag = 0
  const once_ = async (name: Variant | 'raw') => {
    const id = `x${tag++}`
    if (name === 'raw') {
      const r = await raw.run(hosts / agents, { mode: 'flood', count, delta: 'hello ' }, id)
      return { msgs: (r.events / r.elapsedMs) * 1000, bytes: (r.textBytes / r.elapsedMs) * 1000 }
    }
    const chats: DriverChat[] = Array.from({ length: hosts }, (_, h) => ({
      host: firstHost.get(name)! + h,
      agent_id: rig.agentIds[h % agents]!,
      session_id: `${id}-${h}`,
      prompt: JSON.stringify({ mode: 'flood', count, delta: 'hello ' }),
    }))
    const { results } = await call({ cmd: 'chats', chats })
    const start = Math.min(...results!.map((r) => r.startMs))
    const end = Math.max(...results!.map((r) => r.endMs))
    const events = results!.reduce((s, r) => s + r.events - 1, 0)
    const bytes = results!.reduce((s, r) => s + r.textBytes, 0)
    if (bytes !== hosts * count * 6) throw new Error(`${name}: text lost`)
    return { msgs: (events / (end - start)) * 1000, bytes: (bytes / (end - start)) * 1000 }
  }
  const all: Array<Variant | 'raw'> = ['raw', ...names]
  for (const name of all) await once_(name)
  for (let i = 0; i < runs; i++) for (const name of all.map((_, k) => all[(k + i) % all.length]!)) samples.get(name)!.push(await once_(name))
  await call({ cmd: 'close' })
  await stopChild(driver)
  wss.close()
  await rig.stop()
  await raw.stop()
  const rawList = samples.get('raw')!
  return all.map((name) => {
    const list = samples.get(name)!
    return {
      name,
      msgs: median(list.map((s) => s.msgs)),
      bytes: median(list.map((s) => s.bytes)),
      msgsRatio: median(list.map((s, i) => s.msgs / rawList[i]!.msgs)),
      bytesRatio: median(list.map((s, i) => s.bytes / rawList[i]!.bytes)),
    }
  })
}

process.stdout.write('| shape | transport | msgs/s | text B/s | msgs ÷ raw | text ÷ raw |\n| --- | --- | --- | --- | --- | --- |\n')
for (const [label, agents, hosts, count] of [
  ['1 agent → 1 host', 1, 1, 100_000],
  ['4 agents → 8 hosts', 4, 8, 25_000],
] as const) {
  for (const r of await measure(agents, hosts, count)) {
    process.stdout.write(`| ${label} | ${r.name} | ${fmt(r.msgs)} | ${fmt(r.bytes)} | ${fmt(r.msgsRatio, 2)} | ${fmt(r.bytesRatio, 2)} |\n`)
  }
}
