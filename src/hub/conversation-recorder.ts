import type { Clock } from '../base/clock.js'
import type { Disposable } from '../base/lifecycle.js'
import type { AgentChatEvent } from '../protocol/chat-events.js'
import {
  HISTORY_MAX_BYTES,
  TITLE_MAX_CHARS,
  type Conversation,
  type HistoryEntry,
  type Message,
  type Part,
  type SearchResult,
} from '../protocol/conversations.js'
import { ErrorCode } from '../protocol/errors.js'
import type { ConversationPage, ConversationStore, StoredConversation } from './conversation-store.js'

/** §11 rule 5: streamed text reaches the disk at least this often while a turn streams. */
export const FLUSH_INTERVAL_MS = 1000

export interface BeginTurn {
  conversation_id: string
  agent_id: string
  session_id: string
  prompt: string
  attachments?: Array<{ type: string } & Record<string, unknown>>
  model?: string
}

export type BeginTurnResult =
  | {
      ok: true
      conversation: Conversation
      /** Send `conversation.created` (else `conversation.updated`) with `conversation`. */
      created: boolean
      history: HistoryEntry[]
      history_truncated: boolean
    }
  | { ok: false; code: typeof ErrorCode.ConversationBusy }

export type MethodFailure = { ok: false; code: typeof ErrorCode.ConversationBusy | typeof ErrorCode.UnknownConversation | typeof ErrorCode.InvalidParams; message: string }

interface Turn {
  readonly conversationId: string
  readonly sessionId: string
  readonly message: Message
  readonly toolCalls: Map<string, Extract<Part, { type: 'tool_call' }>>
  readonly approvals: Map<string, Extract<Part, { type: 'approval' }>>
  streamedText: boolean
  /** The message is in memory only (never written, or changed since the last write). */
  dirty: boolean
  written: boolean
}

export interface RecorderOptions {
  newId?: () => string
}

/**
 * Applies a session's events to its conversation (PROTOCOL.md §11 rules 1-6). The
 * router calls `beginTurn` before the agent hears of the chat (the user message is
 * written before it returns), `onEvent` for every event it routes (memory only, O(1)),
 * and `fail` when a chat is refused. Text is written in batches, one transaction each,
 * within a second of being streamed and at the terminal event.
 */
export class ConversationRecorder implements Disposable {
  private readonly turnsBySession = new Map<string, Turn>()
  private readonly turnsByConversation = new Map<string, Turn>()
  private readonly dirty = new Set<Turn>()
  private flushTimer: Disposable | undefined
  private readonly newId: () => string

  constructor(
    private readonly store: ConversationStore,
    private readonly clock: Clock,
    options: RecorderOptions = {},
  ) {
    this.newId = options.newId ?? (() => globalThis.crypto.randomUUID())
    // Nothing is in flight yet: whatever an earlier run left streaming was cut off (§11 rule 5).
    store.interruptStreaming()
  }

  /** Messages changed in memory and not yet on disk (`hub.stats history_writes_pending`). */
  get pendingWrites(): number {
    return this.dirty.size
  }

  get turnsInFlight(): number {
    return this.turnsBySession.size
  }

  count(): number {
    return this.store.count()
  }

  isBusy(conversationId: string): boolean {
    return this.turnsByConversation.has(conversationId)
  }

  /** A session id already taken by a turn (its session may still be waiting for its agent). */
  hasSession(sessionId: string): boolean {
    return this.turnsBySession.has(sessionId)
  }

  /** The session of the busy conversation's turn, so the router can cancel it (conversations.delete). */
  sessionOf(conversationId: string): string | undefined {
    return this.turnsByConversation.get(conversationId)?.sessionId
  }

  /**
   * §11 rules 1-3: creates the conversation if needed, refuses a busy one, writes the
   * user message (durable on return) and reads the history the agent gets.
   */
  beginTurn(turn: BeginTurn): BeginTurnResult {
    if (this.turnsByConversation.has(turn.conversation_id)) return { ok: false, code: ErrorCode.ConversationBusy }
    const now = this.timestamp()
    let stored = this.store.getConversation(turn.conversation_id)
    const created = !stored
    if (!stored) {
      this.store.createConversation({
        conversation_id: turn.conversation_id,
        title: titleOf(turn.prompt),
        agent_id: turn.agent_id,
        created_at: now,
        updated_at: now,
      })
    }
    const { history, truncated } = created
      ? { history: [], truncated: false }
      : historyOf(this.store.getMessages(turn.conversation_id))
    const user: Message = {
      message_id: this.newId(),
      conversation_id: turn.conversation_id,
      role: 'user',
      agent_id: turn.agent_id,
      session_id: turn.session_id,
      created_at: now,
      text: turn.prompt,
      parts: [{ type: 'text', text: turn.prompt }],
      state: 'done',
      ...(turn.attachments && turn.attachments.length > 0 ? { attachments: turn.attachments } : {}),
    }
    this.store.writeMessages([{ message: user, updated_at: now }])
    const assistant: Message = {
      message_id: this.newId(),
      conversation_id: turn.conversation_id,
      role: 'assistant',
      agent_id: turn.agent_id,
      session_id: turn.session_id,
      created_at: now,
      text: '',
      parts: [],
      state: 'streaming',
      ...(turn.model ? { model: turn.model } : {}),
    }
    const entry: Turn = {
      conversationId: turn.conversation_id,
      sessionId: turn.session_id,
      message: assistant,
      toolCalls: new Map(),
      approvals: new Map(),
      streamedText: false,
      dirty: false,
      written: false,
    }
    this.turnsBySession.set(turn.session_id, entry)
    this.turnsByConversation.set(turn.conversation_id, entry)
    stored = this.store.getConversation(turn.conversation_id)!
    return { ok: true, conversation: { ...stored, busy: true }, created, history, history_truncated: truncated }
  }

  /**
   * §11 rule 4: the agent acknowledged; the assistant message exists from now on
   * (written with the next batch).
   */
  acknowledge(sessionId: string): void {
    const turn = this.turnsBySession.get(sessionId)
    if (turn) this.markDirty(turn)
  }

  /**
   * §11 rule 3: the chat was refused before the agent acknowledged it. Records an
   * assistant message in `state: "error"` and ends the turn; returns the conversation
   * for `conversation.updated`.
   */
  fail(sessionId: string, code: number, message: string): Conversation | undefined {
    const turn = this.turnsBySession.get(sessionId)
    if (!turn) return undefined
    turn.message.state = 'error'
    turn.message.error = { code: String(code), message }
    return this.finish(turn)
  }

  /**
   * Applies one routed event to its turn's assistant message. Memory only, except at
   * the terminal event, which writes the turn and returns the conversation (no longer
   * busy) for `conversation.updated` — before the router hands the event to the owner.
   */
  onEvent(sessionId: string, event: AgentChatEvent): Conversation | undefined {
    const turn = this.turnsBySession.get(sessionId)
    if (!turn) return undefined
    const message = turn.message
    switch (event.kind) {
      case 'token': {
        const delta = (event as { delta: string }).delta
        if (delta.length === 0) return undefined
        const last = message.parts[message.parts.length - 1]
        if (last?.type === 'text') last.text += delta
        else message.parts.push({ type: 'text', text: delta })
        message.text += delta
        turn.streamedText = true
        break
      }
      case 'tool_call': {
        const e = event as { call_id: string; tool: string; params?: unknown }
        const part = turn.toolCalls.get(e.call_id)
        if (part) {
          part.tool = e.tool
          if (e.params !== undefined) part.params = e.params
        } else {
          const fresh = { type: 'tool_call' as const, call_id: e.call_id, tool: e.tool, ...(e.params !== undefined ? { params: e.params } : {}) }
          turn.toolCalls.set(e.call_id, fresh)
          message.parts.push(fresh)
        }
        break
      }
      case 'tool_result': {
        const e = event as { call_id: string; ok: boolean; excerpt?: string }
        let part = turn.toolCalls.get(e.call_id)
        if (!part) {
          part = { type: 'tool_call', call_id: e.call_id, tool: '' }
          turn.toolCalls.set(e.call_id, part)
          message.parts.push(part)
        }
        part.result = e.excerpt !== undefined ? { ok: e.ok, excerpt: e.excerpt } : { ok: e.ok }
        break
      }
      case 'approval_pending': {
        const e = event as { approval_id: string; tool: string; params?: unknown }
        const existing = turn.approvals.get(e.approval_id)
        if (existing) {
          existing.tool = e.tool
          if (e.params !== undefined) existing.params = e.params
        } else {
          const fresh = { type: 'approval' as const, approval_id: e.approval_id, tool: e.tool, ...(e.params !== undefined ? { params: e.params } : {}), resolution: null }
          turn.approvals.set(e.approval_id, fresh)
          message.parts.push(fresh)
        }
        break
      }
      case 'approval_resolved': {
        const e = event as { approval_id: string; resolution: 'approve' | 'deny' }
        let part = turn.approvals.get(e.approval_id)
        if (!part) {
          part = { type: 'approval', approval_id: e.approval_id, tool: '', resolution: null }
          turn.approvals.set(e.approval_id, part)
          message.parts.push(part)
        }
        part.resolution = e.resolution
        break
      }
      case 'done': {
        const e = event as { finish_reason: string; text?: string; usage?: { input_tokens: number; output_tokens: number } }
        message.state = e.finish_reason === 'cancelled' ? 'cancelled' : 'done'
        message.finish_reason = e.finish_reason
        if (e.usage) message.usage = { input_tokens: e.usage.input_tokens, output_tokens: e.usage.output_tokens }
        // §11 rule 4: the recorded text is what was streamed; done.text only stands in for none.
        if (!turn.streamedText && e.text) {
          message.text = e.text
          message.parts.push({ type: 'text', text: e.text })
        }
        return this.finish(turn)
      }
      case 'error': {
        const e = event as { error: string; code?: string }
        message.state = 'error'
        message.error = e.code !== undefined ? { code: e.code, message: e.error } : { message: e.error }
        return this.finish(turn)
      }
      default:
        // `status` and kinds the protocol does not list are not kept (§11 rule 4).
        return undefined
    }
    this.markDirty(turn)
    return undefined
  }

  /** Writes every pending change now, in one transaction (graceful shutdown, and the batch timer). */
  flush(): void {
    this.flushTimer?.dispose()
    this.flushTimer = undefined
    if (this.dirty.size === 0) return
    const turns = [...this.dirty]
    this.store.writeMessages(turns.map((turn) => ({ message: turn.message })))
    for (const turn of turns) {
      turn.dirty = false
      turn.written = true
    }
    this.dirty.clear()
  }

  list(limit: number, cursor?: string): { conversations: Conversation[]; next_cursor: string | null } {
    const page: ConversationPage = this.store.list(limit, cursor)
    return { conversations: page.conversations.map((c) => this.withBusy(c)), next_cursor: page.next_cursor }
  }

  /** The stored messages, with the in-flight turn's assistant message as it is in memory. */
  get(conversationId: string): { conversation: Conversation; messages: Message[] } | undefined {
    const stored = this.store.getConversation(conversationId)
    if (!stored) return undefined
    const messages = this.store.getMessages(conversationId)
    const turn = this.turnsByConversation.get(conversationId)
    if (turn) {
      const live = structuredClone(turn.message)
      const index = messages.findIndex((m) => m.message_id === live.message_id)
      if (index >= 0) messages[index] = live
      else messages.push(live)
    }
    return { conversation: this.withBusy(stored), messages }
  }

  search(query: string, limit: number): SearchResult[] {
    return this.store.search(query, limit)
  }

  rename(conversationId: string, title: string): { ok: true; conversation: Conversation } | MethodFailure {
    const renamed = this.store.rename(conversationId, title, this.timestamp())
    if (!renamed) return unknownConversation(conversationId)
    return { ok: true, conversation: this.withBusy(renamed) }
  }

  truncate(conversationId: string, messageId: string): { ok: true; conversation: Conversation } | MethodFailure {
    if (this.turnsByConversation.has(conversationId)) {
      return { ok: false, code: ErrorCode.ConversationBusy, message: `conversation ${conversationId} has a turn in flight` }
    }
    const outcome = this.store.truncate(conversationId, messageId, this.timestamp())
    if (outcome === 'unknown_conversation') return unknownConversation(conversationId)
    if (outcome === 'unknown_message') {
      return { ok: false, code: ErrorCode.InvalidParams, message: `message_id ${messageId} is not in conversation ${conversationId}` }
    }
    return { ok: true, conversation: this.withBusy(this.store.getConversation(conversationId)!) }
  }

  /**
   * Deletes a conversation. A turn in flight is forgotten here: the router cancels its
   * session first (`sessionOf`), and the events that follow are no longer recorded.
   */
  delete(conversationId: string): boolean {
    const turn = this.turnsByConversation.get(conversationId)
    if (turn) this.forget(turn)
    return this.store.delete(conversationId)
  }

  dispose(): void {
    this.flush()
  }

  private finish(turn: Turn): Conversation | undefined {
    const now = this.timestamp()
    this.forget(turn)
    this.store.writeMessages([{ message: turn.message, updated_at: now }])
    const stored = this.store.getConversation(turn.conversationId)
    return stored && { ...stored, busy: false }
  }

  private forget(turn: Turn): void {
    this.turnsBySession.delete(turn.sessionId)
    this.turnsByConversation.delete(turn.conversationId)
    this.dirty.delete(turn)
    turn.dirty = false
    if (this.dirty.size === 0) {
      this.flushTimer?.dispose()
      this.flushTimer = undefined
    }
  }

  private markDirty(turn: Turn): void {
    if (turn.dirty) return
    turn.dirty = true
    this.dirty.add(turn)
    // The batch is written within a second of its oldest unsaved change (§11 rule 5).
    this.flushTimer ??= this.clock.setTimeout(() => this.flush(), FLUSH_INTERVAL_MS)
  }

  private withBusy(conversation: StoredConversation): Conversation {
    return { ...conversation, busy: this.turnsByConversation.has(conversation.conversation_id) }
  }

  private timestamp(): string {
    return new Date(this.clock.now()).toISOString()
  }
}

function unknownConversation(conversationId: string): MethodFailure {
  return { ok: false, code: ErrorCode.UnknownConversation, message: `unknown conversation ${conversationId}` }
}

/** §11 rule 1: the prompt's first non-blank line, at most 80 characters with the ellipsis. */
export function titleOf(prompt: string): string {
  const line = prompt.split(/\r?\n/).find((l) => l.trim().length > 0)?.trim() ?? ''
  const chars = Array.from(line)
  if (chars.length === 0) return 'New conversation'
  return chars.length <= TITLE_MAX_CHARS ? line : chars.slice(0, TITLE_MAX_CHARS - 1).join('') + '…'
}

/** §11 History to agents: the longest run of most recent whole messages within 1 MiB of UTF-8. */
export function historyOf(
  messages: readonly Message[],
  maxBytes = HISTORY_MAX_BYTES,
): { history: HistoryEntry[]; truncated: boolean } {
  const picked: HistoryEntry[] = []
  let bytes = 0
  let truncated = false
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.text.length === 0) continue
    bytes += utf8Length(message.text)
    if (bytes > maxBytes) {
      truncated = true
      break
    }
    picked.push({ role: message.role, text: message.text, agent_id: message.agent_id })
  }
  return { history: picked.reverse(), truncated }
}

export function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}
