import type { Conversation, Message, SearchResult } from '../../../protocol/conversations.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import type { ChatStore } from './chat-store.js'
import type { ConversationClient } from './conversation-client.js'
import type { ConversationListStore } from './conversation-list.js'
import { ValueStore } from './value-store.js'

/** Conversations per `conversations.list` page. */
export const PAGE_SIZE = 50
const SEARCH_LIMIT = 50

export interface SearchState {
  readonly query: string
  readonly status: 'idle' | 'searching' | 'done' | 'failed'
  readonly results: readonly SearchResult[]
  readonly error?: string
}

export type RecordOutcome = { ok: true; conversation: Conversation; messages: readonly Message[] } | { ok: false; missing: boolean; message: string }

/**
 * Keeps the window's copy of the hub's conversations current: the sidebar's
 * pages, each open conversation's record (fetched on open, after a turn of ours
 * ends, and when a `conversation.updated` says another host changed it), and
 * search. Nothing here is on the token path.
 */
export class ConversationSync {
  readonly search = new ValueStore<SearchState>({ query: '', status: 'idle', results: [] })
  private readonly fetches = new Map<string, { promise: Promise<RecordOutcome>; again: boolean }>()
  /** The `updated_at` of the record each open conversation was last filled from. */
  private readonly fetchedAt = new Map<string, string>()
  private searchSequence = 0

  constructor(
    private readonly client: ConversationClient,
    private readonly chat: ChatStore,
    private readonly list: ConversationListStore,
    /** A conversation the window holds was deleted (by any host). */
    private readonly onDidDelete: (conversationId: string) => void,
  ) {}

  async loadFirstPage(): Promise<void> {
    try {
      this.list.resetFirstPage(await this.client.call('conversations.list', { limit: PAGE_SIZE }))
    } catch (error) {
      this.list.failed(`Could not load the conversations: ${errorMessage(error)}`)
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.list.beginMore()
    if (cursor === null) return
    try {
      this.list.addPage(await this.client.call('conversations.list', { limit: PAGE_SIZE, cursor }))
    } catch (error) {
      this.list.failed(`Could not load more conversations: ${errorMessage(error)}`)
    }
  }

  /** A `conversation.*` host event (§11 rule 6); false when its payload is malformed. */
  apply(kind: string, payload: unknown): boolean {
    if (!this.list.apply(kind, payload)) return false
    const id = conversationIdOf(payload)
    if (id === undefined) return true
    const open = this.chat.conversation(id)
    if (!open) return true
    const meta = this.list.conversation(id)
    if (!meta) {
      this.forget(id)
      this.onDidDelete(id)
    } else if (open.load !== 'draft' && open.activeSessionId === null && this.fetchedAt.get(id) !== meta.updated_at) {
      void this.fetchRecord(id)
    }
    return true
  }

  /** Our turn ended: the hub says it is idle again by now (§11 rule 6), and its record is complete. */
  turnEnded(conversationId: string): void {
    const meta = this.list.conversation(conversationId)
    if (meta?.busy) this.list.upsert({ ...meta, busy: false })
    void this.fetchRecord(conversationId)
  }

  /**
   * Fetches a conversation's record into the chat store and its metadata into
   * the list. Concurrent calls share one request; a call made while one is on
   * its way fetches once more after it, since that answer may predate the change.
   */
  fetchRecord(id: string): Promise<RecordOutcome> {
    const running = this.fetches.get(id)
    if (running) {
      running.again = true
      return running.promise
    }
    const entry = { promise: Promise.resolve<RecordOutcome>({ ok: false, missing: false, message: '' }), again: false }
    entry.promise = (async () => {
      let outcome: RecordOutcome
      do {
        entry.again = false
        outcome = await this.fetchOnce(id)
      } while (entry.again && outcome.ok)
      this.fetches.delete(id)
      return outcome
    })()
    this.fetches.set(id, entry)
    return entry.promise
  }

  forget(id: string): void {
    this.fetchedAt.delete(id)
  }

  /** Runs a search; an answer to an older query than the latest is dropped. */
  async runSearch(query: string): Promise<void> {
    const sequence = ++this.searchSequence
    const trimmed = query.trim()
    if (trimmed.length === 0) {
      this.search.set({ query, status: 'idle', results: [] })
      return
    }
    this.search.set({ query, status: 'searching', results: this.search.getSnapshot().results })
    try {
      const { results } = await this.client.call('conversations.search', { query: trimmed.slice(0, 512), limit: SEARCH_LIMIT })
      if (sequence === this.searchSequence) this.search.set({ query, status: 'done', results })
    } catch (error) {
      if (sequence === this.searchSequence) this.search.set({ query, status: 'failed', results: [], error: errorMessage(error) })
    }
  }

  private async fetchOnce(id: string): Promise<RecordOutcome> {
    try {
      const { conversation, messages } = await this.client.get(id)
      this.list.upsert(conversation)
      if (this.chat.hydrate(id, { agentId: conversation.agent_id, messages })) this.fetchedAt.set(id, conversation.updated_at)
      return { ok: true, conversation, messages }
    } catch (error) {
      const missing = error instanceof RpcError && error.code === ErrorCode.UnknownConversation
      const message = missing ? 'This conversation no longer exists.' : `Could not load the conversation: ${errorMessage(error)}`
      this.chat.failLoad(id, message)
      return { ok: false, missing, message }
    }
  }
}

function conversationIdOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined
  const id: unknown = Reflect.get(payload, 'conversation_id')
  return typeof id === 'string' ? id : undefined
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
