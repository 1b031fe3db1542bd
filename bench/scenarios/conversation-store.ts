import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../test/support/manual-clock.js'
import { ConversationRecorder } from '../../src/hub/conversation-recorder.js'
import { Hub } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import type { MessageWrite } from '../../src/hub/conversation-store.js'
import type { Message } from '../../src/protocol/conversations.js'
import { SqliteConversationStore } from '../../src/platform/node/sqlite-conversation-store.js'
import { median } from '../lib/stats.js'

/**
 * `conversations.db` at size (PROTOCOL.md §11): 10,000 conversations, 1,000,000 messages
 * (one of them 2,000 messages long), written through the real store (triggers, FTS5) in
 * transactions of 20,000 messages. Then, medians of `runs`: `conversations.list` first
 * page, `conversations.get` of the 2,000-message conversation, `conversations.search`,
 * and opening the store (what the hub adds to its start) full vs empty; and the hub's
 * start on each file: open the store, `new Hub`, `hub.start()`, an in-process host's
 * first `conversations.list` answered.
 */
export interface ConversationStoreConfig {
  conversations: number
  messages: number
  longConversation: number
  wordsPerMessage: number
}

export const conversationStoreConfig: ConversationStoreConfig = {
  conversations: 10_000,
  messages: 1_000_000,
  longConversation: 2_000,
  wordsPerMessage: 20,
}

export interface ConversationStoreResult {
  config: ConversationStoreConfig
  generateSec: number
  listMs: number
  getMs: number
  searchMs: number
  searchHits: number
  openMs: number
  openEmptyMs: number
  hubStartMs: number
  hubStartEmptyMs: number
  fileMiB: number
  tokens: number
  miBPerMillionTokens: number
}

/** A fixed vocabulary of made-up words; word i of message n is chosen by a cheap deterministic hash. */
const VOCABULARY = Array.from({ length: 5_000 }, (_, i) => `w${i.toString(36)}ord${(i * 7919) % 97}`)
const SEARCH_QUERY = `${VOCABULARY[42]} ${VOCABULARY[77]}`

function textOf(n: number, words: number): string {
  const out: string[] = []
  let x = (n * 2654435761) >>> 0
  for (let i = 0; i < words; i++) {
    x = (x ^ (x << 13)) >>> 0
    x = (x ^ (x >>> 17)) >>> 0
    x = (x ^ (x << 5)) >>> 0
    out.push(VOCABULARY[x % VOCABULARY.length]!)
  }
  return out.join(' ')
}

function timed(fn: () => void): number {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

export async function runConversationStore(
  config: ConversationStoreConfig,
  runs: number,
  log: (line: string) => void,
): Promise<ConversationStoreResult> {
  const dir = mkdtempSync(join(tmpdir(), 'carhost-bench-store-'))
  try {
    const path = join(dir, 'conversations.db')
    const emptyPath = join(dir, 'empty.db')
    SqliteConversationStore.open(emptyPath).close()
    const store = SqliteConversationStore.open(path)
    const t0 = performance.now()
    const others = config.messages - config.longConversation
    const perConversation = Math.floor(others / (config.conversations - 1))
    const base = Date.UTC(2026, 0, 1)
    const stamp = (ms: number) => new Date(base + ms).toISOString()
    let written = 0
    let batch: MessageWrite[] = []
    const flush = () => {
      store.writeMessages(batch)
      batch = []
    }
    for (let c = 0; c < config.conversations; c++) {
      const id = `c${c}`
      const count = c === 0 ? config.longConversation : c === config.conversations - 1 ? config.messages - written : perConversation
      store.createConversation({ conversation_id: id, title: textOf(c, 6), agent_id: 'echo', created_at: stamp(c * 1000), updated_at: stamp(c * 1000) })
      for (let m = 0; m < count; m++) {
        const n = written++
        const text = textOf(n, config.wordsPerMessage)
        const message: Message = {
          message_id: `m${n}`,
          conversation_id: id,
          role: m % 2 === 0 ? 'user' : 'assistant',
          agent_id: 'echo',
          session_id: `s${c}-${m >> 1}`,
          created_at: stamp(c * 1000 + m),
          text,
          parts: [{ type: 'text', text }],
          state: 'done',
          ...(m % 2 === 1 ? { finish_reason: 'stop' } : {}),
        }
        batch.push({ message, updated_at: m === count - 1 ? stamp(c * 1000 + m) : undefined })
        if (batch.length >= 20_000) flush()
      }
      if (c % 1000 === 0) log(`  conversation store: ${c} conversations, ${written} messages`)
    }
    flush()
    store.close()
    const generateSec = (performance.now() - t0) / 1000
    log(`  conversation store: generated ${written} messages in ${generateSec.toFixed(1)} s`)

    const open = (file: string) => {
      const s = SqliteConversationStore.open(file)
      new ConversationRecorder(s, new ManualClock())
      return s
    }
    const openEmpty: number[] = []
    const openFull: number[] = []
    for (let i = 0; i < runs + 1; i++) {
      let s: SqliteConversationStore | undefined
      openEmpty.push(timed(() => (s = open(emptyPath))))
      s!.close()
      openFull.push(timed(() => (s = open(path))))
      s!.close()
    }
    const hubStartFull: number[] = []
    const hubStartEmpty: number[] = []
    for (let i = 0; i < runs + 1; i++) {
      hubStartEmpty.push(await hubStart(emptyPath, 0))
      hubStartFull.push(await hubStart(path, 50))
    }
    const full = open(path)
    const recorder = new ConversationRecorder(full, new ManualClock())
    const list: number[] = []
    const get: number[] = []
    const search: number[] = []
    let hits = 0
    let longCount = 0
    for (let i = 0; i < runs + 1; i++) {
      list.push(timed(() => recorder.list(50)))
      get.push(timed(() => (longCount = recorder.get('c0')!.messages.length)))
      search.push(timed(() => (hits = recorder.search(SEARCH_QUERY, 50).length)))
    }
    full.close()
    if (longCount !== config.longConversation) throw new Error(`get returned ${longCount} messages`)
    const fileBytes = statSync(path).size
    const tokens = config.messages * config.wordsPerMessage
    // The first of each is a warm-up (cold page cache), like every other scenario.
    const med = (xs: number[]) => median(xs.slice(1))
    return {
      config,
      generateSec,
      listMs: med(list),
      getMs: med(get),
      searchMs: med(search),
      searchHits: hits,
      openMs: med(openFull),
      openEmptyMs: med(openEmpty),
      hubStartMs: med(hubStartFull),
      hubStartEmptyMs: med(hubStartEmpty),
      fileMiB: fileBytes / 2 ** 20,
      tokens,
      miBPerMillionTokens: fileBytes / 2 ** 20 / (tokens / 1e6),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `new Hub` on the store file through the first `conversations.list` answered to a host (ms). */
async function hubStart(file: string, expected: number): Promise<number> {
  const launcher = new ChildProcessLauncher({})
  const t0 = performance.now()
  const store = SqliteConversationStore.open(file)
  const hub = new Hub({ agents: [], launcher, conversations: store })
  await hub.start()
  const host = new InProcessHost()
  hub.connectHost(host.transport)
  const page = (await host.client.call('conversations.list', { limit: 50 })) as { conversations: unknown[] }
  const elapsed = performance.now() - t0
  if (page.conversations.length !== expected) throw new Error(`conversations.list gave ${page.conversations.length}, expected ${expected}`)
  host.dispose()
  await hub.shutdown()
  store.close()
  launcher.dispose()
  return elapsed
}
