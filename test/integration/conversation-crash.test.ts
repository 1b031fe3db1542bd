/**
 * §11 rule 5 at the store level: a process recording a turn is SIGKILLed mid-stream;
 * reopening the file shows the user message, the assistant message `interrupted`, and
 * its text a prefix of what was streamed missing at most one (clock) second of tokens.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { ConversationRecorder, FLUSH_INTERVAL_MS } from '../../src/hub/conversation-recorder.js'
import { ManualClock } from '../support/manual-clock.js'
import { SqliteConversationStore } from '../../src/platform/node/sqlite-conversation-store.js'

const WRITER = resolve(import.meta.dirname, '../fixtures/store/streaming-writer.ts')
const MS_PER_TOKEN = 10
let dir: string | undefined

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

it('a SIGKILL mid-stream loses at most the last second of text and leaves the message interrupted', async () => {
  dir = mkdtempSync(join(tmpdir(), 'carhost-crash-'))
  const path = join(dir, 'conversations.db')
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path], { stdio: ['ignore', 'pipe', 'inherit'] })
  // Kill once well past several batches; `seen` is a count the child had handed over before printing it.
  const target = 750
  let seen = 0
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)))
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    const last = lines.at(-1)
    if (last) seen = Number(last)
    if (seen >= target && child.exitCode === null && !child.killed) child.kill('SIGKILL')
  })
  expect(await exited).toBe('SIGKILL')

  const store = SqliteConversationStore.open(path)
  new ConversationRecorder(store, new ManualClock())
  const [user, assistant] = store.getMessages('crash')
  store.close()
  expect(user).toMatchObject({ role: 'user', text: 'stream forever', state: 'done' })
  expect(assistant!.state).toBe('interrupted')
  const recorded = assistant!.text.split(' ').filter(Boolean)
  // Exactly the first N tokens, in order: nothing invented, nothing reordered.
  expect(recorded).toEqual(recorded.map((_, i) => `t${i}`))
  const perSecond = FLUSH_INTERVAL_MS / MS_PER_TOKEN
  expect(recorded.length).toBeGreaterThanOrEqual(seen - perSecond)
}, 60_000)
