import type { Conversation, Message, Part } from './conversations.js'

const STATE_NOTE: Partial<Record<Message['state'], string>> = {
  streaming: '_(still being written)_',
  cancelled: '_(stopped)_',
  interrupted: '_(interrupted: the hub stopped before the reply was finished)_',
}

/**
 * A conversation as a Markdown document: a heading per message naming who wrote it
 * and when, tool calls and approvals as they happened. Shared by the window's
 * export and `carhost export`.
 */
export function conversationMarkdown(conversation: Conversation, messages: readonly Message[]): string {
  const out: string[] = [`# ${oneLine(conversation.title) || 'Conversation'}`, '', `_${conversation.agent_id} · ${conversation.created_at}_`, '']
  for (const message of messages) {
    out.push(`## ${messageHeading(message)}`, '')
    if (message.role === 'user') out.push(message.text, '')
    else for (const part of message.parts) out.push(...partMarkdown(part))
    const note = STATE_NOTE[message.state]
    if (note) out.push(note, '')
    if (message.state === 'error') out.push(`_(error: ${oneLine(message.error?.message ?? 'unknown')})_`, '')
  }
  return `${out.join('\n').trimEnd()}\n`
}

/** `You · time`, or `agent (model) · time` for an answer. */
function messageHeading(message: Message): string {
  const who = message.role === 'user' ? 'You' : message.model ? `${message.agent_id} (${oneLine(message.model)})` : message.agent_id
  return `${who} · ${message.created_at}`
}

/** A file name for the export: the title's letters and digits, and the id so two exports never collide. */
export function exportFileName(conversation: Conversation): string {
  const base = conversation.title.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60)
  return `${base || 'conversation'}-${conversation.conversation_id.replace(/[^A-Za-z0-9._-]/g, '_')}.md`
}

function partMarkdown(part: Part): string[] {
  switch (part.type) {
    case 'text':
      return [part.text, '']
    case 'tool_call': {
      const lines = [`> Tool call \`${part.tool}\`${part.result ? (part.result.ok ? ': done' : ': failed') : ''}`]
      if (part.params !== undefined) lines.push('>', ...fence(json(part.params)).map((l) => `> ${l}`))
      if (part.result?.excerpt !== undefined) lines.push('>', ...fence(part.result.excerpt).map((l) => `> ${l}`))
      return [...lines, '']
    }
    case 'approval': {
      const outcome = part.resolution === 'approve' ? 'approved' : part.resolution === 'deny' ? 'denied' : 'not decided'
      return [`> Approval for \`${part.tool}\`: ${outcome}`, '']
    }
  }
}

/** A code fence longer than any backtick run inside, so the text cannot close it. */
function fence(text: string): string[] {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length))
  const ticks = '`'.repeat(longest + 1)
  return [ticks, ...text.split('\n'), ticks]
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value)
  } catch {
    return String(value)
  }
}
