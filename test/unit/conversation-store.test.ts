/**
 * The conversation store and recorder against a real `conversations.db` in a temp folder
 * (PROTOCOL.md §11): recording rules, paging, search, truncate, migration, refusal.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import Database from 'libsql'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../support/manual-clock.js'
import type { AgentChatEvent } from '../../src/protocol/chat-events.js'
import { ErrorCode } from '../../src/protocol/errors.js'
import { ConversationRecorder, FLUSH_INTERVAL_MS, historyOf, titleOf } from '../../src/hub/conversation-recorder.js'
import type { ConversationStore } from '../../src/hub/conversation-store.js'
import { MemoryConversationStore } from '../../src/hub/memory-conversation-store.js'
import { migrate, SCHEMA_VERSION, userVersion } from '../../src/platform/node/conversation-schema.js'
import {
  ConversationStoreTooNewError,
  SqliteConversationStore,
} from '../../src/platform/node/sqlite-conversation-store.js'

let dir: string
let path: string
let clock: ManualClock
let store: SqliteConversationStore
let recorder: ConversationRecorder
let ids = 0

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'carhost-store-'))
  path = join(dir, 'conversations.db')
  clock = new ManualClock()
  store = SqliteConversationStore.open(path)
  recorder = new ConversationRecorder(store, clock, { newId: () => `m${++ids}` })
})

afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A second connection to the same file: what the next start of the hub would read. */
function reopen(): SqliteConversationStore {
  return SqliteConversationStore.open(path)
}

function begin(conversation_id: string, session_id: string, prompt = 'hello there') {
  const result = recorder.beginTurn({ conversation_id, agent_id: 'echo', session_id, prompt })
  if (!result.ok) throw new Error(`busy: ${result.code}`)
  return result
}

const token = (session_id: string, delta: string): AgentChatEvent => ({ session_id, kind: 'token', delta })
const done = (session_id: string, extra: Record<string, unknown> = {}): AgentChatEvent =>
  ({ session_id, kind: 'done', finish_reason: 'stop', ...extra }) as AgentChatEvent

describe('recording a turn (§11 rules 1-4)', () => {
  it('creates the conversation with a title from the first line and writes the user message before returning', () => {
    const result = begin('c1', 's1', 'First line of the prompt\nsecond line')
    expect(result.created).toBe(true)
    expect(result.conversation).toMatchObject({ conversation_id: 'c1', title: 'First line of the prompt', busy: true, message_count: 1 })
    expect(result.history).toEqual([])
    const other = reopen()
    const [user] = other.getMessages('c1')
    other.close()
    expect(user).toMatchObject({ role: 'user', text: 'First line of the prompt\nsecond line', state: 'done', session_id: 's1', agent_id: 'echo' })
    expect(user!.parts).toEqual([{ type: 'text', text: 'First line of the prompt\nsecond line' }])
  })

  it('cuts a long first line to 80 characters, the ellipsis included', () => {
    const title = titleOf('x'.repeat(200))
    expect(Array.from(title)).toHaveLength(80)
    expect(title.endsWith('…')).toBe(true)
    expect(titleOf('😀'.repeat(100))).toBe('😀'.repeat(79) + '…')
    expect(titleOf('short')).toBe('short')
  })

  it('refuses a second turn on a busy conversation with -32013 and changes nothing', () => {
    begin('c1', 's1')
    const before = store.getMessages('c1')
    const second = recorder.beginTurn({ conversation_id: 'c1', agent_id: 'echo', session_id: 's2', prompt: 'again' })
    expect(second).toEqual({ ok: false, code: ErrorCode.ConversationBusy })
    expect(store.getMessages('c1')).toEqual(before)
  })

  it('records a refused chat: the user message stays and an error message carries the code', () => {
    begin('c1', 's1')
    const updated = recorder.fail('s1', ErrorCode.UnknownAgent, 'unknown agent echo')
    expect(updated).toMatchObject({ busy: false, message_count: 2 })
    const messages = store.getMessages('c1')
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant'])
    expect(messages[1]).toMatchObject({ state: 'error', error: { code: '-32010', message: 'unknown agent echo' } })
  })

  it('applies each kind of event to one assistant message, and the terminal event ends the turn', () => {
    begin('c1', 's1')
    recorder.acknowledge('s1')
    const events: AgentChatEvent[] = [
      token('s1', 'Hel'),
      token('s1', 'lo'),
      { session_id: 's1', kind: 'tool_call', call_id: 'k1', tool: 'read', params: { path: '/a' } },
      { session_id: 's1', kind: 'status', message: 'reading' },
      { session_id: 's1', kind: 'tool_result', call_id: 'k1', ok: true, excerpt: 'abc' },
      { session_id: 's1', kind: 'approval_pending', approval_id: 'a1', tool: 'write' },
      { session_id: 's1', kind: 'approval_resolved', approval_id: 'a1', resolution: 'deny' },
      { session_id: 's1', kind: 'custom.thing', value: 1 } as AgentChatEvent,
      token('s1', ' again'),
    ]
    for (const event of events) expect(recorder.onEvent('s1', event)).toBeUndefined()
    expect(recorder.isBusy('c1')).toBe(true)
    const ended = recorder.onEvent('s1', done('s1', { text: 'ignored', usage: { input_tokens: 3, output_tokens: 5 } }))
    expect(ended).toMatchObject({ conversation_id: 'c1', busy: false, message_count: 2 })
    expect(recorder.isBusy('c1')).toBe(false)
    const other = reopen()
    const assistant = other.getMessages('c1')[1]!
    other.close()
    expect(assistant).toMatchObject({ state: 'done', finish_reason: 'stop', text: 'Hello again', usage: { input_tokens: 3, output_tokens: 5 } })
    expect(assistant.parts).toEqual([
      { type: 'text', text: 'Hello' },
      { type: 'tool_call', call_id: 'k1', tool: 'read', params: { path: '/a' }, result: { ok: true, excerpt: 'abc' } },
      { type: 'approval', approval_id: 'a1', tool: 'write', resolution: 'deny' },
      { type: 'text', text: ' again' },
    ])
  })

  it('takes done.text only when no token was streamed; cancelled and error set the state', () => {
    begin('c1', 's1')
    recorder.onEvent('s1', done('s1', { text: 'whole answer' }))
    begin('c1', 's2')
    recorder.onEvent('s2', token('s2', 'part'))
    recorder.onEvent('s2', done('s2', { finish_reason: 'cancelled' }))
    begin('c1', 's3')
    recorder.onEvent('s3', { session_id: 's3', kind: 'error', error: 'boom', code: 'agent_exited' })
    const messages = store.getMessages('c1')
    expect(messages.filter((m) => m.role === 'assistant').map((m) => [m.state, m.text, m.error])).toEqual([
      ['done', 'whole answer', undefined],
      ['cancelled', 'part', undefined],
      ['error', '', { code: 'agent_exited', message: 'boom' }],
    ])
  })

  it('ignores events of sessions it does not record (ephemeral chats)', () => {
    expect(recorder.onEvent('nobody', token('nobody', 'x'))).toBeUndefined()
    expect(recorder.pendingWrites).toBe(0)
  })
})

describe('batched writes (§11 rule 5)', () => {
  it('keeps tokens in memory and writes them within a second, in one batch for every turn', () => {
    begin('c1', 's1')
    begin('c2', 's2')
    recorder.acknowledge('s1')
    recorder.acknowledge('s2')
    recorder.onEvent('s1', token('s1', 'one'))
    recorder.onEvent('s2', token('s2', 'two'))
    expect(recorder.pendingWrites).toBe(2)
    const before = reopen()
    expect(before.getMessages('c1')).toHaveLength(1)
    before.close()
    clock.advance(FLUSH_INTERVAL_MS)
    expect(recorder.pendingWrites).toBe(0)
    const after = reopen()
    expect(after.getMessages('c1')[1]).toMatchObject({ state: 'streaming', text: 'one' })
    expect(after.getMessages('c2')[1]).toMatchObject({ state: 'streaming', text: 'two' })
    after.close()
  })

  it('writes a batch of every streaming turn in one writeMessages call (one transaction), none per token', () => {
    const memory = new MemoryConversationStore()
    const calls: number[] = []
    const write = memory.writeMessages.bind(memory)
    memory.writeMessages = (writes) => {
      calls.push(writes.length)
      write(writes)
    }
    const mem = new ConversationRecorder(memory, clock)
    for (const n of [1, 2, 3]) mem.beginTurn({ conversation_id: `c${n}`, agent_id: 'a', session_id: `s${n}`, prompt: 'p' })
    expect(calls).toEqual([1, 1, 1]) // the user messages, each before its turn returns
    for (let i = 0; i < 50; i++) for (const n of [1, 2, 3]) mem.onEvent(`s${n}`, token(`s${n}`, 'x'))
    expect(calls).toEqual([1, 1, 1])
    clock.advance(FLUSH_INTERVAL_MS)
    expect(calls).toEqual([1, 1, 1, 3])
    clock.advance(FLUSH_INTERVAL_MS) // nothing changed since: nothing written
    expect(calls).toEqual([1, 1, 1, 3])
    expect(memory.getMessages('c2')[1]!.text).toBe('x'.repeat(50))
  })

  it('get() shows the streaming text before it is on disk', () => {
    begin('c1', 's1')
    recorder.onEvent('s1', token('s1', 'live'))
    const view = recorder.get('c1')!
    expect(view.conversation.busy).toBe(true)
    expect(view.messages[1]).toMatchObject({ state: 'streaming', text: 'live' })
  })

  it('flush() writes everything at once (graceful shutdown)', () => {
    begin('c1', 's1')
    recorder.onEvent('s1', token('s1', 'saved'))
    recorder.flush()
    const other = reopen()
    expect(other.getMessages('c1')[1]).toMatchObject({ text: 'saved' })
    other.close()
  })

  it('a message left streaming is interrupted at the next open, its text kept', () => {
    begin('c1', 's1')
    recorder.onEvent('s1', token('s1', 'cut off'))
    recorder.flush()
    store.close()
    store = reopen()
    recorder = new ConversationRecorder(store, clock)
    expect(store.getMessages('c1')[1]).toMatchObject({ state: 'interrupted', text: 'cut off' })
    expect(recorder.isBusy('c1')).toBe(false)
  })
})

describe('history to agents', () => {
  it('is the earlier messages oldest first, empty text left out, this prompt not included', () => {
    begin('c1', 's1', 'first')
    recorder.onEvent('s1', token('s1', 'answer'))
    recorder.onEvent('s1', done('s1'))
    begin('c1', 's2', 'second')
    recorder.onEvent('s2', { session_id: 's2', kind: 'error', error: 'x' })
    const third = begin('c1', 's3', 'third')
    expect(third.created).toBe(false)
    expect(third.history).toEqual([
      { role: 'user', text: 'first', agent_id: 'echo' },
      { role: 'assistant', text: 'answer', agent_id: 'echo' },
      { role: 'user', text: 'second', agent_id: 'echo' },
    ])
    expect(third.history_truncated).toBe(false)
  })

  it('keeps the longest run of recent whole messages within the byte limit', () => {
    const message = (text: string) => ({ role: 'user' as const, text, agent_id: 'a' }) as never
    const result = historyOf([message('aaaa'), message('é'.repeat(3)), message('bb')], 8)
    expect(result).toEqual({ history: [{ role: 'user', text: 'ééé', agent_id: 'a' }, { role: 'user', text: 'bb', agent_id: 'a' }], truncated: true })
    expect(historyOf([message('a'.repeat(8))], 8).truncated).toBe(false)
  })
})

describe('host methods over the store', () => {
  function seed(n: number): void {
    for (let i = 0; i < n; i++) {
      clock.advance(1)
      begin(`c${i}`, `s${i}`, `prompt ${i}`)
      recorder.onEvent(`s${i}`, done(`s${i}`))
    }
  }

  it('lists most recently updated first, paging with an opaque cursor', () => {
    seed(7)
    clock.advance(10)
    recorder.rename('c2', 'renamed')
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = recorder.list(3, cursor)
      expect(page.conversations.length).toBeLessThanOrEqual(3)
      seen.push(...page.conversations.map((c) => c.conversation_id))
      cursor = page.next_cursor ?? undefined
    } while (cursor)
    expect(seen).toEqual(['c2', 'c6', 'c5', 'c4', 'c3', 'c1', 'c0'])
    expect(recorder.count()).toBe(7)
  })

  it('truncate deletes the message and every later one, refuses unknown ids and busy conversations', () => {
    begin('c1', 's1', 'one')
    recorder.onEvent('s1', done('s1', { text: 'r1' }))
    begin('c1', 's2', 'two')
    recorder.onEvent('s2', done('s2', { text: 'r2' }))
    const messages = store.getMessages('c1')
    expect(messages).toHaveLength(4)
    expect(recorder.truncate('c1', 'nope')).toMatchObject({ ok: false, code: ErrorCode.InvalidParams })
    expect(recorder.truncate('zz', messages[0]!.message_id)).toMatchObject({ ok: false, code: ErrorCode.UnknownConversation })
    const result = recorder.truncate('c1', messages[2]!.message_id)
    expect(result).toMatchObject({ ok: true, conversation: { message_count: 2 } })
    expect(store.getMessages('c1').map((m) => m.text)).toEqual(['one', 'r1'])
    expect(store.search('two', 10)).toEqual([])
    begin('c1', 's3', 'three')
    expect(recorder.truncate('c1', messages[0]!.message_id)).toMatchObject({ ok: false, code: ErrorCode.ConversationBusy })
  })

  it('delete removes the conversation and forgets its turn; later events are not recorded', () => {
    begin('c1', 's1', 'doomed words')
    expect(recorder.sessionOf('c1')).toBe('s1')
    expect(recorder.delete('c1')).toBe(true)
    expect(recorder.onEvent('s1', token('s1', 'late'))).toBeUndefined()
    recorder.flush()
    expect(store.getConversation('c1')).toBeUndefined()
    expect(store.getMessages('c1')).toEqual([])
    expect(store.search('doomed', 10)).toEqual([])
    expect(recorder.delete('c1')).toBe(false)
    expect(recorder.rename('c1', 'x')).toMatchObject({ ok: false, code: ErrorCode.UnknownConversation })
  })

  it('search finds word prefixes case-insensitively, best first, with a short plain snippet', () => {
    begin('c1', 's1', 'The Quick brown fox')
    recorder.onEvent('s1', done('s1', { text: `${'filler '.repeat(100)}quickly and quietly ${'padding '.repeat(100)}` }))
    begin('c2', 's2', 'quick quick quick')
    recorder.onEvent('s2', done('s2'))
    const results = recorder.search('QUI', 10)
    expect(results.map((r) => r.conversation_id)).toEqual(['c2', 'c1', 'c1'])
    for (const result of results) {
      expect(Array.from(result.snippet).length).toBeLessThanOrEqual(200)
      expect(result.snippet.toLowerCase()).toContain('qui')
    }
    expect(recorder.search('quick fox', 10).map((r) => r.conversation_id)).toEqual(['c1'])
    expect(recorder.search('fox zebra', 10)).toEqual([])
  })

  it('search finds an answer once it stops streaming, and drops what a truncate removed', () => {
    begin('c1', 's1')
    recorder.onEvent('s1', token('s1', 'zeppelin'))
    clock.advance(FLUSH_INTERVAL_MS)
    // The user message is indexed at once; the answer only when it ends (it is rewritten until then).
    expect(recorder.search('zepp', 5)).toHaveLength(0)
    recorder.onEvent('s1', token('s1', ' airship'))
    recorder.onEvent('s1', done('s1'))
    const answer = recorder.get('c1')!.messages[1]!
    expect(recorder.search('zepp airs', 5).map((r) => r.message_id)).toEqual([answer.message_id])
    recorder.truncate('c1', answer.message_id)
    expect(recorder.search('zeppelin', 5)).toHaveLength(0)
  })

  it('an answer cut off by a crash is searchable after the next start', () => {
    begin('c1', 's1')
    recorder.onEvent('s1', token('s1', 'dirigible'))
    clock.advance(FLUSH_INTERVAL_MS)
    expect(recorder.search('dirig', 5)).toHaveLength(0)
    const reopened = new ConversationRecorder(store, clock)
    expect(reopened.search('dirig', 5)).toHaveLength(1)
  })

  it('hostile queries return results or nothing, never an error', () => {
    begin('c1', 's1', 'a b NEAR x said "hello" (really) key:value -x')
    recorder.onEvent('s1', done('s1'))
    const hostile = ['"', '*', 'NEAR(', 'NEAR(a b', '-x', 'a:b', '((', ')', 'a OR', 'AND', 'NOT', '^', '"unterminated', 'x'.repeat(512), '(a'.repeat(256), '\u0000', '😀', "'; DROP TABLE messages; --"]
    for (const query of hostile) expect(() => recorder.search(query, 50), query).not.toThrow()
    expect(recorder.search('a:b', 10)).toHaveLength(1)
    expect(recorder.search('NEAR(', 10)).toHaveLength(1)
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 512 }), (query) => {
        expect(Array.isArray(recorder.search(query, 5))).toBe(true)
      }),
      { numRuns: 300 },
    )
  })
})

describe('property: the recorded text is what was streamed', () => {
  it('equals the concatenation of the token deltas for any sequence of events', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('token'), delta: fc.string({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('tool_call'), call_id: fc.constantFrom('k1', 'k2'), tool: fc.constant('t') }),
      fc.record({ kind: fc.constant('tool_result'), call_id: fc.constantFrom('k1', 'k2'), ok: fc.boolean() }),
      fc.record({ kind: fc.constant('approval_pending'), approval_id: fc.constantFrom('a1', 'a2'), tool: fc.constant('t') }),
      fc.record({ kind: fc.constant('approval_resolved'), approval_id: fc.constantFrom('a1', 'a2'), resolution: fc.constantFrom('approve', 'deny') }),
      fc.record({ kind: fc.constant('status'), message: fc.string() }),
      fc.record({ kind: fc.constant('custom.x'), data: fc.string() }),
      fc.record({ kind: fc.constant('tick') }),
    )
    let run = 0
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.option(fc.string({ maxLength: 10 })), (events, doneText) => {
        const session = `p${++run}`
        begin(`conv-${run}`, session)
        let expected = ''
        for (const e of events) {
          if (e.kind === 'tick') {
            clock.advance(FLUSH_INTERVAL_MS)
            continue
          }
          if (e.kind === 'token') expected += e.delta
          recorder.onEvent(session, { session_id: session, ...e } as AgentChatEvent)
        }
        recorder.onEvent(session, done(session, doneText === null ? {} : { text: doneText }))
        const assistant = store.getMessages(`conv-${run}`)[1]!
        const wanted = expected.length > 0 ? expected : (doneText ?? '')
        expect(assistant.text).toBe(wanted)
        const textParts = assistant.parts.filter((p) => p.type === 'text')
        expect(textParts.map((p) => p.text).join('')).toBe(wanted)
        expect(textParts.every((p) => p.text.length > 0)).toBe(true)
      }),
      { numRuns: 150 },
    )
  })
})

describe('the in-memory store (--no-history) answers the same way', () => {
  it('records, pages, searches and truncates', () => {
    const memory: ConversationStore = new MemoryConversationStore()
    const mem = new ConversationRecorder(memory, clock, { newId: () => `x${++ids}` })
    for (let i = 0; i < 3; i++) {
      clock.advance(1)
      const started = mem.beginTurn({ conversation_id: `c${i}`, agent_id: 'a', session_id: `s${i}`, prompt: `Hello ${i}` })
      expect(started.ok).toBe(true)
      mem.onEvent(`s${i}`, token(`s${i}`, 'world'))
      mem.onEvent(`s${i}`, done(`s${i}`))
    }
    const first = mem.list(2)
    expect(first.conversations.map((c) => c.conversation_id)).toEqual(['c2', 'c1'])
    expect(mem.list(2, first.next_cursor!).conversations.map((c) => c.conversation_id)).toEqual(['c0'])
    expect(mem.search('WOR', 10)).toHaveLength(3)
    expect(mem.search('"(', 10)).toEqual([])
    const messages = memory.getMessages('c0')
    expect(mem.truncate('c0', messages[1]!.message_id)).toMatchObject({ ok: true, conversation: { message_count: 1 } })
  })
})

describe('schema versions (§11 Storage)', () => {
  const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

  it('a fresh file carries the current version in user_version and uses the write-ahead log', () => {
    const raw = new Database(path, { readonly: true })
    expect(userVersion(raw)).toBe(SCHEMA_VERSION)
    expect(raw.prepare('PRAGMA journal_mode').get()).toMatchObject({ journal_mode: 'wal' })
    raw.close()
  })

  it('migrates a version 1 file after copying it aside, and builds the search index', () => {
    store.close()
    const old = join(dir, 'old.db')
    const raw = new Database(old)
    raw.pragma('journal_mode = WAL')
    migrate(raw, 1)
    raw.exec(`INSERT INTO conversations (conversation_id, title, agent_id, created_at, updated_at)
              VALUES ('v1', 'Old one', 'echo', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`)
    raw.exec(`INSERT INTO messages (message_id, conversation_id, role, agent_id, session_id, created_at, text, state, body)
              VALUES ('m-old', 'v1', 'user', 'echo', 's', '2025-01-01T00:00:00.000Z', 'ancient wisdom', 'done',
                      '{"parts":[{"type":"text","text":"ancient wisdom"}]}')`)
    raw.close()
    store = SqliteConversationStore.open(old)
    expect(existsSync(`${old}.bak-1`)).toBe(true)
    // The copy aside is the version 1 file as it was: same version, same rows, no index yet.
    const backup = new Database(`${old}.bak-1`, { readonly: true })
    expect(userVersion(backup)).toBe(1)
    expect(backup.prepare('SELECT message_id, text FROM messages').all()).toMatchObject([{ message_id: 'm-old', text: 'ancient wisdom' }])
    expect(backup.prepare("SELECT name FROM sqlite_master WHERE name = 'messages_fts'").get()).toBeUndefined()
    backup.close()
    expect(store.getConversation('v1')).toMatchObject({ title: 'Old one', message_count: 1 })
    expect(store.search('anc', 5).map((r) => r.message_id)).toEqual(['m-old'])
    const check = new Database(old, { readonly: true })
    expect(userVersion(check)).toBe(SCHEMA_VERSION)
    check.close()
  })

  it('refuses a newer file with a clear message and leaves it byte for byte unchanged', () => {
    store.close()
    const newer = join(dir, 'newer.db')
    const raw = new Database(newer)
    raw.exec('CREATE TABLE future (x)')
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    const before = sha(newer)
    expect(() => SqliteConversationStore.open(newer)).toThrow(ConversationStoreTooNewError)
    expect(() => SqliteConversationStore.open(newer)).toThrow(/newer than this CarHost understands/)
    expect(sha(newer)).toBe(before)
    expect(existsSync(`${newer}.bak-${SCHEMA_VERSION + 1}`)).toBe(false)
    store = reopen()
  })
})
