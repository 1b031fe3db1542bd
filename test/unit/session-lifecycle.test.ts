import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import { agentEvent, scriptedAgent, settle, type FakeAgentProcess } from '../support/fake-launcher.js'
import { rpcError, startHub } from '../support/hub-fixture.js'
import { agentSpec } from '../support/spec.js'

const token = (sid: string, delta: string) => agentEvent(sid, { kind: 'token', delta })

function cancelsReceived(process: FakeAgentProcess): string[] {
  return process.inbox
    .filter((m) => (m as { method?: string }).method === 'agent.chat.cancel')
    .map((m) => (m as { params: { session_id: string } }).params.session_id)
}

async function withSession(options: Parameters<typeof startHub>[2] = {}) {
  const t = await startHub([agentSpec('a')], { a: scriptedAgent() }, options)
  const owner = t.connect()
  const stranger = t.connect()
  await owner.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's' })
  return { ...t, owner, stranger, agent: t.launcher.latest('a') }
}

describe('cancel (rule 7)', () => {
  it('by the owner: cancel sent to the agent, {cancelled:true}, then done cancelled, then nothing', async () => {
    const t = await withSession()
    t.agent.send(token('s', 'partial'))
    await settle()
    expect(await t.owner.client.call('agents.chat.cancel', { session_id: 's' })).toEqual({ cancelled: true })
    t.agent.send(token('s', 'too late'))
    await settle()
    expect(cancelsReceived(t.agent)).toEqual(['s'])
    expect(t.owner.eventsOf('s').map((e) => [e.kind, e.finish_reason])).toEqual([
      ['token', undefined],
      ['done', 'cancelled'],
    ])
    const kinds = t.owner.received.map((m) => ('result' in m ? 'result' : (m as { params: { kind: string } }).params.kind))
    expect(kinds.slice(-2)).toEqual(['result', 'done'])
    expect(await t.owner.client.call('agents.chat.cancel', { session_id: 's' })).toEqual({ cancelled: false })
  })

  it('by a stranger: -32003 and nothing changes', async () => {
    const t = await withSession()
    expect((await rpcError(t.stranger.client.call('agents.chat.cancel', { session_id: 's' }))).code).toBe(ErrorCode.Forbidden)
    t.agent.send(token('s', 'on'))
    await settle()
    expect(t.owner.textOf('s')).toBe('on')
    expect(cancelsReceived(t.agent)).toEqual([])
    expect(t.stranger.events).toEqual([])
  })

  it('of an unknown session: {cancelled:false}', async () => {
    const t = await withSession()
    expect(await t.owner.client.call('agents.chat.cancel', { session_id: 'nope' })).toEqual({ cancelled: false })
  })
})

describe('approvals', () => {
  it('forwards the decision to the agent for the owner only, and pauses the idle clock while pending', async () => {
    const t = await withSession({ sessionIdleMs: 1_000, sessionMaxAgeMs: 60_000 })
    t.agent.onHubMessage((m) => {
      const msg = m as { method?: string; id: number; params: { approval_id: string; decision: boolean } }
      if (msg.method !== 'agent.chat.approve') return
      t.agent.send({ jsonrpc: '2.0', id: msg.id, result: { resolved: true } })
      t.agent.send(agentEvent('s', { kind: 'approval_resolved', approval_id: msg.params.approval_id, resolution: 'approve' }))
    })
    t.agent.send(agentEvent('s', { kind: 'approval_pending', approval_id: 'ap1', tool: 'calculate', params: { expr: '1+1' } }))
    await settle()
    await t.advance(5_000) // far past the idle timeout, but an approval is pending
    expect(t.owner.terminalsOf('s')).toEqual([])
    expect((await rpcError(t.stranger.client.call('agents.chat.approve', { session_id: 's', approval_id: 'ap1', decision: true }))).code).toBe(
      ErrorCode.Forbidden,
    )
    expect(await t.owner.client.call('agents.chat.approve', { session_id: 's', approval_id: 'nope', decision: true })).toEqual({
      resolved: false,
      session_id: 's',
    })
    expect(await t.owner.client.call('agents.chat.approve', { session_id: 's', approval_id: 'ap1', decision: true })).toEqual({
      resolved: true,
      session_id: 's',
    })
    const approvals = t.agent.inbox.filter((m) => (m as { method?: string }).method === 'agent.chat.approve')
    expect(approvals).toHaveLength(1)
    expect((approvals[0] as { params: unknown }).params).toEqual({ session_id: 's', approval_id: 'ap1', decision: true })
    await settle()
    expect(t.owner.eventsOf('s').map((e) => e.kind)).toEqual(['approval_pending', 'approval_resolved'])
    // The idle clock runs again from the resolution.
    await t.advance(999)
    expect(t.owner.terminalsOf('s')).toEqual([])
    await t.advance(1_001)
    expect(t.owner.terminalsOf('s').map((e) => e.code)).toEqual(['session_expired'])
  })
})

describe('session endings', () => {
  it('host disconnect removes its sessions and cancels them at the agent (rule 6)', async () => {
    const t = await withSession()
    await t.owner.client.call('agents.chat', { agent_id: 'a', prompt: 'y', session_id: 's2' })
    t.owner.dispose()
    await settle()
    expect(t.hub.stats().sessions_active).toBe(0)
    expect(cancelsReceived(t.agent).sort()).toEqual(['s', 's2'])
    t.agent.send(token('s', 'into the void'))
    await settle()
    expect(t.stranger.events).toEqual([])
    expect(t.hub.stats().hosts_connected).toBe(1)
  })

  it('agent exit ends its sessions with agent_exited, then the agent restarts with backoff', async () => {
    const t = await withSession({ backoffInitialMs: 100, backoffMaxMs: 1_000 })
    t.owner.client.call('host.subscribe')
    await settle()
    t.agent.exit(3)
    await settle()
    expect(t.owner.terminalsOf('s').map((e) => [e.kind, e.code])).toEqual([['error', 'agent_exited']])
    expect(t.hub.supervisor.get('a')?.status).toBe('backoff')
    await t.advance(100)
    expect(t.hub.supervisor.get('a')?.status).toBe('running')
    expect(t.launcher.launched).toHaveLength(2)
    const statuses = t.owner.hostEvents.filter((e) => e.kind === 'agent.status_changed').map((e) => e.payload.status)
    expect(statuses).toEqual(['backoff', 'starting', 'running'])
    const [info] = (await t.owner.client.call('agents.list')).agents
    expect(info).toMatchObject({ id: 'a', status: 'running', restart_count: 1, last_exit_code: 3 })
  })

  it('gives up after max_restarts consecutive failures, with doubling delays', async () => {
    const t = await startHub([agentSpec('a', { max_restarts: 2 })], {}, { backoffInitialMs: 100, backoffMaxMs: 10_000 })
    t.launcher.latest('a').exit(1)
    await settle()
    await t.advance(99)
    expect(t.launcher.launched).toHaveLength(1)
    await t.advance(1)
    expect(t.launcher.launched).toHaveLength(2)
    t.launcher.latest('a').exit(1)
    await settle()
    await t.advance(199)
    expect(t.launcher.launched).toHaveLength(2)
    await t.advance(1)
    expect(t.launcher.launched).toHaveLength(3)
    t.launcher.latest('a').exit(1)
    await settle()
    expect(t.hub.supervisor.get('a')?.status).toBe('errored')
  })

  it('the sweeper expires idle sessions and too-old sessions, and counts them', async () => {
    const t = await withSession({ sessionIdleMs: 1_000, sessionMaxAgeMs: 3_000 })
    await t.advance(900)
    t.agent.send(token('s', 'alive'))
    await settle()
    await t.advance(900)
    expect(t.owner.terminalsOf('s')).toEqual([])
    await t.owner.client.call('agents.chat', { agent_id: 'a', prompt: 'z', session_id: 'old' })
    for (let i = 0; i < 4; i++) {
      t.agent.send(token('s', '.'))
      t.agent.send(token('old', '.'))
      await settle()
      await t.advance(500)
    }
    // 's' is older than 3 s although it was never idle.
    expect(t.owner.terminalsOf('s').map((e) => [e.code, e.error])).toEqual([['session_expired', 'the session exceeded its maximum age']])
    expect(t.owner.terminalsOf('old')).toEqual([])
    await t.advance(1_100)
    expect(t.owner.terminalsOf('old').map((e) => e.code)).toEqual(['session_expired'])
    expect(t.hub.stats().sessions_expired).toBe(2)
    expect(cancelsReceived(t.agent).sort()).toEqual(['old', 's'])
  })

  it('shutdown ends sessions with hub_shutdown and stops the agents', async () => {
    const t = await withSession()
    await t.hub.shutdown()
    expect(t.owner.terminalsOf('s').map((e) => e.code)).toEqual(['hub_shutdown'])
    expect(t.agent.alive).toBe(false)
    expect(t.hub.stats().agents_running).toBe(0)
  })

  it('hub.sessions lists only the caller’s own sessions', async () => {
    const t = await withSession()
    await t.stranger.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'theirs', conversation_id: 'c1' })
    expect((await t.owner.client.call('hub.sessions')).sessions.map((s) => s.session_id)).toEqual(['s'])
    const [theirs] = (await t.stranger.client.call('hub.sessions')).sessions
    expect(theirs).toEqual({ session_id: 'theirs', agent_id: 'a', conversation_id: 'c1', created_at: Math.floor(t.clock.now() / 1000) })
  })
})

describe('backpressure (section 8)', () => {
  it('merges tokens for a lagging host, keeps every character, and never slows another host', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent() })
    const slow = t.connect({ highWaterBytes: 200 })
    const fast = t.connect()
    await slow.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'slow' })
    await fast.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'fast' })
    slow.pause()
    const agent = t.launcher.latest('a')
    let expected = ''
    for (let i = 0; i < 500; i++) {
      const delta = `w${i} `
      expected += delta
      agent.send(token('slow', delta))
      agent.send(token('fast', delta))
    }
    agent.send(agentEvent('slow', { kind: 'status', message: 'halfway' }))
    agent.send(token('slow', 'end'))
    agent.send(agentEvent('slow', { kind: 'done', finish_reason: 'stop' }))
    await settle()
    expect(fast.textOf('fast')).toBe(expected)
    expect(fast.eventsOf('fast')).toHaveLength(500)
    expect(slow.events.length).toBeLessThan(10)
    slow.resume()
    await settle()
    expect(slow.textOf('slow')).toBe(expected + 'end')
    expect(slow.eventsOf('slow').map((e) => e.kind).filter((k) => k !== 'token')).toEqual(['status', 'done'])
    // Merging never crosses the status event.
    const kinds = slow.eventsOf('slow').map((e) => e.kind)
    expect(kinds.slice(-3)).toEqual(['status', 'token', 'done'])
    expect(t.hub.stats().events_merged).toBeGreaterThan(400)
  })

  it('disconnects a host past the hard cap, and only that host', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent() }, { hostHardCapBytes: 64 * 1024 })
    const stuck = t.connect({ highWaterBytes: 1024 })
    const healthy = t.connect()
    await stuck.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'stuck' })
    await healthy.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'ok' })
    stuck.pause()
    const agent = t.launcher.latest('a')
    const chunk = 'x'.repeat(1024)
    for (let i = 0; i < 100; i++) agent.send(token('stuck', chunk))
    await settle()
    expect(stuck.isConnected).toBe(false)
    expect(t.hub.stats()).toMatchObject({ hosts_connected: 1, sessions_active: 1, hosts_overflowed: 1 })
    expect(cancelsReceived(agent)).toEqual(['stuck'])
    agent.send(token('ok', 'still here'))
    await settle()
    expect(healthy.textOf('ok')).toBe('still here')
  })
})

describe('host events', () => {
  it('host.subscribe returns the sequence; later events continue it by one', async () => {
    const t = await startHub([agentSpec('a'), agentSpec('b', { auto_start: false })], { a: scriptedAgent(), b: scriptedAgent() })
    const host = t.connect()
    const sub = await host.client.call('host.subscribe')
    expect(sub.agents.map((a) => [a.id, a.status])).toEqual([
      ['a', 'running'],
      ['b', 'stopped'],
    ])
    const info = await host.client.call('agents.start', { agent_id: 'b' })
    expect(info.status).toBe('running')
    await settle()
    expect(host.hostEvents.map((e) => [e.sequence, e.agent_id, e.payload.status])).toEqual([
      [sub.event_sequence + 1, 'b', 'starting'],
      [sub.event_sequence + 2, 'b', 'running'],
    ])
    const unsubscribed = t.connect()
    await unsubscribed.client.call('agents.stop', { agent_id: 'b' })
    await settle()
    expect(unsubscribed.hostEvents).toEqual([])
    expect(host.hostEvents.at(-1)?.payload).toMatchObject({ status: 'stopped', previous: 'running' })
  })
})
