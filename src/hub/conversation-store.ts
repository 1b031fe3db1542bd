import type { Conversation, Message, SearchResult } from '../protocol/conversations.js'

/**
 * Where the hub keeps conversations (PROTOCOL.md §11). The hub core sees only this
 * interface; SQLite lives in platform code, and `--no-history` uses the in-memory one.
 * Every call is synchronous: a returned call is durable as far as the store goes.
 */

/** A conversation as stored: `busy` is the recorder's in-memory state, not the store's. */
export type StoredConversation = Omit<Conversation, 'busy'>

export interface ConversationPage {
  conversations: StoredConversation[]
  next_cursor: string | null
}

/** One message to insert or replace; `updated_at` also moves its conversation's `updated_at`. */
export interface MessageWrite {
  message: Message
  updated_at?: string
}

export type TruncateOutcome = 'truncated' | 'unknown_conversation' | 'unknown_message'

export interface ConversationStore {
  createConversation(conversation: Omit<StoredConversation, 'message_count'>): void
  getConversation(conversationId: string): StoredConversation | undefined
  /** Most recently updated first; `cursor` is opaque, from a previous page. */
  list(limit: number, cursor?: string): ConversationPage
  /** Oldest first. */
  getMessages(conversationId: string): Message[]
  /** Messages holding every word of `query` as a word prefix, best first. Never throws on the query's content. */
  search(query: string, limit: number): SearchResult[]
  rename(conversationId: string, title: string, updatedAt: string): StoredConversation | undefined
  /** Deletes `messageId` and every later message of the conversation. */
  truncate(conversationId: string, messageId: string, updatedAt: string): TruncateOutcome
  delete(conversationId: string): boolean
  /** Inserts or replaces each message (by `message_id`), all in one transaction. */
  writeMessages(writes: readonly MessageWrite[]): void
  /** §11 rule 5: every message left `streaming` by an earlier run becomes `interrupted`. Returns how many. */
  interruptStreaming(): number
  count(): number
  close(): void
}

/** Cursor of `list`: the sort key of the last conversation of a page, opaque to hosts. */
export function encodeCursor(updatedAt: string, conversationId: string): string {
  return Buffer.from(JSON.stringify([updatedAt, conversationId]), 'utf8').toString('base64url')
}

/** A cursor that does not decode starts from the top rather than failing the page. */
export function decodeCursor(cursor: string | undefined): [string, string] | undefined {
  if (!cursor) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return [value[0], value[1]]
    }
  } catch {
    // fall through
  }
  return undefined
}

/**
 * The words of a search query as the full-text index splits text: runs of letters,
 * digits and combining marks, lower-cased. Anything else (quotes, `*`, `-`, `:`,
 * parentheses) is a separator, so a query is never syntax (§11 conversations.search).
 */
export function queryWords(query: string, max = 32): string[] {
  return (query.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).slice(0, max)
}

export const SNIPPET_MAX_CHARS = 200

/** Plain text of at most 200 characters (§11): whitespace folded, cut with an ellipsis. */
export function clampSnippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const chars = Array.from(flat)
  return chars.length <= SNIPPET_MAX_CHARS ? flat : chars.slice(0, SNIPPET_MAX_CHARS - 1).join('') + '…'
}
