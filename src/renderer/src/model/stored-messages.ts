import type { Message, Part } from '../../../protocol/conversations.js'
import type { AssistantMessage, AssistantPart, ChatFailure, ChatMessage, FailureReason, UserMessage } from './chat-message.js'

/**
 * The React key of a message: its turn's session and its role, so that the
 * reply this window streamed and the same reply fetched back from the hub
 * (§11 `Message.session_id`) are one element and never remount.
 */
export function messageKey(role: 'user' | 'assistant', sessionId: string): string {
  return `${role === 'user' ? 'u' : 'a'}:${sessionId}`
}

/**
 * The hub's stored messages (§11 `Message`) as the window shows them. A message
 * equal to the one already shown keeps its object, so its memoised view is not
 * rendered again.
 */
export function fromStored(stored: readonly Message[], previous: readonly ChatMessage[] = []): ChatMessage[] {
  const byKey = new Map<string, ChatMessage>()
  for (const message of previous) byKey.set(message.id, message)
  const seen = new Set<string>()
  return stored.map((message) => {
    let key = message.session_id ? messageKey(message.role, message.session_id) : ''
    if (!key || seen.has(key)) key = `m:${message.message_id}`
    seen.add(key)
    const fresh = convert(message, key)
    const old = byKey.get(key)
    if (!old) return fresh
    return sameMessage(old, fresh) ? old : keepParts(old, fresh)
  })
}

/**
 * The stored copy of a reply the window streamed differs from it (it has its
 * message id now) but its parts mostly do not: those keep their objects and
 * ids (the React keys), so the reply's finished text is not rendered again.
 */
function keepParts(old: ChatMessage, fresh: ChatMessage): ChatMessage {
  if (old.role !== 'assistant' || fresh.role !== 'assistant') return fresh
  const parts = fresh.parts.map((part, i) => {
    const previous = old.parts[i]
    // Ids the old parts cannot have: the store numbers live parts from 1 up.
    if (!previous || previous.type !== part.type) return { ...part, id: -1 - i }
    return samePart(previous, part) ? previous : { ...part, id: previous.id }
  })
  return { ...fresh, parts }
}

function convert(message: Message, key: string): ChatMessage {
  if (message.role === 'user') {
    const user: UserMessage = { role: 'user', id: key, messageId: message.message_id, text: message.text }
    return user
  }
  const live = message.state === 'streaming'
  const assistant: AssistantMessage = {
    role: 'assistant',
    id: key,
    messageId: message.message_id,
    sessionId: message.session_id,
    agentId: message.agent_id,
    state: message.state,
    parts: message.parts.map((part, index) => convertPart(part, index, live)),
    cancelling: false,
    ...(message.finish_reason !== undefined && { finishReason: message.finish_reason }),
    ...(message.model !== undefined && { model: message.model }),
    ...(message.usage !== undefined && { usage: message.usage }),
    ...(message.state === 'error' && { failure: storedFailure(message.error) }),
  }
  return assistant
}

function convertPart(part: Part, id: number, live: boolean): AssistantPart {
  switch (part.type) {
    case 'text':
      return { type: 'text', id, text: part.text }
    case 'tool_call':
      return {
        type: 'tool',
        id,
        callId: part.call_id,
        tool: part.tool,
        params: part.params,
        ...(part.result && { result: part.result.excerpt === undefined ? { ok: part.result.ok } : { ok: part.result.ok, excerpt: part.result.excerpt } }),
      }
    case 'approval':
      return {
        type: 'approval',
        id,
        approvalId: part.approval_id,
        tool: part.tool,
        params: part.params,
        // A stored approval still open belongs to a turn of another window (only its owner may decide, §7).
        status: part.resolution === 'approve' ? 'approved' : part.resolution === 'deny' ? 'denied' : live ? 'elsewhere' : 'expired',
      }
  }
}

/** §11 rule 3: a refused chat is recorded with the JSON-RPC code as a string. */
function storedFailure(error: Message['error']): ChatFailure {
  const message = error?.message ?? 'The reply failed.'
  const code = error?.code
  if (code !== undefined && /^-32\d{3}$/.test(code)) return { reason: 'request_failed', code: Number(code), message }
  return code === undefined ? { reason: failureReason(code), message } : { reason: failureReason(code), code, message }
}

export function failureReason(code: string | undefined): FailureReason {
  return code === 'agent_exited' || code === 'session_expired' || code === 'hub_shutdown' ? code : 'agent_error'
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  if (a.role === 'user' || b.role === 'user') {
    return a.role === 'user' && b.role === 'user' && a.text === b.text && a.messageId === b.messageId
  }
  return (
    a.messageId === b.messageId &&
    a.agentId === b.agentId &&
    a.state === b.state &&
    a.finishReason === b.finishReason &&
    a.failure?.message === b.failure?.message &&
    a.model === b.model &&
    a.usage?.input_tokens === b.usage?.input_tokens &&
    a.usage?.output_tokens === b.usage?.output_tokens &&
    a.parts.length === b.parts.length &&
    a.parts.every((part, i) => samePart(part, b.parts[i]!))
  )
}

function samePart(a: AssistantPart, b: AssistantPart): boolean {
  if (a.type === 'text' || b.type === 'text') return a.type === 'text' && b.type === 'text' && a.text === b.text
  if (a.type === 'tool' && b.type === 'tool') {
    return a.callId === b.callId && a.result?.ok === b.result?.ok && a.result?.excerpt === b.result?.excerpt
  }
  return a.type === 'approval' && b.type === 'approval' && a.approvalId === b.approvalId && a.status === b.status
}
