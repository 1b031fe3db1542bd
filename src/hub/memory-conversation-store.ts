import type { Message, SearchResult } from '../protocol/conversations.js'
import {
  clampSnippet,
  decodeCursor,
  encodeCursor,
  queryWords,
  type ConversationPage,
  type ConversationStore,
  type MessageWrite,
  type StoredConversation,
  type TruncateOutcome,
} from './conversation-store.js'

interface Entry {
  conversation: Omit<StoredConversation, 'message_count'>
  messages: Message[]
}

/** Conversations in memory only: headless `--no-history` (§11 Storage) and unit tests. */
export class MemoryConversationStore implements ConversationStore {
  private readonly entries = new Map<string, Entry>()

  createConversation(conversation: Omit<StoredConversation, 'message_count'>): void {
    if (!this.entries.has(conversation.conversation_id)) {
      this.entries.set(conversation.conversation_id, { conversation: { ...conversation }, messages: [] })
    }
  }

  getConversation(conversationId: string): StoredConversation | undefined {
    const entry = this.entries.get(conversationId)
    return entry && this.view(entry)
  }

  list(limit: number, cursor?: string): ConversationPage {
    const after = decodeCursor(cursor)
    const sorted = [...this.entries.values()]
      .map((entry) => this.view(entry))
      .sort((a, b) => compareKey(b, a))
      .filter((c) => !after || compareKey(c, { updated_at: after[0], conversation_id: after[1] }) < 0)
    const page = sorted.slice(0, limit)
    const last = page.at(-1)
    return {
      conversations: page,
      next_cursor: sorted.length > limit && last ? encodeCursor(last.updated_at, last.conversation_id) : null,
    }
  }

  getMessages(conversationId: string): Message[] {
    return structuredClone(this.entries.get(conversationId)?.messages ?? [])
  }

  search(query: string, limit: number): SearchResult[] {
    const words = queryWords(query)
    if (words.length === 0) return []
    const results: Array<SearchResult & { score: number }> = []
    for (const { conversation, messages } of this.entries.values()) {
      for (const message of messages) {
        const tokens = queryWords(message.text, Number.MAX_SAFE_INTEGER)
        if (!words.every((word) => tokens.some((token) => token.startsWith(word)))) continue
        const hits = tokens.filter((token) => words.some((word) => token.startsWith(word))).length
        const at = message.text.toLowerCase().indexOf(words[0]!)
        results.push({
          conversation_id: conversation.conversation_id,
          message_id: message.message_id,
          title: conversation.title,
          snippet: clampSnippet(message.text.slice(Math.max(0, at - 60))),
          created_at: message.created_at,
          score: hits / tokens.length,
        })
      }
    }
    return results
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map(({ score: _score, ...result }) => result)
  }

  rename(conversationId: string, title: string, updatedAt: string): StoredConversation | undefined {
    const entry = this.entries.get(conversationId)
    if (!entry) return undefined
    entry.conversation.title = title
    entry.conversation.updated_at = updatedAt
    return this.view(entry)
  }

  truncate(conversationId: string, messageId: string, updatedAt: string): TruncateOutcome {
    const entry = this.entries.get(conversationId)
    if (!entry) return 'unknown_conversation'
    const index = entry.messages.findIndex((m) => m.message_id === messageId)
    if (index < 0) return 'unknown_message'
    entry.messages.length = index
    entry.conversation.updated_at = updatedAt
    return 'truncated'
  }

  delete(conversationId: string): boolean {
    return this.entries.delete(conversationId)
  }

  writeMessages(writes: readonly MessageWrite[]): void {
    for (const { message, updated_at } of writes) {
      const entry = this.entries.get(message.conversation_id)
      if (!entry) continue
      const copy = structuredClone(message)
      const index = entry.messages.findIndex((m) => m.message_id === message.message_id)
      if (index >= 0) entry.messages[index] = copy
      else entry.messages.push(copy)
      if (updated_at) entry.conversation.updated_at = updated_at
    }
  }

  interruptStreaming(): number {
    let count = 0
    for (const { messages } of this.entries.values()) {
      for (const message of messages) {
        if (message.state === 'streaming') {
          message.state = 'interrupted'
          count++
        }
      }
    }
    return count
  }

  count(): number {
    return this.entries.size
  }

  close(): void {}

  private view(entry: Entry): StoredConversation {
    return { ...entry.conversation, message_count: entry.messages.length }
  }
}

function compareKey(
  a: Pick<StoredConversation, 'updated_at' | 'conversation_id'>,
  b: Pick<StoredConversation, 'updated_at' | 'conversation_id'>,
): number {
  if (a.updated_at !== b.updated_at) return a.updated_at < b.updated_at ? -1 : 1
  return a.conversation_id < b.conversation_id ? -1 : a.conversation_id > b.conversation_id ? 1 : 0
}
