import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MessageSchema, type Message } from '../../src/protocol/conversations.js'
import { builtOutputExists, cleanEnv, startHub, type RunningHub } from './support/headless-process.js'
import { WsTestClient, isRecord } from './support/ws-test-client.js'

/**
 * §11 rule 5 with the real headless hub process: a turn streams, the hub dies
 * (SIGKILL) or is asked to stop (SIGTERM), and the next hub on the same data folder
 * shows what was saved.
 */
const WORDS = Array.from({ length: 4_000 }, (_, i) => `w${i}`).join(' ')
/** §11 allows the last second to be lost; a busy machine may run the hub's batch timer late, so allow one more. */
const ALLOWED_LOSS_MS = 2_000

let dir: string
const hubs: RunningHub[] = []

beforeAll(() => {
  if (!builtOutputExists()) throw new Error('run `npm run build` first: the test starts out/main/headless.js')
})

afterEach(async () => {
  for (const hub of hubs.splice(0)) {
    hub.process.kill('SIGKILL')
    await hub.process.exited
  }
  rmSync(dir, { recursive: true, force: true })
})

async function start(extra: string[] = []): Promise<{ hub: RunningHub; client: WsTestClient }> {
  // The built-in echo at 5 ms a word: 4,000 words take about 20 s, long enough to stop the hub mid-turn.
  const hub = await startHub(['--data-dir', dir, ...extra], cleanEnv({ CARHOST_ECHO_DELAY_MS: '5' }))
  hubs.push(hub)
  const client = await WsTestClient.authed(hub.url, hub.token)
  return { hub, client }
}

interface Received {
  text: string
  /** When each piece of text arrived: [ms since epoch, text length by then]. */
  arrivals: Array<[number, number]>
}

function streamed(client: WsTestClient, sessionId: string): Received {
  const received: Received = { text: '', arrivals: [] }
  client.socket.on('message', (data) => {
    const frame: unknown = JSON.parse(data.toString())
    if (!isRecord(frame) || frame.method !== 'agents.chat.event' || !isRecord(frame.params)) return
    if (frame.params.session_id !== sessionId || frame.params.kind !== 'token') return
    received.text += String(frame.params.delta)
    received.arrivals.push([Date.now(), received.text.length])
  })
  return received
}

/** The session id is chosen here, so the test listens before the first token can arrive. */
async function chat(client: WsTestClient, prompt: string, conversationId: string, sessionId: string): Promise<void> {
  const reply = await client.call('agents.chat', { agent_id: 'echo', prompt, conversation_id: conversationId, session_id: sessionId })
  if (!isRecord(reply.result)) throw new Error(`chat refused: ${JSON.stringify(reply)}`)
}

async function messagesOf(client: WsTestClient, conversationId: string): Promise<Message[]> {
  const reply = await client.call('conversations.get', { conversation_id: conversationId })
  if (!isRecord(reply.result)) throw new Error(`get failed: ${JSON.stringify(reply)}`)
  return MessageSchema.array().parse(reply.result.messages)
}

/** Resolves once `length` characters of the answer have arrived. */
function untilLength(client: WsTestClient, received: Received, length: number): Promise<void> {
  return new Promise((done) => {
    const check = () => {
      if (received.text.length < length) return
      client.socket.off('message', check)
      done()
    }
    client.socket.on('message', check)
    check()
  })
}

describe('conversations survive the hub (§11 rule 5)', () => {
  it('SIGKILL mid-stream: the next start has the user message and the answer up to the last second, interrupted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'carhost-durable-'))
    const { hub, client } = await start()
    const sessionId = 'sess-kill'
    const received = streamed(client, sessionId)
    await chat(client, WORDS, 'conv-kill', sessionId)
    await untilLength(client, received, 8_000)
    const killedAt = Date.now()
    hub.process.kill('SIGKILL')
    await hub.process.exited
    hubs.splice(0)

    const second = await start()
    const [user, answer] = await messagesOf(second.client, 'conv-kill')
    expect(user).toMatchObject({ role: 'user', state: 'done', text: WORDS })
    expect(answer).toMatchObject({ role: 'assistant', state: 'interrupted' })
    // What the hub recorded is the stream's beginning; it may hold a little the socket had not carried yet.
    expect(WORDS.startsWith(answer!.text)).toBe(true)
    const mustHave = received.arrivals.filter(([at]) => at <= killedAt - ALLOWED_LOSS_MS).at(-1)?.[1] ?? 0
    expect(answer!.text.length).toBeGreaterThanOrEqual(mustHave)
    expect(answer!.text.length).toBeGreaterThan(0)
  })

  it('SIGTERM mid-stream: nothing streamed is lost, and the turn ends with hub_shutdown', async () => {
    dir = mkdtempSync(join(tmpdir(), 'carhost-durable-'))
    const { hub, client } = await start()
    const sessionId = 'sess-term'
    const received = streamed(client, sessionId)
    await chat(client, WORDS, 'conv-term', sessionId)
    await untilLength(client, received, 4_000)
    hub.process.kill('SIGTERM')
    const terminal = await client.waitFor(
      (f) => isRecord(f) && isRecord(f.params) && f.params.session_id === sessionId && (f.params.kind === 'error' || f.params.kind === 'done'),
    )
    expect(terminal).toMatchObject({ params: { kind: 'error', code: 'hub_shutdown' } })
    expect((await hub.process.exited).code).toBe(0)
    hubs.splice(0)

    const second = await start()
    const [, answer] = await messagesOf(second.client, 'conv-term')
    expect(answer).toMatchObject({ state: 'error', error: { code: 'hub_shutdown' } })
    expect(answer!.text).toBe(received.text)
  })

  it('--no-history keeps conversations in memory only', async () => {
    dir = mkdtempSync(join(tmpdir(), 'carhost-durable-'))
    const { client } = await start(['--no-history'])
    const sessionId = 'sess-mem'
    await chat(client, 'kept in memory', 'conv-mem', sessionId)
    await client.waitFor((f) => isRecord(f) && isRecord(f.params) && f.params.session_id === sessionId && f.params.kind === 'done')
    expect((await messagesOf(client, 'conv-mem')).map((m) => m.text)).toEqual(['kept in memory', 'kept in memory'])
    expect(existsSync(join(dir, 'conversations.db'))).toBe(false)
  })
})
