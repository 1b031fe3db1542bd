import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { ManifestAgentSchema } from '../../src/protocol/manifest.js'
import { builtOutputExists, isRunning, startHub as startHeadless } from './support/headless-process.js'
import { WsTestClient } from './support/ws-test-client.js'

/**
 * PROTOCOL.md §6: an agent's own child processes are part of it. The fixture agent
 * starts a plain child and a detached one (setsid), both ignoring SIGTERM, and
 * answers a chat with their pids; whichever way the hub stops the agent, both go.
 */
const SPAWNER = resolve(import.meta.dirname, '../fixtures/agents/spawner.cjs')

const cleanups: Array<() => Promise<void> | void> = []
const leftovers = new Set<number>()

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  // A failing test must not leave its processes behind.
  for (const pid of leftovers) if (isRunning(pid)) process.kill(pid, 'SIGKILL')
  leftovers.clear()
})

/** Polls a condition no event announces, up to a bound far above PROTOCOL.md §6's 5 s, for a busy machine. */
async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

async function allGone(pids: number[]): Promise<void> {
  await eventually(() => pids.every((pid) => !isRunning(pid)), `processes ${pids.join(', ')} to be gone`)
}

function pidsOf(text: string): number[] {
  const pids = text.split(' ').map(Number)
  expect(pids).toHaveLength(2)
  for (const pid of pids) {
    expect(pid).toBeGreaterThan(0)
    leftovers.add(pid)
  }
  return pids
}

async function inProcessHub() {
  const launcher = new ChildProcessLauncher()
  const hub = new Hub({ agents: [ManifestAgentSchema.parse({ id: 'spawner', name: 'Spawner', module: SPAWNER })], launcher, stopTimeoutMs: 3_000 })
  cleanups.push(async () => {
    await hub.shutdown()
    launcher.dispose()
  })
  await hub.start()
  const host = new InProcessHost()
  hub.connectHost(host.transport)
  /** Chats with the spawner and resolves with the pids of the children it started. */
  const children = async (): Promise<number[]> => {
    const text = new Promise<string>((done, fail) => {
      const subscription = host.onNotification(({ method, params }) => {
        const event = params as { kind?: string; text?: string; error?: string }
        if (method !== 'agents.chat.event' || (event.kind !== 'done' && event.kind !== 'error')) return
        subscription.dispose()
        if (event.kind === 'done') done(event.text ?? '')
        else fail(new Error(event.error))
      })
    })
    await host.client.call('agents.chat', { agent_id: 'spawner', prompt: 'spawn' })
    const pids = pidsOf(await text)
    expect(pids.every(isRunning)).toBe(true)
    return pids
  }
  return { hub, host, children }
}

describe('an agent\'s own processes stop with it (PROTOCOL.md §6)', () => {
  it('agents.stop: its plain and detached children are gone too', async () => {
    const { host, children } = await inProcessHub()
    const pids = await children()
    expect(await host.client.call('agents.stop', { agent_id: 'spawner' })).toMatchObject({ status: 'stopped' })
    await allGone(pids)
  })

  it('agents.restart: the old life\'s children are gone, the new life runs', async () => {
    const { host, children } = await inProcessHub()
    const pids = await children()
    expect(await host.client.call('agents.restart', { agent_id: 'spawner' })).toMatchObject({ status: 'running' })
    await allGone(pids)
    const next = await children()
    expect(next.every(isRunning)).toBe(true)
  })

  it('hub shutdown: every agent\'s children are gone', async () => {
    const { hub, children } = await inProcessHub()
    const pids = [...(await children()), ...(await children())]
    await hub.shutdown()
    await allGone(pids)
  })
})

describe.skipIf(!builtOutputExists())('headless hub: an agent\'s own processes stop with it', () => {
  it('SIGTERM to the hub: its agents\' plain and detached children are gone once it has exited', async () => {
    const root = mkdtempSync(join(tmpdir(), 'carhost-tree-'))
    cleanups.push(() => rmSync(root, { recursive: true, force: true }))
    const manifest = join(root, 'agents.json')
    writeFileSync(manifest, JSON.stringify({ agents: [{ id: 'spawner', name: 'Spawner', module: SPAWNER }] }))
    const running = await startHeadless(['--port', '0', '--data-dir', join(root, 'data'), '--agents', manifest, '--no-builtin-agents'])
    cleanups.push(async () => {
      running.process.kill('SIGKILL')
      await running.process.exited
    })
    const client = await WsTestClient.authed(running.url, running.token)
    cleanups.push(() => client.socket.terminate())
    const from = client.frames.length
    client.sendJson({ jsonrpc: '2.0', id: 'c', method: 'agents.chat', params: { agent_id: 'spawner', prompt: 'spawn' } })
    const done = (await client.waitFor(
      (frame) => (frame as { params?: { kind?: string } }).params?.kind === 'done',
      from,
    )) as { params: { text: string } }
    const pids = pidsOf(done.params.text)
    expect(pids.every(isRunning)).toBe(true)

    running.process.kill('SIGTERM')
    expect(await running.process.exited).toEqual({ code: 0, signal: null })
    await allGone(pids)
  })
})
