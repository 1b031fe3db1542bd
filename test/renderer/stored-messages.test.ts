import { describe, expect, it } from 'vitest'
import type { Message } from '../../src/protocol/conversations.js'
import type { AssistantMessage } from '../../src/renderer/src/model/chat-store.js'
import { fromStored } from '../../src/renderer/src/model/stored-messages.js'

function message(fields: Partial<Message> & Pick<Message, 'message_id' | 'role' | 'session_id'>): Message {
  return { conversation_id: 'c', agent_id: 'toolbox', created_at: '2026-01-01T00:00:00.000Z', text: '', parts: [], state: 'done', ...fields }
}

const turn: Message[] = [
  message({ message_id: 'm1', role: 'user', session_id: 's1', text: 'calculate 2+2', parts: [{ type: 'text', text: 'calculate 2+2' }] }),
  message({
    message_id: 'm2',
    role: 'assistant',
    session_id: 's1',
    text: '2+2 = 4',
    finish_reason: 'stop',
    parts: [
      { type: 'tool_call', call_id: 'c1', tool: 'calculate', params: { expression: '2+2' }, result: { ok: true, excerpt: '4' } },
      { type: 'approval', approval_id: 'a1', tool: 'calculate', resolution: 'approve' },
      { type: 'text', text: '2+2 = 4' },
    ],
  }),
]

describe('stored messages', () => {
  it('shows parts as they were recorded: tool calls with results, approvals with their resolution', () => {
    const [user, reply] = fromStored(turn)
    expect(user).toEqual({ role: 'user', id: 'u:s1', messageId: 'm1', text: 'calculate 2+2' })
    expect(reply).toMatchObject({ role: 'assistant', id: 'a:s1', messageId: 'm2', sessionId: 's1', state: 'done', finishReason: 'stop' })
    expect((reply as AssistantMessage).parts).toEqual([
      { type: 'tool', id: 0, callId: 'c1', tool: 'calculate', params: { expression: '2+2' }, result: { ok: true, excerpt: '4' } },
      { type: 'approval', id: 1, approvalId: 'a1', tool: 'calculate', params: undefined, status: 'approved' },
      { type: 'text', id: 2, text: '2+2 = 4' },
    ])
  })

  it.each([
    ['interrupted', undefined, { state: 'interrupted' }],
    ['error', { code: '-32011', message: 'agent not running' }, { state: 'error', failure: { reason: 'request_failed', code: -32011, message: 'agent not running' } }],
    ['error', { code: 'agent_exited', message: 'gone' }, { state: 'error', failure: { reason: 'agent_exited', code: 'agent_exited', message: 'gone' } }],
    ['cancelled', undefined, { state: 'cancelled' }],
  ] as const)('a reply recorded as %s shows so', (state, error, expected) => {
    const [reply] = fromStored([message({ message_id: 'm', role: 'assistant', session_id: 's', state, ...(error && { error }) })])
    expect(reply).toMatchObject(expected)
  })

  it('an open approval of a turn still streaming belongs to another window', () => {
    const [reply] = fromStored([
      message({ message_id: 'm', role: 'assistant', session_id: 's', state: 'streaming', parts: [{ type: 'approval', approval_id: 'a', tool: 't', resolution: null }] }),
    ])
    expect((reply as AssistantMessage).parts[0]).toMatchObject({ status: 'elsewhere' })
  })

  it('keeps the objects of messages that did not change, so their views do not render again', () => {
    const first = fromStored(turn)
    const again = fromStored(structuredClone(turn), first)
    expect(again[0]).toBe(first[0])
    expect(again[1]).toBe(first[1])
    const changed = structuredClone(turn)
    changed[1]!.parts = [{ type: 'text', text: 'other' }]
    const third = fromStored(changed, again)
    expect(third[0]).toBe(first[0])
    expect(third[1]).not.toBe(first[1])
  })

  it('a reply this window streamed keeps its parts (objects and React keys) when its stored copy comes back', () => {
    const streamed: AssistantMessage = {
      role: 'assistant',
      id: 'a:s1',
      sessionId: 's1',
      agentId: 'toolbox',
      state: 'done',
      cancelling: false,
      finishReason: 'stop',
      parts: [
        { type: 'tool', id: 17, callId: 'c1', tool: 'calculate', params: { expression: '2+2' }, result: { ok: true, excerpt: '4' } },
        { type: 'approval', id: 18, approvalId: 'a1', tool: 'calculate', params: undefined, status: 'approved' },
        { type: 'text', id: 19, text: '2+2 = 4' },
      ],
    }
    const [, stored] = fromStored(turn, [streamed]) as [unknown, AssistantMessage]
    expect(stored.messageId).toBe('m2')
    expect(stored.parts[0]).toBe(streamed.parts[0])
    expect(stored.parts[2]).toBe(streamed.parts[2])
    expect(stored.parts.map((p) => p.id)).toEqual([17, 18, 19])
  })
})
