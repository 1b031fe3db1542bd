import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import { rpcError, startHub } from '../support/hub-fixture.js'
import { scriptedAgent, settle } from '../support/fake-launcher.js'
import { agentSpec } from '../support/spec.js'

describe('HostConnection authentication (§2)', () => {
  it('owns authentication: fires onDidAuthenticate once, with one success payload for every session.auth', async () => {
    const t = await startHub([], {})
    const host = new InProcessHost()
    const connection = t.hub.connectHost(host.transport, { authenticate: (token) => token === 'tok' })
    let fired = 0
    connection.onDidAuthenticate(() => fired++)
    expect(connection.isAuthenticated).toBe(false)

    const first = await host.client.call('session.auth', { host_token: 'tok' })
    expect(first).toEqual({ ok: true, role: 'host', client_id: connection.clientId })
    expect(connection.isAuthenticated).toBe(true)
    expect(fired).toBe(1)

    // Again, through the method table: the same payload, no second event; a wrong token is -32001.
    expect(await host.client.call('session.auth', { host_token: 'tok' })).toEqual(first)
    expect(fired).toBe(1)
    expect((await rpcError(host.client.call('session.auth', { host_token: 'nope' }))).code).toBe(ErrorCode.NotAuthenticated)
    expect(connection.isAuthenticated).toBe(true)
  })

  it('a wrong first token: -32001, closed, never authenticated', async () => {
    const t = await startHub([], {})
    const host = new InProcessHost()
    const connection = t.hub.connectHost(host.transport, { authenticate: (token) => token === 'tok' })
    let fired = 0
    connection.onDidAuthenticate(() => fired++)
    // The -32001 answer itself is checked over a real socket (websocket.test.ts); this transport drops it on close.
    await rpcError(host.client.call('session.auth', { host_token: 'nope' }))
    await settle()
    expect(connection.isClosed).toBe(true)
    expect(fired).toBe(0)
  })
})

describe('in-flight bound (§8)', () => {
  it('counts requests while they wait on an agent, and releases them when answered', async () => {
    const t = await startHub([agentSpec('slow')], { slow: scriptedAgent({ ack: false }) }, { maxInFlightPerHost: 2 })
    const host = t.connect()
    const waiting = [1, 2].map((n) =>
      rpcError(host.client.call('agents.chat', { agent_id: 'slow', prompt: 'x', session_id: `s${n}` })),
    )
    await settle()
    const third = await rpcError(host.client.call('agents.chat', { agent_id: 'slow', prompt: 'x', session_id: 's3' }))
    expect(third.code).toBe(ErrorCode.InternalError)
    await t.advance(60_000)
    for (const call of waiting) expect((await call).code).toBe(ErrorCode.AckTimeout)
    const fourth = rpcError(host.client.call('agents.chat', { agent_id: 'slow', prompt: 'x', session_id: 's4' }))
    await settle()
    expect(t.hub.stats().sessions_active).toBe(1)
    await t.advance(60_000)
    expect((await fourth).code).toBe(ErrorCode.AckTimeout)
  })
})
