import { describe, expect, it } from 'vitest'
import type { Conversation, Message } from '../../src/protocol/conversations.js'
import { conversationMarkdown, exportFileName } from '../../src/protocol/conversation-markdown.js'

const conversation: Conversation = {
  conversation_id: 'conv-1',
  title: 'Sums: 2 + 2?',
  agent_id: 'toolbox',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
  message_count: 2,
  busy: false,
}

const base = { conversation_id: 'conv-1', agent_id: 'toolbox', session_id: 's1', created_at: '2026-01-01T00:00:00.000Z' }

describe('Markdown export', () => {
  it('writes every message with its tool calls, approvals and state', () => {
    const messages: Message[] = [
      { ...base, message_id: 'm1', role: 'user', text: 'calculate 2 + 2', parts: [{ type: 'text', text: 'calculate 2 + 2' }], state: 'done' },
      {
        ...base,
        message_id: 'm2',
        role: 'assistant',
        created_at: '2026-01-01T00:00:02.000Z',
        model: 'tiny-model',
        text: '2 + 2 = 4',
        state: 'interrupted',
        parts: [
          { type: 'tool_call', call_id: 'c', tool: 'calculate', params: { expression: '2 + 2' }, result: { ok: true, excerpt: 'has ``` inside' } },
          { type: 'approval', approval_id: 'a', tool: 'calculate', resolution: 'approve' },
          { type: 'text', text: '2 + 2 = 4' },
        ],
      },
    ]
    const md = conversationMarkdown(conversation, messages)
    expect(md.startsWith('# Sums: 2 + 2?\n')).toBe(true)
    expect(md).toContain('## You · 2026-01-01T00:00:00.000Z\n\ncalculate 2 + 2\n')
    expect(md).toContain('## toolbox (tiny-model) · 2026-01-01T00:00:02.000Z\n')
    expect(md).toContain('> Tool call `calculate`: done')
    expect(md).toContain('"expression": "2 + 2"')
    // The excerpt's own backticks cannot close its fence.
    expect(md).toContain('> ````\n> has ``` inside\n> ````')
    expect(md).toContain('> Approval for `calculate`: approved')
    expect(md).toContain('2 + 2 = 4\n')
    expect(md).toContain('interrupted')
  })

  it('names the file after the title and the id', () => {
    expect(exportFileName(conversation)).toBe('Sums-2-2-conv-1.md')
    expect(exportFileName({ ...conversation, title: '///' })).toBe('conversation-conv-1.md')
  })
})
