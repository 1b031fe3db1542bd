import type { Database } from 'libsql'
import { z } from 'zod'

/**
 * The schema of `conversations.db` (PROTOCOL.md §11 Storage), version in `PRAGMA user_version`.
 * Each migration takes the file from version i to i+1 and runs in one transaction.
 * Version 1 kept messages without a full-text index; version 2 adds FTS5.
 */
export const SCHEMA_VERSION = 2

export const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  // 0 -> 1: conversations and messages.
  (db) => {
    db.exec(`
      CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX conversations_by_update ON conversations (updated_at, conversation_id);
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL,
        role TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        text TEXT NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
      CREATE INDEX messages_streaming ON messages (seq) WHERE state = 'streaming';
      CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
        UPDATE conversations SET message_count = message_count + 1 WHERE conversation_id = new.conversation_id;
      END;
      CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
        UPDATE conversations SET message_count = message_count - 1 WHERE conversation_id = old.conversation_id;
      END;
    `)
  },
  // 1 -> 2: full-text index over message text, kept in step by triggers. A message is
  // indexed once it stops streaming: re-indexing a growing answer at every batch would
  // make each save cost more the longer the turn runs, on the hub's routing thread.
  (db) => {
    db.exec(`
      CREATE VIRTUAL TABLE messages_fts USING fts5 (
        text, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.state <> 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
      END;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.state <> 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
      END;
      CREATE TRIGGER messages_fts_unindex AFTER UPDATE OF text, state ON messages WHEN old.state <> 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
      END;
      CREATE TRIGGER messages_fts_index AFTER UPDATE OF text, state ON messages WHEN new.state <> 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
      END;
      INSERT INTO messages_fts (rowid, text) SELECT seq, text FROM messages WHERE state <> 'streaming';
    `)
  },
]

/** Brings `db` from its `user_version` up to `target`, one transaction per step. */
export function migrate(db: Database, target = SCHEMA_VERSION): void {
  let version = userVersion(db)
  while (version < target) {
    const step = MIGRATIONS[version]!
    const next = version + 1
    db.transaction(() => {
      step(db)
      db.pragma(`user_version = ${next}`)
    })()
    version = next
  }
}

/** `PRAGMA user_version`. libsql's `simple`/`pluck` do not apply to `get()`, so read the row's column. */
export function userVersion(db: Database): number {
  return UserVersionRowSchema.parse(db.prepare('PRAGMA user_version').get()).user_version
}

const UserVersionRowSchema = z.object({ user_version: z.number().int() })
