import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'libsql'
import { z } from 'zod'
import {
  ConversationSchema,
  MessageSchema,
  type Message,
  type SearchResult,
} from '../../protocol/conversations.js'
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
} from '../../hub/conversation-store.js'
import { migrate, SCHEMA_VERSION, userVersion } from './conversation-schema.js'

/** A file written by a newer CarHost: refused, never touched (§11 Storage). */
export class ConversationStoreTooNewError extends Error {
  constructor(
    readonly path: string,
    readonly version: number,
  ) {
    super(
      `${path} has conversation schema version ${version}, newer than this CarHost understands (${SCHEMA_VERSION}). ` +
        'Update CarHost, or move the file aside to start with an empty history; the file was left unchanged.',
    )
    this.name = 'ConversationStoreTooNewError'
  }
}

export interface SqliteStoreOptions {
  /**
   * FULL (default) syncs the write-ahead log at every commit, so even a power cut loses
   * at most the batch in progress (§11 rule 5). NORMAL survives a killed process but
   * may lose the last commits to a power cut.
   */
  synchronous?: 'FULL' | 'NORMAL'
}

const ConversationRowSchema = ConversationSchema.omit({ busy: true })

const SearchRowSchema = z.object({
  conversation_id: z.string(),
  message_id: z.string(),
  title: z.string(),
  snippet: z.string(),
  created_at: z.string(),
})

const CountRowSchema = z.object({ n: z.number().int() })
const SeqRowSchema = z.object({ seq: z.number().int() })

const CONVERSATION_COLUMNS = 'conversation_id, title, agent_id, created_at, updated_at, message_count'
const MESSAGE_COLUMNS = 'message_id, conversation_id, role, agent_id, session_id, created_at, text, state, body'

/** `conversations.db`: SQLite with a write-ahead log and an FTS5 index (PROTOCOL.md §11 Storage). */
export class SqliteConversationStore implements ConversationStore {
  private readonly statements

  private constructor(private readonly db: Database.Database) {
    const prepare = (sql: string) => db.prepare(sql)
    this.statements = {
      insertConversation: prepare(
        'INSERT OR IGNORE INTO conversations (conversation_id, title, agent_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      ),
      getConversation: prepare(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE conversation_id = ?`),
      listFirst: prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations ORDER BY updated_at DESC, conversation_id DESC LIMIT ?`,
      ),
      listAfter: prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE (updated_at, conversation_id) < (?, ?)
         ORDER BY updated_at DESC, conversation_id DESC LIMIT ?`,
      ),
      getMessages: prepare(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq`),
      search: prepare(
        `SELECT m.conversation_id, m.message_id, c.title, m.created_at,
                snippet(messages_fts, 0, '', '', '…', 40) AS snippet
         FROM messages_fts
         JOIN messages m ON m.seq = messages_fts.rowid
         JOIN conversations c ON c.conversation_id = m.conversation_id
         WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?`,
      ),
      rename: prepare('UPDATE conversations SET title = ?, updated_at = ? WHERE conversation_id = ?'),
      messageSeq: prepare('SELECT seq FROM messages WHERE conversation_id = ? AND message_id = ?'),
      deleteFrom: prepare('DELETE FROM messages WHERE conversation_id = ? AND seq >= ?'),
      touch: prepare('UPDATE conversations SET updated_at = ? WHERE conversation_id = ?'),
      deleteMessages: prepare('DELETE FROM messages WHERE conversation_id = ?'),
      deleteConversation: prepare('DELETE FROM conversations WHERE conversation_id = ?'),
      // A message of a conversation deleted meanwhile is dropped, not resurrected.
      upsertMessage: prepare(
        `INSERT INTO messages (${MESSAGE_COLUMNS})
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM conversations WHERE conversation_id = ?)
         ON CONFLICT (message_id) DO UPDATE SET text = excluded.text, state = excluded.state, body = excluded.body`,
      ),
      interrupt: prepare("UPDATE messages SET state = 'interrupted' WHERE state = 'streaming'"),
      count: prepare('SELECT count(*) AS n FROM conversations'),
    }
  }

  /**
   * Opens (creating if needed) the store at `path`. An older schema is copied to
   * `<path>.bak-<version>` and migrated; a newer one is refused before anything writes to it.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteConversationStore {
    if (existsSync(path)) {
      const probe = new Database(path, { readonly: true, fileMustExist: true })
      let version: number
      try {
        version = userVersion(probe)
      } finally {
        probe.close()
      }
      if (version > SCHEMA_VERSION) throw new ConversationStoreTooNewError(path, version)
      if (version > 0 && version < SCHEMA_VERSION) {
        // Fold the write-ahead log into the file first, so the copy holds every commit.
        const writer = new Database(path)
        writer.pragma('wal_checkpoint(TRUNCATE)')
        writer.close()
        copyFileSync(path, `${path}.bak-${version}`)
      }
    }
    const db = new Database(path)
    try {
      db.pragma('journal_mode = WAL')
      db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
      migrate(db)
      return new SqliteConversationStore(db)
    } catch (error) {
      db.close()
      throw error
    }
  }

  createConversation(conversation: Omit<StoredConversation, 'message_count'>): void {
    const c = conversation
    this.statements.insertConversation.run(c.conversation_id, c.title, c.agent_id, c.created_at, c.updated_at)
  }

  getConversation(conversationId: string): StoredConversation | undefined {
    const row = this.statements.getConversation.get(conversationId)
    return row === undefined ? undefined : ConversationRowSchema.parse(row)
  }

  list(limit: number, cursor?: string): ConversationPage {
    const after = decodeCursor(cursor)
    const rows = after
      ? this.statements.listAfter.all(after[0], after[1], limit + 1)
      : this.statements.listFirst.all(limit + 1)
    const conversations = rows.slice(0, limit).map((row) => ConversationRowSchema.parse(row))
    const last = conversations.at(-1)
    return {
      conversations,
      next_cursor: rows.length > limit && last ? encodeCursor(last.updated_at, last.conversation_id) : null,
    }
  }

  getMessages(conversationId: string): Message[] {
    return this.statements.getMessages.all(conversationId).map((row) => {
      // One parse per row: MessageSchema checks the columns and the body's fields together.
      const { body, ...columns } = row as { body: unknown }
      if (typeof body !== 'string') throw new Error('conversations.db: a message row has no body')
      return MessageSchema.parse({ ...(JSON.parse(body) as object), ...columns })
    })
  }

  search(query: string, limit: number): SearchResult[] {
    const words = queryWords(query)
    if (words.length === 0) return []
    // Every word a quoted prefix term: the user's text is never FTS5 syntax (§11).
    const match = words.map((word) => `"${word.replaceAll('"', '""')}"*`).join(' ')
    return this.statements.search.all(match, limit).map((row) => {
      const result = SearchRowSchema.parse(row)
      return { ...result, snippet: clampSnippet(result.snippet) }
    })
  }

  rename(conversationId: string, title: string, updatedAt: string): StoredConversation | undefined {
    this.statements.rename.run(title, updatedAt, conversationId)
    return this.getConversation(conversationId)
  }

  truncate(conversationId: string, messageId: string, updatedAt: string): TruncateOutcome {
    return this.db.transaction((): TruncateOutcome => {
      if (!this.statements.getConversation.get(conversationId)) return 'unknown_conversation'
      const row = this.statements.messageSeq.get(conversationId, messageId)
      if (row === undefined) return 'unknown_message'
      this.statements.deleteFrom.run(conversationId, SeqRowSchema.parse(row).seq)
      this.statements.touch.run(updatedAt, conversationId)
      return 'truncated'
    })()
  }

  delete(conversationId: string): boolean {
    return this.db.transaction(() => {
      this.statements.deleteMessages.run(conversationId)
      return this.statements.deleteConversation.run(conversationId).changes > 0
    })()
  }

  writeMessages(writes: readonly MessageWrite[]): void {
    if (writes.length === 0) return
    this.db.transaction(() => {
      for (const { message: m, updated_at } of writes) {
        const { message_id, conversation_id, role, agent_id, session_id, created_at, text, state, ...rest } = m
        this.statements.upsertMessage.run(
          message_id,
          conversation_id,
          role,
          agent_id,
          session_id,
          created_at,
          text,
          state,
          JSON.stringify(rest),
          conversation_id,
        )
        if (updated_at) this.statements.touch.run(updated_at, conversation_id)
      }
    })()
  }

  interruptStreaming(): number {
    return this.statements.interrupt.run().changes
  }

  count(): number {
    return CountRowSchema.parse(this.statements.count.get()).n
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}

/** §11 Storage: the file every hub keeps its conversations in, inside its data folder. */
export const CONVERSATIONS_FILE = 'conversations.db'

export function openConversationStore(dataDir: string, options: SqliteStoreOptions = {}): SqliteConversationStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  return SqliteConversationStore.open(join(dataDir, CONVERSATIONS_FILE), options)
}
