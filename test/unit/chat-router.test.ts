import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import { agentEvent, scriptedAgent, settle, type FakeAgentProcess } from '../support/fake-launcher.js'
import { rpcError, startHub } from '../support/hub-fixture.js'
import { agentSpec } from '../support/spec.js'

const token = (sid: string, delta: string) => agentEvent(sid, { kind: 'token', delta })
const done = (sid: string) => agentEvent(sid, { kind: 'done', finish_reason: 'stop' })

function cancelsReceived(process: FakeAgentProcess): string[] {
  return process.inbox
    .filter((m) => (m as { method?: string }).method === 'agent.chat.cancel')
    .map((m) => (m as { params: { session_id: string } }).params.session_id)
}

describe('agents.chat', () => {
  it('answers after the ack and holds early events until the result is out (rule 3)', async () => {
    const t = await startHub([agentSpec('a')], {
      a: (p) =>
        p.onHubMessage((m) => {
          const msg = m as { method?: string; id: number; params: { session_id: string } }
          if (msg.method !== 'agent.chat') return
          // Events before the acknowledgement.
          p.send(token(msg.params.session_id, 'early '))
          p.send({ jsonrpc: '2.0', id: msg.id, result: { accepted: true, session_id: msg.params.session_id } })
          p.send(token(msg.params.session_id, 'late'))
          p.send(done(msg.params.session_id))
        }),
    })
    const host = t.connect()
    const result = await host.client.call('agents.chat', { agent_id: 'a', prompt: 'hi', session_id: 's1' })
    expect(result).toEqual({ accepted: true, session_id: 's1' })
    await settle()
    const order = host.received.map((m) => ('result' in m ? 'result' : (m as { params: { kind: string } }).params.kind))
    // Both tokens arrived while held: merged into one (§8 v2), no text lost.
    expect(order).toEqual(['result', 'token', 'done'])
    expect(host.textOf('s1')).toBe('early late')
    expect(t.hub.stats()).toMatchObject({ events_forwarded: 3, events_merged: 1 })
    expect(host.eventsOf('s1').every((e) => e.agent_id === 'a')).toBe(true)
    expect(t.hub.stats().sessions_active).toBe(0)
  })

  it('generates chat-<uuid> session ids', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent({ echo: true }) })
    const host = t.connect()
    const { session_id } = await host.client.call('agents.chat', { agent_id: 'a', prompt: 'one two' })
    expect(session_id).toMatch(/^chat-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    await settle()
    expect(host.textOf(session_id)).toBe('one two')
  })

  it('refuses an unknown agent, and an agent that is not running', async () => {
    const t = await startHub([agentSpec('a'), agentSpec('off', { auto_start: false })], { a: scriptedAgent() })
    const host = t.connect()
    expect((await rpcError(host.client.call('agents.chat', { agent_id: 'nope', prompt: 'x' }))).code).toBe(ErrorCode.UnknownAgent)
    expect((await rpcError(host.client.call('agents.chat', { agent_id: 'off', prompt: 'x' }))).code).toBe(ErrorCode.AgentUnavailable)
  })

  it('times out an agent that never acknowledges (-32004), removes the session and cancels it at the agent', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent({ ack: false }) }, { ackTimeoutMs: 5_000 })
    const host = t.connect()
    const call = rpcError(host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'slow' }))
    await settle()
    expect(t.hub.stats().sessions_active).toBe(1)
    await t.advance(4_999)
    expect(t.hub.stats().sessions_active).toBe(1)
    await t.advance(1)
    expect((await call).code).toBe(ErrorCode.AckTimeout)
    expect(t.hub.stats().sessions_active).toBe(0)
    await settle()
    expect(cancelsReceived(t.launcher.latest('a'))).toEqual(['slow'])
  })

  it('passes an agent refusal on as -32011 with the agent error', async () => {
    const t = await startHub([agentSpec('a')], {
      a: (p) =>
        p.onHubMessage((m) => {
          const msg = m as { method?: string; id: number }
          if (msg.method === 'agent.chat') p.send({ jsonrpc: '2.0', id: msg.id, error: { code: 42, message: 'no thanks' } })
        }),
    })
    const host = t.connect()
    const error = await rpcError(host.client.call('agents.chat', { agent_id: 'a', prompt: 'x' }))
    expect(error.code).toBe(ErrorCode.AgentUnavailable)
    expect(error.message).toContain('no thanks')
    expect(error.data).toEqual({ agent_error: { code: 42, message: 'no thanks' } })
    expect(t.hub.stats().sessions_active).toBe(0)
  })

  it('refuses a session_id already in flight, whoever owns it, and leaves it untouched (-32012)', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent() })
    const [one, two] = [t.connect(), t.connect()]
    await one.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'same' })
    for (const host of [one, two]) {
      expect((await rpcError(host.client.call('agents.chat', { agent_id: 'a', prompt: 'y', session_id: 'same' }))).code).toBe(
        ErrorCode.SessionInFlight,
      )
    }
    t.launcher.latest('a').send(token('same', 'still mine'))
    await settle()
    expect(one.textOf('same')).toBe('still mine')
    expect(two.events).toEqual([])
  })

  it('validates params: unknown keys named, prompt bounds in UTF-8 bytes, session id pattern', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent() })
    const host = t.connect()
    const unknown = await rpcError(host.peer.request('agents.chat', { agent_id: 'a', prompt: 'x', colour: 'red' }))
    expect(unknown.code).toBe(ErrorCode.InvalidParams)
    expect(unknown.message).toContain("'colour'")
    await host.client.call('agents.chat', { agent_id: 'a', prompt: 'é'.repeat(131_072) })
    const tooBig = await rpcError(host.client.call('agents.chat', { agent_id: 'a', prompt: 'é'.repeat(131_072) + 'x' }))
    expect(tooBig.code).toBe(ErrorCode.InvalidParams)
    expect((await rpcError(host.client.call('agents.chat', { agent_id: 'a', prompt: '' }))).code).toBe(ErrorCode.InvalidParams)
    expect((await rpcError(host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'bad id' }))).code).toBe(
      ErrorCode.InvalidParams,
    )
    expect((await rpcError(host.peer.request('agents.chat', ['a', 'x']))).code).toBe(ErrorCode.InvalidParams)
  })
})

describe('routing', () => {
  it('gives two hosts on one agent independent streams (rule 9)', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent() })
    const [one, two] = [t.connect(), t.connect()]
    await Promise.all([
      one.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's1' }),
      two.client.call('agents.chat', { agent_id: 'a', prompt: 'y', session_id: 's2' }),
    ])
    const agent = t.launcher.latest('a')
    agent.send(token('s1', 'one-'))
    agent.send(token('s2', 'two-'))
    agent.send(done('s1'))
    agent.send(token('s2', 'more'))
    await settle()
    expect(one.events.map((e) => e.session_id)).toEqual(['s1', 's1'])
    expect(two.events.map((e) => e.session_id)).toEqual(['s2', 's2'])
    expect(two.textOf('s2')).toBe('two-more')
    expect(two.terminalsOf('s2')).toEqual([])
  })

  it('drops events for unknown sessions, for sessions of another agent, and after the terminal event', async () => {
    const t = await startHub([agentSpec('a'), agentSpec('b')], { a: scriptedAgent(), b: scriptedAgent() })
    const host = t.connect()
    await host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'sa' })
    const b = t.launcher.latest('b')
    const a = t.launcher.latest('a')
    b.send(token('sa', 'foreign'))
    b.send(token('nobody', 'ghost'))
    a.send(done('sa'))
    a.send(token('sa', 'late'))
    a.send(done('sa'))
    await settle()
    expect(host.eventsOf('sa').map((e) => e.kind)).toEqual(['done'])
    expect(t.hub.stats().events_dropped).toBe(4)
  })

  it('drops malformed agent messages, counts them, and keeps the agent', async () => {
    const t = await startHub([agentSpec('a')], { a: scriptedAgent() })
    const host = t.connect()
    await host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's' })
    const a = t.launcher.latest('a')
    const deep: Record<string, unknown> = {}
    let cursor = deep
    for (let i = 0; i < 5_000; i++) cursor = cursor.next = {} as Record<string, unknown>
    const garbage: unknown[] = [
      'text',
      42,
      null,
      { jsonrpc: '2.0', method: 'agent.chat.event' },
      agentEvent('s', { kind: 'token', delta: 5 }),
      agentEvent('s', { kind: 'done' }),
      agentEvent('s', { kind: 'custom', blob: 'x'.repeat(70_000) }),
      agentEvent('s', { kind: 'tool_call', call_id: 'c', tool: 't', params: deep }),
      JSON.parse('{"jsonrpc":"2.0","method":"agent.chat.event","params":{"session_id":"s","kind":"token","delta":"x","__proto__":{"polluted":true}}}'),
    ]
    for (const message of garbage) a.send(message)
    a.send(agentEvent('s', { kind: 'custom', note: 'small' }))
    a.send(token('s', 'fine'))
    await settle()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(host.eventsOf('s').map((e) => e.kind)).toEqual(['token', 'custom', 'token'])
    const stripped = host.eventsOf('s')[0]!
    expect(Object.hasOwn(stripped, '__proto__')).toBe(false)
    expect(host.eventsOf('s').find((e) => e.kind === 'custom')).toEqual({ session_id: 's', kind: 'custom', note: 'small', agent_id: 'a' })
    // 8: the deep tool_call cannot even be measured as JSON, so it is dropped too.
    expect(t.hub.stats().events_dropped).toBe(8)
    expect(t.hub.supervisor.get('a')?.status).toBe('running')
  })
})
