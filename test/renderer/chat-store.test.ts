import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ChatStore,
  type AssistantMessage,
  type IncomingChatEvent,
  type TextPart,
} from '../../src/renderer/src/model/chat-store.js'
import { manualFrames } from './helpers/fake-bridge.js'

function setup() {
  const frames = manualFrames()
  const store = new ChatStore({ scheduleFrame: frames.schedule })
  let updates = 0
  store.subscribe(() => updates++)
  const conversation = store.createConversation('echo')
  store.beginTurn(conversation.id, { sessionId: 's1', agentId: 'echo', prompt: 'hello' })
  updates = 0
  const reply = (sessionId = 's1'): AssistantMessage => {
    for (const c of store.getSnapshot().conversations) {
      for (const m of c.messages) if (m.role === 'assistant' && m.sessionId === sessionId) return m
    }
    throw new Error(`no reply for ${sessionId}`)
  }
  const event = (sessionId: string, fields: Record<string, unknown>) =>
    store.enqueue({ session_id: sessionId, agent_id: 'echo', ...fields } as IncomingChatEvent)
  return { store, frames, conversation, reply, event, updates: () => updates }
}

const text = (message: AssistantMessage) =>
  message.parts
    .filter((p): p is TextPart => p.type === 'text')
    .map((p) => p.text)
    .join('')

describe('ChatStore: token coalescing', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.useRealTimers()
  })

  it('applies every token of a frame in one update, on requestAnimationFrame', () => {
    const callbacks: FrameRequestCallback[] = []
    vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => callbacks.push(cb))
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const store = new ChatStore() // default scheduler: requestAnimationFrame
    const conversation = store.createConversation('echo')
    store.beginTurn(conversation.id, { sessionId: 's1', agentId: 'echo', prompt: 'hi' })
    let updates = 0
    store.subscribe(() => updates++)

    for (let i = 0; i < 100; i++) store.enqueue({ session_id: 's1', agent_id: 'echo', kind: 'token', delta: `${i} ` })

    expect(callbacks).toHaveLength(1)
    expect(updates).toBe(0)
    const before = store.getSnapshot()
    callbacks[0]!(16)
    expect(updates).toBe(1)
    const reply = store.getSnapshot().conversations[0]!.messages[1] as AssistantMessage
    expect(reply.parts).toHaveLength(1)
    expect(text(reply)).toBe(Array.from({ length: 100 }, (_, i) => `${i} `).join(''))
    // The old snapshot is untouched: React compares by identity.
    expect((before.conversations[0]!.messages[1] as AssistantMessage).parts).toHaveLength(0)
    // The fallback timer of that frame finds nothing left to do.
    vi.advanceTimersByTime(1000)
    expect(updates).toBe(1)
  })

  it('still flushes when frames stop (hidden tab), through the fallback timer', () => {
    vi.stubGlobal('requestAnimationFrame', () => 0)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const store = new ChatStore()
    const conversation = store.createConversation('echo')
    store.beginTurn(conversation.id, { sessionId: 's1', agentId: 'echo', prompt: 'hi' })
    store.enqueue({ session_id: 's1', agent_id: 'echo', kind: 'token', delta: 'late' })
    expect(store.queuedEvents).toBe(1)
    vi.advanceTimersByTime(250)
    expect(store.queuedEvents).toBe(0)
    expect(text(store.getSnapshot().conversations[0]!.messages[1] as AssistantMessage)).toBe('late')
  })

  it('appends later frames to the same text and asks for one frame at a time', () => {
    const { frames, reply, event, updates } = setup()
    event('s1', { kind: 'token', delta: 'Hel' })
    event('s1', { kind: 'token', delta: 'lo' })
    expect(frames.pending).toBe(1)
    frames.run()
    event('s1', { kind: 'token', delta: ', world' })
    expect(text(reply())).toBe('Hello')
    frames.run()
    expect(text(reply())).toBe('Hello, world')
    expect(reply().parts).toHaveLength(1)
    expect(updates()).toBe(2)
    expect(reply().state).toBe('streaming')
  })

  it('keeps the order of tokens around other events of the same frame', () => {
    const { frames, reply, event } = setup()
    event('s1', { kind: 'token', delta: 'Let me look. ' })
    event('s1', { kind: 'tool_call', call_id: 'c1', tool: 'search', params: { q: 'x' } })
    event('s1', { kind: 'token', delta: 'Found ' })
    event('s1', { kind: 'token', delta: 'it.' })
    frames.run()
    expect(reply().parts.map((p) => p.type)).toEqual(['text', 'tool', 'text'])
    expect((reply().parts[2] as TextPart).text).toBe('Found it.')
  })
})

describe('ChatStore: terminal states', () => {
  it('done ends the turn and frees the conversation; later events are ignored', () => {
    const { store, frames, reply, event, conversation } = setup()
    event('s1', { kind: 'token', delta: 'Hi' })
    event('s1', { kind: 'done', finish_reason: 'stop' })
    event('s1', { kind: 'token', delta: ' again' })
    frames.run()
    expect(reply().state).toBe('done')
    expect(reply().finishReason).toBe('stop')
    expect(text(reply())).toBe('Hi')
    expect(store.conversation(conversation.id)!.activeSessionId).toBeNull()
    const snapshot = store.getSnapshot()
    event('s1', { kind: 'token', delta: 'ghost' })
    frames.run()
    expect(store.getSnapshot()).toBe(snapshot)
  })

  it('done with finish_reason "cancelled" is a cancelled reply', () => {
    const { store, frames, reply, event } = setup()
    store.setCancelling('s1', true)
    expect(reply().cancelling).toBe(true)
    event('s1', { kind: 'done', finish_reason: 'cancelled' })
    frames.run()
    expect(reply().state).toBe('cancelled')
    expect(reply().cancelling).toBe(false)
  })

  it('takes done.text as the reply when nothing was streamed', () => {
    const { frames, reply, event } = setup()
    event('s1', { kind: 'done', finish_reason: 'stop', text: 'whole answer' })
    frames.run()
    expect(text(reply())).toBe('whole answer')
  })

  it.each([
    ['agent_exited', 'agent_exited'],
    ['session_expired', 'session_expired'],
    ['hub_shutdown', 'hub_shutdown'],
    ['rate_limited', 'agent_error'],
    [undefined, 'agent_error'],
  ])('error with code %s is a failure of reason %s', (code, reason) => {
    const { frames, reply, event } = setup()
    event('s1', { kind: 'status', message: 'working' })
    event('s1', { kind: 'error', error: 'boom', ...(code && { code }) })
    frames.run()
    expect(reply().state).toBe('error')
    expect(reply().failure).toEqual({ reason, message: 'boom', ...(code && { code }) })
    expect(reply().status).toBeUndefined()
  })

  it('failTurn ends a live turn once, and never a finished one', () => {
    const { store, frames, reply, event } = setup()
    store.failTurn('s1', { reason: 'request_failed', code: -32011, message: 'agent unavailable' })
    expect(reply().state).toBe('error')
    event('s1', { kind: 'done', finish_reason: 'stop' })
    frames.run()
    expect(reply().state).toBe('error')
    store.failTurn('s1', { reason: 'connection_lost', message: 'x' })
    expect(reply().failure?.reason).toBe('request_failed')
  })

  it('failAllLive ends every turn in flight, in every conversation', () => {
    const { store, reply, conversation } = setup()
    const second = store.createConversation('echo')
    store.beginTurn(second.id, { sessionId: 's2', agentId: 'echo', prompt: 'two' })
    store.failAllLive({ reason: 'connection_lost', message: 'socket closed' })
    expect(reply('s1').state).toBe('error')
    expect(reply('s2').state).toBe('error')
    expect(store.conversation(conversation.id)!.activeSessionId).toBeNull()
    expect(store.conversation(second.id)!.activeSessionId).toBeNull()
  })
})

describe('ChatStore: tools and approvals', () => {
  it('attaches a tool result to its call', () => {
    const { frames, reply, event } = setup()
    event('s1', { kind: 'tool_call', call_id: 'c1', tool: 'read_file', params: { path: '/etc/hosts' } })
    event('s1', { kind: 'tool_call', call_id: 'c2', tool: 'list', params: {} })
    frames.run()
    event('s1', { kind: 'tool_result', call_id: 'c1', ok: true, excerpt: '127.0.0.1 localhost' })
    event('s1', { kind: 'tool_result', call_id: 'c2', ok: false })
    frames.run()
    expect(reply().parts).toMatchObject([
      { type: 'tool', callId: 'c1', tool: 'read_file', params: { path: '/etc/hosts' }, result: { ok: true, excerpt: '127.0.0.1 localhost' } },
      { type: 'tool', callId: 'c2', tool: 'list', result: { ok: false } },
    ])
  })

  it('tracks an approval from pending through the decision to its resolution', () => {
    const { store, frames, reply, event } = setup()
    event('s1', { kind: 'approval_pending', approval_id: 'a1', tool: 'shell', params: { cmd: 'ls' } })
    frames.run()
    expect(reply().parts[0]).toMatchObject({ type: 'approval', approvalId: 'a1', tool: 'shell', status: 'pending' })
    store.setApprovalStatus('s1', 'a1', 'submitting')
    expect(reply().parts[0]).toMatchObject({ status: 'submitting' })
    event('s1', { kind: 'approval_resolved', approval_id: 'a1', resolution: 'deny' })
    frames.run()
    expect(reply().parts[0]).toMatchObject({ status: 'denied' })
    // The approve call's late answer does not overwrite what the event said.
    store.setApprovalStatus('s1', 'a1', 'expired')
    expect(reply().parts[0]).toMatchObject({ status: 'denied' })
  })

  it('keeps the error of a failed decision until the next try', () => {
    const { store, frames, reply, event } = setup()
    event('s1', { kind: 'approval_pending', approval_id: 'a1', tool: 'shell' })
    frames.run()
    store.setApprovalStatus('s1', 'a1', 'pending', 'hub gone')
    expect(reply().parts[0]).toMatchObject({ status: 'pending', error: 'hub gone' })
    store.setApprovalStatus('s1', 'a1', 'submitting')
    expect(reply().parts[0]).not.toHaveProperty('error')
  })

  it('expires approvals still open when the turn ends', () => {
    const { frames, reply, event } = setup()
    event('s1', { kind: 'approval_pending', approval_id: 'a1', tool: 'shell' })
    event('s1', { kind: 'error', error: 'gone', code: 'agent_exited' })
    frames.run()
    expect(reply().parts[0]).toMatchObject({ status: 'expired' })
  })
})

describe('ChatStore: sessions and conversations', () => {
  it('keeps two interleaved sessions apart and leaves the untouched conversation as it was', () => {
    const { store, frames, reply, event, conversation } = setup()
    const second = store.createConversation('echo')
    store.beginTurn(second.id, { sessionId: 's2', agentId: 'echo', prompt: 'two' })
    for (let i = 0; i < 5; i++) {
      event('s1', { kind: 'token', delta: `a${i}` })
      event('s2', { kind: 'token', delta: `b${i}` })
    }
    event('s2', { kind: 'done', finish_reason: 'stop' })
    frames.run()
    expect(text(reply('s1'))).toBe('a0a1a2a3a4')
    expect(text(reply('s2'))).toBe('b0b1b2b3b4')
    expect(reply('s1').state).toBe('streaming')
    expect(reply('s2').state).toBe('done')

    const firstBefore = store.conversation(conversation.id)
    event('s2', { kind: 'token', delta: 'ignored' })
    event('s1', { kind: 'token', delta: '!' })
    frames.run()
    expect(store.conversation(conversation.id)).not.toBe(firstBefore)
    const secondAfter = store.conversation(second.id)
    event('s1', { kind: 'token', delta: '?' })
    frames.run()
    expect(store.conversation(second.id)).toBe(secondAfter)
  })

  it('ignores unknown kinds and unknown sessions without an update', () => {
    const { store, frames, event, updates } = setup()
    const snapshot = store.getSnapshot()
    event('s1', { kind: 'telemetry', tokens_per_second: 40 })
    event('nobody', { kind: 'token', delta: 'x' })
    frames.run()
    expect(frames.pending).toBe(0)
    expect(updates()).toBe(0)
    expect(store.getSnapshot()).toBe(snapshot)
  })

  it('refuses a second turn while one is in flight, and titles the conversation after the first prompt', () => {
    const { store, conversation } = setup()
    expect(store.conversation(conversation.id)!.title).toBe('hello')
    expect(() => store.beginTurn(conversation.id, { sessionId: 's9', agentId: 'echo', prompt: 'again' })).toThrow(/in flight/)
  })

  it('forgets the sessions of a removed conversation and selects a neighbour', () => {
    const { store, frames, event, conversation } = setup()
    const second = store.createConversation('echo')
    expect(store.getSnapshot().activeConversationId).toBe(second.id)
    store.selectConversation(conversation.id)
    store.removeConversation(conversation.id)
    expect(store.getSnapshot().activeConversationId).toBe(second.id)
    event('s1', { kind: 'token', delta: 'x' })
    expect(frames.pending).toBe(0)
  })
})
