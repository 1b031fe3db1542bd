import { ConversationEventKind, ConversationSchema, type Conversation } from '../../../protocol/conversations.js'
import { z } from 'zod'

export interface ConversationListState {
  /** Newest first (`updated_at`), everything known down to the oldest page loaded. */
  readonly items: readonly Conversation[]
  /** `conversations.list` cursor of the next page; null once the last page is in. */
  readonly nextCursor: string | null
  /** The first page has answered. */
  readonly loaded: boolean
  readonly loadingMore: boolean
  readonly error?: string
}

const DeletedPayloadSchema = z.object({ conversation_id: z.string() })

/**
 * The hub's conversations as the sidebar lists them: pages of
 * `conversations.list` merged with the `conversation.*` host events of §11 rule
 * 6. Each conversation's newest record wins (by `updated_at`; an event beats a
 * page of the same instant, since pages may be older than the events that
 * crossed them), and a deleted one never comes back from a late page. This
 * store is the one owner of conversation metadata (title, busy) in the window.
 */
export class ConversationListStore {
  private state: ConversationListState = { items: [], nextCursor: null, loaded: false, loadingMore: false }
  private readonly listeners = new Set<() => void>()
  private readonly known = new Map<string, Conversation>()
  private readonly deleted = new Set<string>()
  /** The oldest `updated_at` of the pages loaded: below it the list is not known yet. */
  private boundary: string | null = null

  readonly getSnapshot = (): ConversationListState => this.state

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  conversation(id: string): Conversation | undefined {
    return this.known.get(id)
  }

  /** The first page again (start, or after missed host events): what it does not hold is forgotten. */
  resetFirstPage(page: { conversations: readonly Conversation[]; next_cursor: string | null }): void {
    // Kept: what events told of after the page was taken, and what lies beyond it (opened from a search).
    const newest = page.conversations.reduce((max, c) => (c.updated_at > max ? c.updated_at : max), '')
    const oldest = page.conversations.reduce((min, c) => (c.updated_at < min ? c.updated_at : min), newest)
    const kept = [...this.known.values()].filter((c) => c.updated_at > newest || (page.next_cursor !== null && c.updated_at < oldest))
    this.known.clear()
    this.deleted.clear()
    this.boundary = null
    for (const conversation of kept) this.known.set(conversation.conversation_id, conversation)
    this.takePage(page)
    const items = this.rank(page.next_cursor === null)
    this.set({ ...this.state, loaded: true, loadingMore: false, nextCursor: page.next_cursor, items }, 'error')
  }

  /** Starts loading the next page; returns its cursor, or null when there is none or one is on its way. */
  beginMore(): string | null {
    if (!this.state.loaded || this.state.loadingMore || this.state.nextCursor === null) return null
    this.set({ ...this.state, loadingMore: true })
    return this.state.nextCursor
  }

  addPage(page: { conversations: readonly Conversation[]; next_cursor: string | null }): void {
    this.takePage(page)
    this.set({ ...this.state, loadingMore: false, nextCursor: page.next_cursor, items: this.rank(page.next_cursor === null) }, 'error')
  }

  failed(message: string): void {
    this.set({ ...this.state, loadingMore: false, error: message })
  }

  /** One conversation as a method answered it (rename, truncate, get). */
  upsert(conversation: Conversation): void {
    if (this.deleted.has(conversation.conversation_id)) return
    if (this.keep(conversation, true)) this.set({ ...this.state, items: this.rank(this.state.loaded && this.state.nextCursor === null) })
  }

  remove(id: string): void {
    this.deleted.add(id)
    if (!this.known.delete(id)) return
    this.set({ ...this.state, items: this.state.items.filter((c) => c.conversation_id !== id) })
  }

  /** Applies a `host.event` of a `conversation.*` kind; false when its payload is not what §11 says. */
  apply(kind: string, payload: unknown): boolean {
    if (kind === ConversationEventKind.deleted) {
      const parsed = DeletedPayloadSchema.safeParse(payload)
      if (parsed.success) this.remove(parsed.data.conversation_id)
      return parsed.success
    }
    const parsed = ConversationSchema.safeParse(payload)
    if (!parsed.success) return false
    if (kind === ConversationEventKind.created) this.deleted.delete(parsed.data.conversation_id)
    this.upsert(parsed.data)
    return true
  }

  private takePage(page: { conversations: readonly Conversation[] }): void {
    for (const conversation of page.conversations) {
      if (this.deleted.has(conversation.conversation_id)) continue
      this.keep(conversation, false)
      if (this.boundary === null || conversation.updated_at < this.boundary) this.boundary = conversation.updated_at
    }
  }

  private keep(conversation: Conversation, fromEvent: boolean): boolean {
    const current = this.known.get(conversation.conversation_id)
    const newer = !current || conversation.updated_at > current.updated_at || (fromEvent && conversation.updated_at === current.updated_at)
    if (newer) this.known.set(conversation.conversation_id, conversation)
    return newer
  }

  /** `complete`: every page is in, so nothing known lies beyond the list. */
  private rank(complete: boolean): Conversation[] {
    const boundary = this.boundary
    const items = [...this.known.values()].filter((c) => complete || boundary === null || c.updated_at >= boundary)
    return items.sort((a, b) => (a.updated_at === b.updated_at ? cmp(a.conversation_id, b.conversation_id) : cmp(b.updated_at, a.updated_at)))
  }

  private set(state: ConversationListState, clear?: 'error'): void {
    if (clear) {
      const { error: _error, ...rest } = state
      this.state = rest
    } else {
      this.state = state
    }
    for (const listener of [...this.listeners]) listener()
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
