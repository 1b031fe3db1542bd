import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import { agentEvent, settle, type FakeAgentProcess } from '../support/fake-launcher.js'
import { rpcError, startHub } from '../support/hub-fixture.js'
import { agentSpec } from '../support/spec.js'

const ready = { jsonrpc: '2.0', method: 'agent.ready', params: {} }

interface ChatRequest {
  method?: string
  id: number
  params: { session_id: string }
}

function chatRequests(process: FakeAgentProcess): ChatRequest[] {
  return process.inbox.filter((m) => (m as ChatRequest).method === 'agent.chat') as ChatRequest[]
}

function ack(process: FakeAgentProcess, request: ChatRequest): void {
  process.send({ jsonrpc: '2.0', id: request.id, result: { accepted: true, session_id: request.params.session_id } })
}

/** Resolves once the promise settles, or reports that it has not after the microtasks ran. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await settle()
  return settled
}

describe('readiness (§6 v2)', () => {
  it('keeps a ready_signal agent starting until agent.ready; agents.start answers once it runs', async () => {
    const t = await startHub([agentSpec('r', { ready_signal: true, auto_start: false })], {})
    const host = t.connect()
    const started = host.client.call('agents.start', { agent_id: 'r' })
    expect(await isSettled(started)).toBe(false)
    expect(t.hub.supervisor.get('r')?.status).toBe('starting')
    t.launcher.latest('r').send(ready)
    expect(await started).toMatchObject({ id: 'r', status: 'running', pid: 1000 })
    expect(t.hub.stats().agents_running).toBe(1)
  })

  it('an agent without ready_signal runs once spawned and an unasked agent.ready changes nothing', async () => {
    const t = await startHub([agentSpec('plain')], {})
    expect(t.hub.supervisor.get('plain')?.status).toBe('running')
    t.launcher.latest('plain').send(ready)
    await settle()
    expect(t.hub.supervisor.get('plain')?.status).toBe('running')
    expect(t.hub.stats().events_dropped).toBe(0)
  })

  it('a chat for a starting agent waits for it, and only then opens the ack window', async () => {
    const t = await startHub([agentSpec('r', { ready_signal: true, auto_start: false })], {}, { ackTimeoutMs: 1_000 })
    const host = t.connect()
    void host.client.call('agents.start', { agent_id: 'r' })
    await settle()
    const call = host.client.call('agents.chat', { agent_id: 'r', prompt: 'x', session_id: 's' })
    await settle()
    // Far longer than the ack window, well within the ready window.
    await t.advance(20_000)
    expect(await isSettled(call)).toBe(false)
    const agent = t.launcher.latest('r')
    expect(chatRequests(agent)).toEqual([])
    agent.send(ready)
    await settle()
    const [request] = chatRequests(agent)
    await t.advance(900)
    ack(agent, request!)
    expect(await call).toEqual({ accepted: true, session_id: 's' })
  })

  it('opens no session for a host that left while the agent got ready', async () => {
    const t = await startHub([agentSpec('r', { ready_signal: true, auto_start: false })], {})
    const host = t.connect()
    const started = host.client.call('agents.start', { agent_id: 'r' }).catch(() => 'host gone')
    await settle()
    const call = rpcError(host.client.call('agents.chat', { agent_id: 'r', prompt: 'x', session_id: 's' }))
    await settle()
    host.dispose()
    expect(await started).toBe('host gone')
    t.launcher.latest('r').send(ready)
    await call
    await settle()
    expect(chatRequests(t.launcher.latest('r'))).toEqual([])
    expect(t.hub.stats().sessions_active).toBe(0)
  })

  it('stops an agent that is not ready within the ready timeout; the start fails and backs off, then errors', async () => {
    const t = await startHub(
      [agentSpec('r', { ready_signal: true, auto_start: false, max_restarts: 1 })],
      {},
      { readyTimeoutMs: 30_000, backoffInitialMs: 100 },
    )
    const host = t.connect()
    const started = host.client.call('agents.start', { agent_id: 'r' })
    await settle()
    const pending = rpcError(host.client.call('agents.chat', { agent_id: 'r', prompt: 'x' }))
    await t.advance(29_999)
    expect(await isSettled(started)).toBe(false)
    await t.advance(1)
    // SDK agents exit 0 on SIGTERM: the exit still counts as a failed start.
    expect(t.launcher.latest('r').killed).toEqual([false])
    expect(await started).toMatchObject({ status: 'backoff', pid: null })
    expect((await pending).code).toBe(ErrorCode.AgentUnavailable)
    await t.advance(100)
    expect(t.launcher.launched).toHaveLength(2)
    await t.advance(30_000)
    expect(t.hub.supervisor.get('r')?.status).toBe('errored')
    expect(t.launcher.launched).toHaveLength(2)
  })

  it('agents.restart answers once the new process is ready', async () => {
    const t = await startHub([agentSpec('r', { ready_signal: true, auto_start: false })], {})
    const host = t.connect()
    const started = host.client.call('agents.start', { agent_id: 'r' })
    await settle()
    t.launcher.latest('r').send(ready)
    await started
    const restarted = host.client.call('agents.restart', { agent_id: 'r' })
    await settle()
    expect(t.launcher.launched).toHaveLength(2)
    expect(await isSettled(restarted)).toBe(false)
    t.launcher.latest('r').send(ready)
    expect(await restarted).toMatchObject({ status: 'running', restart_count: 1 })
  })
})

describe('restart policy (§10 v2)', () => {
  it('restart "always" keeps restarting an agent that exits cleanly, after the shortest delay', async () => {
    const t = await startHub([agentSpec('a', { restart: 'always', max_restarts: 2 })], {}, { backoffInitialMs: 100 })
    for (let i = 1; i <= 5; i++) {
      t.launcher.latest('a').exit(0)
      await settle()
      expect(t.hub.supervisor.get('a')?.status).toBe('backoff')
      await t.advance(99)
      expect(t.launcher.launched).toHaveLength(i)
      await t.advance(1)
      expect(t.launcher.launched).toHaveLength(i + 1)
      expect(t.hub.supervisor.get('a')?.status).toBe('running')
    }
  })

  it('a clean exit resets the count of consecutive failures', async () => {
    const t = await startHub([agentSpec('a', { restart: 'always', max_restarts: 1 })], {}, { backoffInitialMs: 100 })
    t.launcher.latest('a').exit(1)
    await settle()
    await t.advance(100)
    t.launcher.latest('a').exit(0)
    await settle()
    await t.advance(100)
    t.launcher.latest('a').exit(1)
    await settle()
    expect(t.hub.supervisor.get('a')?.status).toBe('backoff')
    await t.advance(100)
    t.launcher.latest('a').exit(1)
    await settle()
    expect(t.hub.supervisor.get('a')?.status).toBe('errored')
    expect(t.hub.supervisor.get('a')?.lastExitCode).toBe(1)
  })
})

describe('models (§6 v2)', () => {
  it('agent.models replaces the list, shows in agents.list and emits agent.updated', async () => {
    const t = await startHub([agentSpec('m')], {})
    const host = t.connect()
    await host.client.call('host.subscribe')
    expect((await host.client.call('agents.list')).agents[0]).toMatchObject({ models: [], default_model: null })
    const agent = t.launcher.latest('m')
    agent.send({
      jsonrpc: '2.0',
      method: 'agent.models',
      params: { models: [{ id: 'small', name: 'Small' }, { id: 'large' }], default_model: 'small' },
    })
    agent.send({ jsonrpc: '2.0', method: 'agent.models', params: { models: [{ id: 'only' }] } })
    await settle()
    expect((await host.client.call('agents.list')).agents[0]).toMatchObject({ models: [{ id: 'only' }], default_model: null })
    const updates = host.hostEvents.filter((e) => e.kind === 'agent.updated')
    expect(updates.map((e) => [e.agent_id, e.payload.models, e.payload.default_model])).toEqual([
      ['m', [{ id: 'small', name: 'Small' }, { id: 'large' }], 'small'],
      ['m', [{ id: 'only' }], null],
    ])
    expect(updates[0]!.payload).toMatchObject({ id: 'm', status: 'running' })
  })

  it('drops and counts an agent.models beyond the bounds', async () => {
    const t = await startHub([agentSpec('m')], {})
    const agent = t.launcher.latest('m')
    const tooMany = Array.from({ length: 1_001 }, (_, i) => ({ id: `m${i}` }))
    agent.send({ jsonrpc: '2.0', method: 'agent.models', params: { models: tooMany } })
    agent.send({ jsonrpc: '2.0', method: 'agent.models', params: { models: [{ id: 'x'.repeat(257) }] } })
    await settle()
    expect(t.hub.stats().events_dropped).toBe(2)
    expect(t.hub.supervisor.list()[0]!.models).toEqual([])
  })
})

describe('MCP servers (agent.tools, README protocol notes)', () => {
  const calc = { name: 'calc', state: 'ready', tools: [{ name: 'add', description: 'Adds.' }, { name: 'env' }] }
  const broken = { name: 'broken', state: 'failed', tools: [], error: 'Connection closed' }

  it('agent.tools replaces the list, shows as mcp_servers in agents.list and emits agent.updated', async () => {
    const t = await startHub([agentSpec('m')], {})
    const host = t.connect()
    await host.client.call('host.subscribe')
    expect((await host.client.call('agents.list')).agents[0]).not.toHaveProperty('mcp_servers')
    const agent = t.launcher.latest('m')
    agent.send({ jsonrpc: '2.0', method: 'agent.tools', params: { servers: [calc, broken] } })
    agent.send({ jsonrpc: '2.0', method: 'agent.tools', params: { servers: [{ ...calc, state: 'stopped' }, broken] } })
    await settle()
    expect((await host.client.call('agents.list')).agents[0]!.mcp_servers).toEqual([{ ...calc, state: 'stopped' }, broken])
    const updates = host.hostEvents.filter((e) => e.kind === 'agent.updated')
    expect(updates.map((e) => [e.agent_id, e.payload.mcp_servers])).toEqual([
      ['m', [calc, broken]],
      ['m', [{ ...calc, state: 'stopped' }, broken]],
    ])
    expect(updates[0]!.payload).toMatchObject({ id: 'm', status: 'running', models: [] })
  })

  it('drops and counts an agent.tools beyond the bounds', async () => {
    const t = await startHub([agentSpec('m')], {})
    const agent = t.launcher.latest('m')
    const server = (i: number, tools: number) => ({ name: `s${i}`, state: 'ready', tools: Array.from({ length: tools }, (_, j) => ({ name: `t${j}` })) })
    const bad = [
      { servers: Array.from({ length: 65 }, (_, i) => server(i, 0)) },
      { servers: [server(1, 600), server(2, 401)] },
      { servers: [{ ...broken, error: 'x'.repeat(1_025) }] },
      { servers: [{ ...calc, tools: [{ name: 'add', description: 'x'.repeat(1_025) }] }] },
      { servers: [{ ...calc, state: 'crashed' }] },
      { servers: [{ ...calc, name: 'x'.repeat(257) }] },
    ]
    for (const params of bad) agent.send({ jsonrpc: '2.0', method: 'agent.tools', params })
    agent.send({ jsonrpc: '2.0', method: 'agent.tools', params: { servers: [server(1, 600), server(2, 400)] } })
    await settle()
    expect(t.hub.stats().events_dropped).toBe(bad.length)
    expect(t.hub.supervisor.list()[0]!.mcp_servers?.map((s) => s.tools.length)).toEqual([600, 400])
  })
})

describe('held events (§8 v2)', () => {
  /** An agent that sends `before(sid)` ahead of its acknowledgement. */
  function earlyAgent(before: (process: FakeAgentProcess, sid: string) => void) {
    return (process: FakeAgentProcess) =>
      process.onHubMessage((m) => {
        const msg = m as ChatRequest
        if (msg.method !== 'agent.chat') return
        before(process, msg.params.session_id)
        ack(process, msg)
      })
  }

  it('merges held tokens and never drops held non-token or terminal events, however many', async () => {
    const words = Array.from({ length: 20_000 }, (_, i) => `w${i} `)
    const t = await startHub(
      [agentSpec('a')],
      {
        a: earlyAgent((p, sid) => {
          for (const [i, word] of words.entries()) {
            p.send(agentEvent(sid, { kind: 'token', delta: word }))
            if (i % 2 === 0) p.send(agentEvent(sid, { kind: 'status', message: `at ${i}` }))
          }
          p.send(agentEvent(sid, { kind: 'done', finish_reason: 'stop' }))
        }),
      },
    )
    const host = t.connect()
    await host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's' })
    await settle()
    expect(host.textOf('s')).toBe(words.join(''))
    expect(host.eventsOf('s').filter((e) => e.kind === 'status')).toHaveLength(10_000)
    expect(host.terminalsOf('s').map((e) => e.kind)).toEqual(['done'])
    expect(t.hub.stats()).toMatchObject({ sessions_active: 0, events_dropped: 0 })
  })

  it('merges consecutive held tokens into one event', async () => {
    const t = await startHub(
      [agentSpec('a')],
      {
        a: earlyAgent((p, sid) => {
          for (let i = 0; i < 1_000; i++) p.send(agentEvent(sid, { kind: 'token', delta: 'ab' }))
          p.send(agentEvent(sid, { kind: 'done', finish_reason: 'stop' }))
        }),
      },
    )
    const host = t.connect()
    await host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's' })
    await settle()
    expect(host.eventsOf('s').map((e) => e.kind)).toEqual(['token', 'done'])
    expect(host.textOf('s')).toBe('ab'.repeat(1_000))
    expect(t.hub.stats()).toMatchObject({ events_forwarded: 1_001, events_merged: 999 })
  })

  it('counts held bytes towards the host hard cap and disconnects the host past it', async () => {
    const t = await startHub(
      [agentSpec('a'), agentSpec('b')],
      {
        a: earlyAgent((p, sid) => {
          for (let i = 0; i < 100; i++) p.send(agentEvent(sid, { kind: 'token', delta: 'x'.repeat(1_024) }))
        }),
      },
      { hostHardCapBytes: 64 * 1024 },
    )
    const flooded = t.connect()
    const bystander = t.connect()
    const refused = rpcError(flooded.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's' }))
    await settle()
    await refused
    expect(t.hub.stats()).toMatchObject({ hosts_overflowed: 1, hosts_connected: 1, sessions_active: 0 })
    expect(flooded.events).toEqual([])
    const cancels = t.launcher.latest('a').inbox.filter((m) => (m as { method?: string }).method === 'agent.chat.cancel')
    expect(cancels).toHaveLength(1)
    expect(bystander.isConnected).toBe(true)
  })

  it('releases held bytes from the cap once they are handed on', async () => {
    // Each session holds ~40 KiB; three in a row would pass a 64 KiB cap if the held bytes were never released.
    const t = await startHub(
      [agentSpec('a')],
      {
        a: earlyAgent((p, sid) => {
          for (let i = 0; i < 40; i++) p.send(agentEvent(sid, { kind: 'token', delta: 'y'.repeat(1_024) }))
          p.send(agentEvent(sid, { kind: 'done', finish_reason: 'stop' }))
        }),
      },
      { hostHardCapBytes: 64 * 1024 },
    )
    const host = t.connect()
    for (const sid of ['s1', 's2', 's3']) {
      await host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: sid })
      await settle()
      expect(host.textOf(sid)).toHaveLength(40 * 1_024)
    }
    expect(t.hub.stats().hosts_overflowed).toBe(0)
  })
})
