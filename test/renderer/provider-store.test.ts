import { describe, expect, it } from 'vitest'
import type { HostEvent } from '../../src/protocol/agent-info.js'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { ProviderStore, fieldErrors } from '../../src/renderer/src/model/provider-store.js'
import { agent } from './helpers/fake-bridge.js'

let sequence = 0
function hostEvent(kind: string, agentId: string, payload: Record<string, unknown>): HostEvent {
  sequence++
  return { id: `evt-${sequence}`, sequence, timestamp: '2026-01-01T00:00:00.000Z', kind, agent_id: agentId, message: kind, payload }
}

const params = { id: 'local', name: 'Local', kind: 'openai' as const, base_url: 'http://127.0.0.1:11434/v1' }
const saved = { ...params, has_api_key: false, default_model: null, system_prompt: null, temperature: null, max_tokens: null }

describe('fieldErrors', () => {
  it("reads every 'field': reason of a -32602 message, nested paths by their first key", () => {
    expect(fieldErrors("invalid params: 'base_url': must be an http or https URL; 'temperature': Too big: expected number to be <=2")).toEqual({
      base_url: 'must be an http or https URL',
      temperature: 'Too big: expected number to be <=2',
    })
    expect(fieldErrors("invalid params: unknown keys 'top_p', 'seed'")).toEqual({ top_p: 'not accepted by this hub', seed: 'not accepted by this hub' })
    expect(fieldErrors('invalid params: params must be an object')).toEqual({})
  })
})

describe('ProviderStore', () => {
  it('test connection ends with the models of the agent registered by the save, not an earlier announcement', async () => {
    const store = new ProviderStore(async () => saved)
    const testing = store.saveAndTest(params)
    // An announcement of the old agent, before the new one registered, is not the answer.
    store.observe(hostEvent('agent.updated', 'local', { ...agent('local', 'Local'), models: [{ id: 'old' }] }))
    store.observe(hostEvent('agent.registered', 'local', { agent: agent('local', 'Local') }))
    store.observe(hostEvent('agent.updated', 'local', { ...agent('local', 'Local'), models: [{ id: 'new' }], default_model: null }))
    const { save, connection } = await testing
    expect(save.ok).toBe(true)
    expect(connection).toMatchObject({ ok: true, agent: { models: [{ id: 'new' }] } })
  })

  it('test connection ends when the new agent crashes instead of announcing', async () => {
    const store = new ProviderStore(async () => saved)
    const testing = store.saveAndTest(params)
    store.observe(hostEvent('agent.registered', 'local', { agent: agent('local', 'Local') }))
    store.observe(hostEvent('agent.status_changed', 'local', { status: 'backoff', previous: 'running' }))
    expect((await testing).connection).toEqual({ ok: false, message: expect.stringContaining('stopped before it could list the models') })
  })

  it('a refused save reports the fields and waits for nothing', async () => {
    const store = new ProviderStore(async () => {
      throw new RpcError(ErrorCode.InvalidParams, "invalid params: 'id': must match ^[A-Za-z0-9._-]{1,64}$")
    })
    const { save, connection } = await store.saveAndTest({ ...params, id: 'bad id' })
    expect(save).toEqual({ ok: false, message: expect.any(String), fields: { id: 'must match ^[A-Za-z0-9._-]{1,64}$' } })
    expect(connection).toBeUndefined()
  })

  it('keeps the MCP tools and status notices seen in chat events, per provider', () => {
    const store = new ProviderStore(async () => ({ providers: [] }))
    store.observeChat({ agent_id: 'local', kind: 'token' })
    const before = store.mcp.getSnapshot()
    store.observeChat({ agent_id: 'local', kind: 'tool_call', tool: 'files.read' })
    store.observeChat({ agent_id: 'local', kind: 'tool_call', tool: 'files.read' })
    store.observeChat({ agent_id: 'local', kind: 'tool_call', tool: 'files.list' })
    store.observeChat({ agent_id: 'local', kind: 'status', message: "The MCP server 'db' did not start." })
    expect(before).toEqual({})
    expect(store.mcp.getSnapshot()).toEqual({ local: { tools: { files: ['list', 'read'] }, notices: ["The MCP server 'db' did not start."] } })
  })
})
