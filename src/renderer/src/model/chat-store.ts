import { KNOWN_EVENT_KINDS, type HostChatEvent } from '../../../protocol/chat-events.js'
import { TITLE_MAX_CHARS, type Message } from '../../../protocol/conversations.js'
import type {
  ApprovalPart,
  ApprovalStatus,
  AssistantMessage,
  AssistantPart,
  ChatFailure,
  ChatMessage,
  MessageState,
  ToolResult,
  UserMessage,
} from './chat-message.js'
import { failureReason, fromStored, messageKey } from './stored-messages.js'

export type * from './chat-message.js'

/**
 * The conversations one window has open: their messages and the turns it
 * streams. The hub keeps the record (§11); this store holds what the window
 * fetched of it plus what streams in. Plain TypeScript: React reads it through
 * `subscribe`/`getSnapshot`, tests drive it directly.
 *
 * Chat events are queued and applied once per animation frame: however many
 * token deltas arrive within a frame, listeners hear of them once. Snapshots are
 * immutable; a flush copies only the messages and conversations it touched, so
 * React can skip everything else by identity.
 */

/** What the window holds of a conversation: `draft` is new here and not on the hub until its first turn. */
export type ConversationLoad = 'draft' | 'loading' | 'loaded' | 'failed'

export interface Conversation {
  readonly id: string
  readonly title: string
  readonly agentId: string | null
  readonly messages: readonly ChatMessage[]
  /** The session of the turn in flight, if any (one turn at a time per conversation). */
  readonly activeSessionId: string | null
  readonly load: ConversationLoad
  /** Why `conversations.get` failed. */
  readonly loadError?: string
}

export interface ChatState {
  readonly conversations: readonly Conversation[]
  readonly activeConversationId: string | null
}

/** Anything `agents.chat.event` may carry once validated: a known event, or a kind we ignore. */
export type IncomingChatEvent = HostChatEvent | { readonly session_id: string; readonly agent_id: string; readonly kind: string }

export type FrameScheduler = (run: () => void) => void

/**
 * Runs on the next animation frame. Frames stop in hidden tabs and occluded
 * windows, so a slow timer backs it up: queued events must not pile up there.
 */
export const animationFrameScheduler: FrameScheduler = (run) => {
  let ran = false
  const once = () => {
    if (ran) return
    ran = true
    run()
  }
  requestAnimationFrame(once)
  setTimeout(once, 250)
}

export interface ChatStoreOptions {
  scheduleFrame?: FrameScheduler
  newConversationId?: () => string
  /** A turn of this window ended (its terminal event, or our own failure); the hub's record is then complete. */
  onTurnEnded?: (conversationId: string) => void
}

interface SessionRef {
  readonly conversationId: string
  readonly messageIndex: number
}

type QueueItem =
  | { kind: 'token'; sessionId: string; text: string }
  | { kind: 'event'; sessionId: string; event: HostChatEvent }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
interface Draft {
  conversationId: string
  messageIndex: number
  message: Mutable<AssistantMessage> & { parts: AssistantPart[] }
  ended: boolean
}


function isKnownEvent(event: IncomingChatEvent): event is HostChatEvent {
  return KNOWN_EVENT_KINDS.has(event.kind)
}

export class ChatStore {
  private state: ChatState = { conversations: [], activeConversationId: null }
  private readonly listeners = new Set<() => void>()
  /** Live sessions only: an event for anything else is dropped on arrival. */
  private readonly sessions = new Map<string, SessionRef>()
  private queue: QueueItem[] = []
  /** The token item each session may still append to; cleared by its next non-token event. */
  private readonly openTokenItems = new Map<string, { text: string }>()
  private frameRequested = false
  private nextPartId = 1
  private readonly scheduleFrame: FrameScheduler
  private readonly newConversationId: () => string
  private readonly onTurnEnded: (conversationId: string) => void

  constructor(options: ChatStoreOptions = {}) {
    this.scheduleFrame = options.scheduleFrame ?? animationFrameScheduler
    this.onTurnEnded = options.onTurnEnded ?? (() => {})
    let n = 0
    this.newConversationId = options.newConversationId ?? (() => `conv-${++n}`)
  }

  readonly getSnapshot = (): ChatState => this.state

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get queuedEvents(): number {
    return this.queue.length
  }

  conversation(id: string): Conversation | undefined {
    return this.state.conversations.find((c) => c.id === id)
  }

  /** The assistant message of a session that is still live, after applying what is queued. */
  liveMessage(sessionId: string): AssistantMessage | undefined {
    this.flush()
    const ref = this.sessions.get(sessionId)
    if (!ref) return undefined
    const message = this.conversation(ref.conversationId)?.messages[ref.messageIndex]
    return message?.role === 'assistant' ? message : undefined
  }

  // ---- chat events (hot path) ----

  /** Queues one validated `agents.chat.event`; it reaches the snapshot at the next frame. */
  enqueue(event: IncomingChatEvent): void {
    if (!isKnownEvent(event)) return
    const sessionId = event.session_id
    if (!this.sessions.has(sessionId)) return
    if (event.kind === 'token') {
      const open = this.openTokenItems.get(sessionId)
      if (open) {
        open.text += event.delta
      } else {
        const item = { kind: 'token' as const, sessionId, text: event.delta }
        this.queue.push(item)
        this.openTokenItems.set(sessionId, item)
      }
    } else {
      this.openTokenItems.delete(sessionId)
      this.queue.push({ kind: 'event', sessionId, event })
    }
    if (!this.frameRequested) {
      this.frameRequested = true
      this.scheduleFrame(() => this.flush())
    }
  }

  /** Applies every queued event now, as one update. */
  flush(): void {
    this.frameRequested = false
    if (this.queue.length === 0) return
    const queue = this.queue
    this.queue = []
    this.openTokenItems.clear()
    const drafts = new Map<string, Draft>()
    for (const item of queue) {
      const draft = this.draft(item.sessionId, drafts)
      if (!draft || draft.message.state !== 'streaming') continue
      if (item.kind === 'token') appendText(draft, item.text, () => this.nextPartId++)
      else this.applyEvent(draft, item.event)
      if (draft.ended) this.sessions.delete(item.sessionId)
    }
    this.commit(drafts)
  }

  private applyEvent(draft: Draft, event: HostChatEvent): void {
    const message = draft.message
    switch (event.kind) {
      case 'token':
        appendText(draft, event.delta, () => this.nextPartId++)
        break
      case 'tool_call':
        message.parts.push({
          type: 'tool',
          id: this.nextPartId++,
          callId: event.call_id,
          tool: event.tool,
          params: event.params,
        })
        break
      case 'tool_result': {
        const result: ToolResult = event.excerpt === undefined ? { ok: event.ok } : { ok: event.ok, excerpt: event.excerpt }
        const index = findLastIndex(message.parts, (p) => p.type === 'tool' && p.callId === event.call_id)
        const part = message.parts[index]
        if (part?.type === 'tool') message.parts[index] = { ...part, result }
        else message.parts.push({ type: 'tool', id: this.nextPartId++, callId: event.call_id, tool: event.call_id, params: undefined, result })
        break
      }
      case 'approval_pending':
        message.parts.push({
          type: 'approval',
          id: this.nextPartId++,
          approvalId: event.approval_id,
          tool: event.tool,
          params: event.params,
          status: 'pending',
        })
        break
      case 'approval_resolved':
        updateApproval(message.parts, event.approval_id, () => ({ status: event.resolution === 'approve' ? 'approved' : 'denied' }))
        break
      case 'status':
        message.status = event.message
        break
      case 'done':
        if (event.text !== undefined && !message.parts.some((p) => p.type === 'text')) {
          appendText(draft, event.text, () => this.nextPartId++)
        }
        message.finishReason = event.finish_reason
        if (event.usage !== undefined) message.usage = event.usage
        end(draft, event.finish_reason === 'cancelled' ? 'cancelled' : 'done')
        break
      case 'error': {
        const reason = failureReason(event.code)
        message.failure = event.code === undefined ? { reason, message: event.error } : { reason, code: event.code, message: event.error }
        end(draft, 'error')
        break
      }
    }
  }

  // ---- user actions (applied at once, after whatever is queued) ----

  /** A new conversation, a draft until its first turn makes the hub record it. */
  createConversation(agentId: string | null): Conversation {
    this.flush()
    const conversation: Conversation = {
      id: this.newConversationId(),
      title: 'New chat',
      agentId,
      messages: [],
      activeSessionId: null,
      load: 'draft',
    }
    this.setState({ conversations: [...this.state.conversations, conversation], activeConversationId: conversation.id })
    return conversation
  }

  /** Shows a conversation of the hub, waiting for its messages if the window does not hold them yet. */
  openConversation(id: string): Conversation {
    this.flush()
    const existing = this.conversation(id)
    if (existing) {
      this.selectConversation(id)
      return existing
    }
    const conversation: Conversation = { id, title: '', agentId: null, messages: [], activeSessionId: null, load: 'loading' }
    this.setState({ conversations: [...this.state.conversations, conversation], activeConversationId: id })
    return conversation
  }

  /**
   * Takes in the hub's record of a conversation (`conversations.get`). Refused
   * while a turn of ours streams into it: the record is complete only once the
   * turn ended (onTurnEnded says when to fetch again).
   */
  hydrate(id: string, record: { agentId: string; messages: readonly Message[] }): boolean {
    this.flush()
    const current = this.conversation(id)
    if (!current || current.activeSessionId) return false
    this.updateConversation(id, (c) => {
      const { loadError: _error, ...rest } = c
      return {
        ...rest,
        agentId: c.agentId ?? record.agentId,
        messages: fromStored(record.messages, c.messages),
        load: 'loaded',
      }
    })
    return true
  }

  failLoad(id: string, message: string): void {
    this.updateConversation(id, (c) => (c.load === 'loading' ? { ...c, load: 'failed', loadError: message } : c))
  }

  /** Drops the message with React key `key` and every later one (§11 `conversations.truncate`). */
  truncateFrom(id: string, key: string): void {
    this.flush()
    this.updateConversation(id, (c) => {
      const index = c.messages.findIndex((m) => m.id === key)
      return index < 0 || c.activeSessionId ? c : { ...c, messages: c.messages.slice(0, index) }
    })
  }

  selectConversation(id: string): void {
    if (!this.conversation(id) || this.state.activeConversationId === id) return
    this.setState({ ...this.state, activeConversationId: id })
  }

  /** Removes a conversation; its live session, if any, is forgotten (the caller cancels it). */
  removeConversation(id: string): void {
    this.flush()
    const index = this.state.conversations.findIndex((c) => c.id === id)
    if (index < 0) return
    const removed = this.state.conversations[index]!
    if (removed.activeSessionId) this.sessions.delete(removed.activeSessionId)
    const conversations = this.state.conversations.filter((c) => c.id !== id)
    let active = this.state.activeConversationId
    if (active === id) active = (conversations[index] ?? conversations[index - 1])?.id ?? null
    this.setState({ conversations, activeConversationId: active })
  }

  setConversationAgent(id: string, agentId: string): void {
    this.updateConversation(id, (c) => (c.agentId === agentId ? c : { ...c, agentId }))
  }

  /** Adds the user's prompt and an empty streaming reply bound to `sessionId`. */
  beginTurn(conversationId: string, turn: { sessionId: string; agentId: string; prompt: string; model?: string }): void {
    this.flush()
    const conversation = this.conversation(conversationId)
    if (!conversation) throw new Error(`no conversation '${conversationId}'`)
    if (conversation.activeSessionId) throw new Error(`conversation '${conversationId}' already has a turn in flight`)
    const user: UserMessage = { role: 'user', id: messageKey('user', turn.sessionId), text: turn.prompt }
    const assistant: AssistantMessage = {
      role: 'assistant',
      id: messageKey('assistant', turn.sessionId),
      sessionId: turn.sessionId,
      agentId: turn.agentId,
      state: 'streaming',
      parts: [],
      cancelling: false,
      ...(turn.model !== undefined && { model: turn.model }),
    }
    this.sessions.set(turn.sessionId, { conversationId, messageIndex: conversation.messages.length + 1 })
    this.updateConversation(conversationId, (c) => ({
      ...c,
      title: c.messages.length === 0 ? titleOf(turn.prompt) : c.title,
      agentId: turn.agentId,
      messages: [...c.messages, user, assistant],
      activeSessionId: turn.sessionId,
      // The hub creates the conversation with this turn (§11 rule 1).
      load: c.load === 'draft' ? 'loaded' : c.load,
    }))
  }

  /** Ends a live turn with a failure of our side (the request was refused, the connection dropped). */
  failTurn(sessionId: string, failure: ChatFailure): void {
    this.updateLive(sessionId, (draft) => {
      draft.message.failure = failure
      end(draft, 'error')
    })
  }

  /** Ends every live turn, e.g. when the connection to the hub is gone. */
  failAllLive(failure: ChatFailure): void {
    this.flush()
    const drafts = new Map<string, Draft>()
    for (const sessionId of [...this.sessions.keys()]) {
      const draft = this.draft(sessionId, drafts)
      if (!draft || draft.message.state !== 'streaming') continue
      draft.message.failure = failure
      end(draft, 'error')
      this.sessions.delete(sessionId)
    }
    this.commit(drafts)
  }

  setCancelling(sessionId: string, cancelling: boolean): void {
    this.updateLive(sessionId, (draft) => {
      draft.message.cancelling = cancelling
    })
  }

  /**
   * Moves an approval card along. Only `pending`/`submitting` cards change, so a
   * late answer never overwrites the outcome an `approval_resolved` event set.
   */
  setApprovalStatus(sessionId: string, approvalId: string, status: ApprovalStatus, error?: string): void {
    this.updateLive(sessionId, (draft) => {
      updateApproval(draft.message.parts, approvalId, (part) =>
        part.status === 'pending' || part.status === 'submitting' ? (error === undefined ? { status } : { status, error }) : undefined,
      )
    })
  }

  // ---- internals ----

  private draft(sessionId: string, drafts: Map<string, Draft>): Draft | undefined {
    const existing = drafts.get(sessionId)
    if (existing) return existing
    const ref = this.sessions.get(sessionId)
    if (!ref) return undefined
    const message = this.conversation(ref.conversationId)?.messages[ref.messageIndex]
    if (message?.role !== 'assistant') return undefined
    const draft: Draft = {
      conversationId: ref.conversationId,
      messageIndex: ref.messageIndex,
      message: { ...message, parts: [...message.parts] },
      ended: false,
    }
    drafts.set(sessionId, draft)
    return draft
  }

  private updateLive(sessionId: string, fn: (draft: Draft) => void): void {
    this.flush()
    const drafts = new Map<string, Draft>()
    const draft = this.draft(sessionId, drafts)
    if (!draft || draft.message.state !== 'streaming') return
    fn(draft)
    if (draft.ended) this.sessions.delete(sessionId)
    this.commit(drafts)
  }

  private commit(drafts: Map<string, Draft>): void {
    if (drafts.size === 0) return
    const byConversation = new Map<string, Draft[]>()
    for (const draft of drafts.values()) {
      const list = byConversation.get(draft.conversationId)
      if (list) list.push(draft)
      else byConversation.set(draft.conversationId, [draft])
    }
    const ended: string[] = []
    const conversations = this.state.conversations.map((conversation) => {
      const list = byConversation.get(conversation.id)
      if (!list) return conversation
      const messages = conversation.messages.slice()
      let activeSessionId = conversation.activeSessionId
      for (const draft of list) {
        messages[draft.messageIndex] = draft.message
        if (draft.ended && activeSessionId === draft.message.sessionId) {
          activeSessionId = null
          ended.push(conversation.id)
        }
      }
      return { ...conversation, messages, activeSessionId }
    })
    this.setState({ ...this.state, conversations })
    for (const id of ended) this.onTurnEnded(id)
  }

  private updateConversation(id: string, fn: (c: Conversation) => Conversation): void {
    let changed = false
    const conversations = this.state.conversations.map((c) => {
      if (c.id !== id) return c
      const next = fn(c)
      if (next !== c) changed = true
      return next
    })
    if (changed) this.setState({ ...this.state, conversations })
  }

  private setState(state: ChatState): void {
    this.state = state
    for (const listener of [...this.listeners]) listener()
  }
}

function appendText(draft: Draft, text: string, newId: () => number): void {
  if (text.length === 0) return
  const parts = draft.message.parts
  const last = parts[parts.length - 1]
  if (last?.type === 'text') parts[parts.length - 1] = { ...last, text: last.text + text }
  else parts.push({ type: 'text', id: newId(), text })
}

function end(draft: Draft, state: MessageState): void {
  const message = draft.message
  message.state = state
  message.cancelling = false
  message.status = undefined
  // Nothing can be decided once the turn is over.
  for (let i = 0; i < message.parts.length; i++) {
    const part = message.parts[i]!
    if (part.type === 'approval' && (part.status === 'pending' || part.status === 'submitting')) {
      message.parts[i] = { ...part, status: 'expired' }
    }
  }
  draft.ended = true
}

function updateApproval(
  parts: AssistantPart[],
  approvalId: string,
  change: (part: ApprovalPart) => Pick<ApprovalPart, 'status' | 'error'> | undefined,
): void {
  const index = findLastIndex(parts, (p) => p.type === 'approval' && p.approvalId === approvalId)
  const part = parts[index]
  if (part?.type !== 'approval') return
  const next = change(part)
  if (!next) return
  const { error: _previousError, ...rest } = part
  parts[index] = { ...rest, ...next }
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i
  return -1
}

/** The title the hub will give the conversation (§11 rule 1), shown until it does. */
function titleOf(prompt: string): string {
  const line = prompt.trim().split('\n', 1)[0] ?? ''
  return line.length > TITLE_MAX_CHARS ? `${line.slice(0, TITLE_MAX_CHARS - 1)}…` : line || 'New chat'
}
