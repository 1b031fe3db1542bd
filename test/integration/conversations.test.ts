import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Emitter } from '../../src/base/event.js'
import { Hub } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { openConversationStore, type SqliteConversationStore } from '../../src/platform/node/sqlite-conversation-store.js'
import { HostEventSchema, type HostEvent } from '../../src/protocol/agent-info.js'
import { ConversationSchema, type Conversation, type HistoryEntry } from '../../src/protocol/conversations.js'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { ManifestAgentSchema, type AgentSpec } from '../../src/protocol/manifest.js'

/**
 * PROTOCOL.md §11 through the whole hub: real agent processes (tsx), a real
 * conversations.db in a temp folder, in-process hosts.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const agent = (id: string, module: string, env: Record<string, string> = {}): AgentSpec =>
  ManifestAgentSchema.parse({ id, name: id, module, env, ready_signal: true })
const echo = (delayMs = 0) => agent('echo', resolve(ROOT, 'src/agents/echo.ts'), { CARHOST_ECHO_DELAY_MS: String(delayMs) })
const historyAgent = () => agent('history', resolve(ROOT, 'test/fixtures/agents/history.ts'))
const toolbox = () => agent('toolbox', resolve(ROOT, 'src/agents/toolbox.ts'), { CARHOST_TOOLBOX_DELAY_MS: '0' })

type ChatEvent = Record<string, unknown> & { session_id: string; kind: string }

class Host {
  readonly host = new InProcessHost()
  readonly events: ChatEvent[] = []
  readonly hostEvents: HostEvent[] = []
  /** For each conversation event, whether the owner had its session's terminal event by then. */
  private readonly changed = new Emitter<void>()

  constructor(hub: Hub) {
    hub.connectHost(this.host.transport)
    this.host.onNotification(({ method, params }) => {
      if (method === 'agents.chat.event') this.events.push(params as ChatEvent)
      if (method === 'host.event') this.hostEvents.push(HostEventSchema.parse(params))
      this.changed.fire()
    })
  }

  get client() {
    return this.host.client
  }

  async until<T>(probe: () => T | undefined): Promise<T> {
    for (;;) {
      const value = probe()
      if (value !== undefined) return value
      await new Promise<void>((done) => {
        const listener = this.changed.event(() => {
          listener.dispose()
          done()
        })
      })
    }
  }

  terminalOf(sessionId: string): Promise<ChatEvent> {
    return this.until(() => this.events.find((e) => e.session_id === sessionId && (e.kind === 'done' || e.kind === 'error')))
  }

  textOf(sessionId: string): string {
    return this.events
      .filter((e) => e.session_id === sessionId && e.kind === 'token')
      .map((e) => e.delta)
      .join('')
  }

  conversationEvents(conversationId: string): Array<{ kind: string; conversation: Conversation | { conversation_id: string } }> {
    return this.hostEvents
      .filter((e) => e.kind.startsWith('conversation.') && e.payload.conversation_id === conversationId)
      .map((e) => ({
        kind: e.kind,
        conversation: e.kind === 'conversation.deleted' ? { conversation_id: conversationId } : ConversationSchema.parse(e.payload),
      }))
  }
}

let dir: string
let hub: Hub | undefined
let store: SqliteConversationStore | undefined

async function startHub(agents: AgentSpec[]): Promise<Hub> {
  dir = mkdtempSync(join(tmpdir(), 'carhost-conv-'))
  store = openConversationStore(dir)
  hub = new Hub({
    agents,
    launcher: new ChildProcessLauncher({ execArgv: ['--import', 'tsx'] }),
    conversations: store,
    ackTimeoutMs: 30_000,
  })
  await hub.start()
  return hub
}

afterEach(async () => {
  await hub?.shutdown()
  store?.close()
  hub = undefined
  store = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('conversations through the hub (§11)', () => {
  it('records a turn: the user message, the streamed answer, events to every host, never per token', async () => {
    const h = await startHub([echo()])
    const owner = new Host(h)
    const other = new Host(h)
    await owner.client.call('host.subscribe')
    await other.client.call('host.subscribe')
    const prompt = 'Hello there\nsecond line with many words to stream one by one'
    const result = await owner.client.call('agents.chat', { agent_id: 'echo', prompt, conversation_id: 'conv-1' })
    expect(result).toMatchObject({ accepted: true, conversation_id: 'conv-1' })
    const done = await owner.terminalOf(result.session_id)
    expect(done.kind).toBe('done')

    // The owner's view: created busy at the start, idle before its terminal event arrived.
    const seen = await other.until(() => (other.conversationEvents('conv-1').length >= 2 ? other.conversationEvents('conv-1') : undefined))
    expect(seen.map((e) => [e.kind, (e.conversation as Conversation).busy])).toEqual([
      ['conversation.created', true],
      ['conversation.updated', false],
    ])
    expect((seen[0]!.conversation as Conversation).title).toBe('Hello there')
    const ownerEvents = owner.host.received as Array<{ method?: string; params?: { kind?: string; session_id?: string } }>
    const updatedAt = ownerEvents.findIndex((m) => m.method === 'host.event' && m.params?.kind === 'conversation.updated')
    const doneAt = ownerEvents.findIndex((m) => m.params?.kind === 'done' && m.params.session_id === result.session_id)
    expect(updatedAt).toBeGreaterThanOrEqual(0)
    expect(updatedAt).toBeLessThan(doneAt)

    const { conversation, messages } = await other.client.call('conversations.get', { conversation_id: 'conv-1' })
    expect(conversation).toMatchObject({ conversation_id: 'conv-1', agent_id: 'echo', message_count: 2, busy: false })
    expect(messages.map((m) => [m.role, m.state, m.text])).toEqual([
      ['user', 'done', prompt],
      ['assistant', 'done', owner.textOf(result.session_id)],
    ])
    expect(messages[1]).toMatchObject({ finish_reason: 'stop', session_id: result.session_id, agent_id: 'echo' })
    expect(owner.textOf(result.session_id)).toBe(prompt)
    const stats = await owner.client.call('hub.stats')
    expect(stats).toMatchObject({ conversations: 1, history_writes_pending: 0 })
  })

  it('gives the agent the earlier messages as context.history, and none to an ephemeral chat', async () => {
    const h = await startHub([echo(), historyAgent()])
    const host = new Host(h)
    const first = await host.client.call('agents.chat', { agent_id: 'echo', prompt: 'remember the word kumquat', conversation_id: 'conv-h' })
    await host.terminalOf(first.session_id)
    const second = await host.client.call('agents.chat', { agent_id: 'history', prompt: 'what was the word?', conversation_id: 'conv-h' })
    await host.terminalOf(second.session_id)
    const told = JSON.parse(host.textOf(second.session_id)) as { history: HistoryEntry[]; truncated: boolean }
    expect(told.history).toEqual([
      { role: 'user', text: 'remember the word kumquat', agent_id: 'echo' },
      { role: 'assistant', text: 'remember the word kumquat', agent_id: 'echo' },
    ])
    expect(told.truncated).toBe(false)

    const ephemeral = await host.client.call('agents.chat', { agent_id: 'history', prompt: 'anything?' })
    expect(ephemeral).not.toHaveProperty('conversation_id')
    await host.terminalOf(ephemeral.session_id)
    expect(JSON.parse(host.textOf(ephemeral.session_id))).toMatchObject({ history: [] })
    expect((await host.client.call('conversations.list', {})).conversations.map((c) => c.conversation_id)).toEqual(['conv-h'])
  })

  it('refuses a second turn while one is in flight (-32013) and changes nothing', async () => {
    const h = await startHub([echo(20)])
    const host = new Host(h)
    const first = await host.client.call('agents.chat', { agent_id: 'echo', prompt: 'a b c d e f g h i j k l', conversation_id: 'conv-b' })
    await expect(host.client.call('agents.chat', { agent_id: 'echo', prompt: 'again', conversation_id: 'conv-b' })).rejects.toMatchObject({
      code: ErrorCode.ConversationBusy,
    })
    await expect(host.client.call('conversations.truncate', { conversation_id: 'conv-b', message_id: 'x' })).rejects.toMatchObject({
      code: ErrorCode.ConversationBusy,
    })
    await host.terminalOf(first.session_id)
    const { messages } = await host.client.call('conversations.get', { conversation_id: 'conv-b' })
    expect(messages.map((m) => m.text)).toEqual(['a b c d e f g h i j k l', 'a b c d e f g h i j k l'])
  })

  it('keeps the user message of a refused chat and records the failure (rule 3)', async () => {
    const h = await startHub([echo()])
    const host = new Host(h)
    await expect(host.client.call('agents.chat', { agent_id: 'nobody', prompt: 'hello?', conversation_id: 'conv-r' })).rejects.toMatchObject({
      code: ErrorCode.UnknownAgent,
    })
    const { conversation, messages } = await host.client.call('conversations.get', { conversation_id: 'conv-r' })
    expect(conversation.busy).toBe(false)
    expect(messages.map((m) => [m.role, m.state, m.text])).toEqual([
      ['user', 'done', 'hello?'],
      ['assistant', 'error', ''],
    ])
    expect(messages[1]!.error).toMatchObject({ code: String(ErrorCode.UnknownAgent) })
  })

  it('records approvals and tool calls as parts, and a cancel as cancelled', async () => {
    const h = await startHub([toolbox(), echo(50)])
    const host = new Host(h)
    const turn = await host.client.call('agents.chat', { agent_id: 'toolbox', prompt: 'calculate 2 + 3 * 4', conversation_id: 'conv-t' })
    const pending = await host.until(() => host.events.find((e) => e.session_id === turn.session_id && e.kind === 'approval_pending'))
    await host.client.call('agents.chat.approve', { session_id: turn.session_id, approval_id: String(pending.approval_id), decision: true })
    await host.terminalOf(turn.session_id)
    const { messages } = await host.client.call('conversations.get', { conversation_id: 'conv-t' })
    const reply = messages[1]!
    expect(reply.parts.map((p) => p.type)).toEqual(expect.arrayContaining(['tool_call', 'approval', 'text']))
    expect(reply.parts.find((p) => p.type === 'approval')).toMatchObject({ resolution: 'approve' })
    expect(reply.parts.find((p) => p.type === 'tool_call')).toMatchObject({ result: { ok: true } })
    expect(reply.text).toBe(host.textOf(turn.session_id))

    const long = await host.client.call('agents.chat', { agent_id: 'echo', prompt: 'one two three four five six seven eight', conversation_id: 'conv-c' })
    await host.until(() => host.events.find((e) => e.session_id === long.session_id && e.kind === 'token'))
    await host.client.call('agents.chat.cancel', { session_id: long.session_id })
    await host.terminalOf(long.session_id)
    const cancelled = await host.client.call('conversations.get', { conversation_id: 'conv-c' })
    expect(cancelled.messages[1]).toMatchObject({ state: 'cancelled', finish_reason: 'cancelled', text: host.textOf(long.session_id) })
  })

  it('rename, truncate, search and delete: every host hears of it; deleting a busy conversation cancels its turn', async () => {
    const h = await startHub([echo(30)])
    const owner = new Host(h)
    const watcher = new Host(h)
    await watcher.client.call('host.subscribe')
    const first = await owner.client.call('agents.chat', { agent_id: 'echo', prompt: 'Kumquats are small citrus fruits', conversation_id: 'conv-s' })
    await owner.terminalOf(first.session_id)

    const renamed = await watcher.client.call('conversations.rename', { conversation_id: 'conv-s', title: 'Fruit' })
    expect(renamed.title).toBe('Fruit')
    const found = await watcher.client.call('conversations.search', { query: 'KUMQ' })
    expect(found.results.map((r) => [r.conversation_id, r.title])).toContainEqual(['conv-s', 'Fruit'])
    for (const hostile of ['"', '*', 'NEAR(', '-x', 'a:b', '((', 'x'.repeat(512)]) {
      await expect(watcher.client.call('conversations.search', { query: hostile })).resolves.toHaveProperty('results')
    }

    const { messages } = await owner.client.call('conversations.get', { conversation_id: 'conv-s' })
    await expect(owner.client.call('conversations.truncate', { conversation_id: 'conv-s', message_id: 'not-there' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('not-there'),
    })
    const truncated = await owner.client.call('conversations.truncate', { conversation_id: 'conv-s', message_id: messages[1]!.message_id })
    expect(truncated.message_count).toBe(1)

    const busy = await owner.client.call('agents.chat', { agent_id: 'echo', prompt: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12', conversation_id: 'conv-s' })
    await owner.until(() => owner.events.find((e) => e.session_id === busy.session_id && e.kind === 'token'))
    await expect(watcher.client.call('conversations.delete', { conversation_id: 'conv-s' })).resolves.toEqual({ deleted: true })
    await expect(owner.terminalOf(busy.session_id)).resolves.toMatchObject({ kind: 'done', finish_reason: 'cancelled' })
    await expect(owner.client.call('conversations.get', { conversation_id: 'conv-s' })).rejects.toMatchObject({ code: ErrorCode.UnknownConversation })
    await expect(owner.client.call('conversations.delete', { conversation_id: 'conv-s' })).rejects.toMatchObject({ code: ErrorCode.UnknownConversation })
    const kinds = watcher.conversationEvents('conv-s').map((e) => e.kind)
    expect(kinds.at(-1)).toBe('conversation.deleted')
    expect(kinds.filter((k) => k === 'conversation.updated').length).toBeGreaterThanOrEqual(3) // end of turn, rename, truncate
  })

  it('a host that leaves mid-turn: the turn is recorded cancelled and the conversation is idle again', async () => {
    const h = await startHub([echo(50)])
    const leaver = new Host(h)
    const watcher = new Host(h)
    await watcher.client.call('host.subscribe')
    const turn = await leaver.client.call('agents.chat', { agent_id: 'echo', prompt: 'one two three four five six seven eight nine ten', conversation_id: 'conv-l' })
    await leaver.until(() => leaver.events.find((e) => e.session_id === turn.session_id && e.kind === 'token'))
    leaver.host.dispose()
    const idle = await watcher.until(() =>
      watcher.conversationEvents('conv-l').find((e) => e.kind === 'conversation.updated' && !(e.conversation as Conversation).busy),
    )
    expect(idle).toBeDefined()
    const { messages } = await watcher.client.call('conversations.get', { conversation_id: 'conv-l' })
    expect(messages[1]!.state).toBe('cancelled')
    expect(messages[1]!.text.length).toBeGreaterThan(0)
  })

  it('unknown conversations and unknown keys are refused with their codes', async () => {
    const h = await startHub([echo()])
    const host = new Host(h)
    await expect(host.client.call('conversations.get', { conversation_id: 'nope' })).rejects.toMatchObject({ code: ErrorCode.UnknownConversation })
    await expect(host.client.call('conversations.rename', { conversation_id: 'nope', title: 't' })).rejects.toMatchObject({
      code: ErrorCode.UnknownConversation,
    })
    const error = await host.client
      .call('conversations.list', { limit: 10, extra: true } as never)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect(error).toMatchObject({ code: ErrorCode.InvalidParams, message: expect.stringContaining('extra') })
  })
})
