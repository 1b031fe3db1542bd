import { describe, expect, it } from 'vitest'
import type { HostEvent } from '../../src/protocol/agent-info.js'
import { AgentStore } from '../../src/renderer/src/model/agent-store.js'
import { agent } from './helpers/fake-bridge.js'

function hostEvent(sequence: number, kind: string, agentId: string | null, payload: Record<string, unknown> = {}): HostEvent {
  return { id: `evt-${sequence}`, sequence, timestamp: '2026-01-01T00:00:00.000Z', kind, agent_id: agentId, message: kind, payload }
}

describe('AgentStore', () => {
  it('applies status changes, registrations and unregistrations in sequence', () => {
    const store = new AgentStore()
    store.reset([agent('echo', 'Echo'), agent('slow', 'Slow', 'stopped')], 3)
    expect(store.apply(hostEvent(4, 'agent.status_changed', 'slow', { status: 'starting', previous: 'stopped' }))).toBe('applied')
    expect(store.apply(hostEvent(5, 'agent.status_changed', 'slow', { status: 'running', previous: 'starting', pid: 77 }))).toBe('applied')
    expect(store.agent('slow')).toMatchObject({ status: 'running', pid: 77 })
    expect(store.apply(hostEvent(6, 'agent.registered', 'new', { agent: agent('new', 'New') }))).toBe('applied')
    expect(store.apply(hostEvent(7, 'agent.unregistered', 'echo'))).toBe('applied')
    expect(store.getSnapshot().agents.map((a) => a.id)).toEqual(['slow', 'new'])
    expect(store.getSnapshot().sequence).toBe(7)
  })

  it('takes in the models an agent.updated announces (§6)', () => {
    const store = new AgentStore()
    store.reset([agent('local', 'Local')], 1)
    const updated = { ...agent('local', 'Local'), models: [{ id: 'llama3' }, { id: 'qwen', name: 'Qwen' }], default_model: 'qwen' }
    expect(store.apply(hostEvent(2, 'agent.updated', 'local', updated))).toBe('applied')
    expect(store.agent('local')).toMatchObject({ models: [{ id: 'llama3' }, { id: 'qwen', name: 'Qwen' }], default_model: 'qwen' })
    expect(store.apply(hostEvent(3, 'agent.updated', 'local', { models: 'garbage' }))).toBe('resync')
  })

  it('ignores events the snapshot already covers', () => {
    const store = new AgentStore()
    store.reset([agent('echo', 'Echo')], 10)
    const before = store.getSnapshot()
    expect(store.apply(hostEvent(9, 'agent.status_changed', 'echo', { status: 'errored', previous: 'running' }))).toBe('ignored')
    expect(store.getSnapshot()).toBe(before)
  })

  it('holds events that come before the snapshot and replays the newer ones', () => {
    const store = new AgentStore()
    store.apply(hostEvent(1, 'agent.status_changed', 'echo', { status: 'starting', previous: 'stopped' }))
    store.apply(hostEvent(2, 'agent.status_changed', 'echo', { status: 'errored', previous: 'starting' }))
    expect(store.getSnapshot().loaded).toBe(false)
    expect(store.reset([agent('echo', 'Echo', 'starting')], 1)).toBe('applied')
    expect(store.agent('echo')!.status).toBe('errored')
  })

  it('asks for a resync after a gap or an event it cannot apply', () => {
    const store = new AgentStore()
    store.reset([agent('echo', 'Echo')], 1)
    expect(store.apply(hostEvent(3, 'agent.status_changed', 'echo', { status: 'backoff', previous: 'running' }))).toBe('resync')
    expect(store.agent('echo')!.status).toBe('backoff')
    expect(store.apply(hostEvent(4, 'agent.status_changed', 'ghost', { status: 'running', previous: 'stopped' }))).toBe('resync')
    expect(store.apply(hostEvent(5, 'agent.status_changed', 'echo', { status: 'sleeping' }))).toBe('resync')
    expect(store.apply(hostEvent(6, 'agent.registered', 'x', { agent: { id: 'x' } }))).toBe('resync')
    expect(store.apply(hostEvent(7, 'hub.something_new', null))).toBe('ignored')
    expect(store.getSnapshot().sequence).toBe(7)
  })
})
