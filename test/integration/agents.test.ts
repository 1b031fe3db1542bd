import { fork, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { splitWords } from '../../src/agent-sdk/stream-words.js'
import { Emitter } from '../../src/base/event.js'
import { Hub, type HubOptions } from '../../src/hub/hub.js'
import { InProcessHost, type InProcessHostOptions } from '../../src/platform/common/in-process-host.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { HostEventSchema, type HostEvent } from '../../src/protocol/agent-info.js'
import { HostChatEventSchema } from '../../src/protocol/chat-events.js'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { ManifestAgentSchema, type AgentSpec } from '../../src/protocol/manifest.js'

/**
 * The real hub with real agent processes: the built-in agents and the fixtures
 * in test/fixtures/agents, forked as TypeScript through tsx, and in-process hosts.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const TSX = ['--import', 'tsx']
const fixture = (name: string) => resolve(ROOT, 'test/fixtures/agents', `${name}.ts`)

function agent(id: string, module: string, extra: Record<string, unknown> = {}): AgentSpec {
  return ManifestAgentSchema.parse({ id, name: id, module, ...extra })
}
// Agents built on the SDK say when they are ready (§6 v2), as the built-in specs declare.
const echo = () =>
  agent('echo', resolve(ROOT, 'src/agents/echo.ts'), { env: { CARHOST_ECHO_DELAY_MS: '0' }, ready_signal: true })
const toolbox = () =>
  agent('toolbox', resolve(ROOT, 'src/agents/toolbox.ts'), { env: { CARHOST_TOOLBOX_DELAY_MS: '0' }, ready_signal: true })
const SDK_FIXTURES = new Set(['cancel-recorder', 'crash', 'flood', 'hang'])
const fixtureAgent = (name: string, extra: Record<string, unknown> = {}) =>
  agent(name, fixture(name), { ready_signal: SDK_FIXTURES.has(name), ...extra })

type ChatEvent = Record<string, unknown> & { session_id: string; agent_id: string; kind: string }

/** A host that records what the hub sends it and lets a test await conditions on it. */
class TestHost {
  readonly host: InProcessHost
  readonly events: ChatEvent[] = []
  readonly hostEvents: HostEvent[] = []
  /** Notifications that failed the protocol's schemas (should stay empty). */
  readonly invalid: unknown[] = []
  private readonly changed = new Emitter<void>()

  constructor(hub: Hub, options?: InProcessHostOptions) {
    this.host = new InProcessHost(options)
    hub.connectHost(this.host.transport)
    this.host.onNotification(({ method, params }) => {
      if (method === 'agents.chat.event') {
        if (HostChatEventSchema.safeParse(params).success) this.events.push(params as ChatEvent)
        else this.invalid.push(params)
      } else if (method === 'host.event') {
        const parsed = HostEventSchema.safeParse(params)
        if (parsed.success) this.hostEvents.push(parsed.data)
        else this.invalid.push(params)
      }
      this.changed.fire()
    })
  }

  get client() {
    return this.host.client
  }

  chat(agentId: string, prompt: string, extra: { session_id?: string; stream?: boolean } = {}) {
    return this.client.call('agents.chat', { agent_id: agentId, prompt, ...extra })
  }

  eventsOf(sessionId: string): ChatEvent[] {
    return this.events.filter((e) => e.session_id === sessionId)
  }

  kindsOf(sessionId: string): string[] {
    return this.eventsOf(sessionId).map((e) => e.kind)
  }

  textOf(sessionId: string): string {
    return this.eventsOf(sessionId)
      .filter((e) => e.kind === 'token')
      .map((e) => e.delta)
      .join('')
  }

  /** Resolves with the probe's first non-undefined value, checked now and after every notification. */
  until<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
    const now = probe()
    if (now !== undefined) return Promise.resolve(now)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose()
        reject(new Error(`timed out waiting for ${what}`))
      }, timeoutMs)
      const sub = this.changed.event(() => {
        const value = probe()
        if (value === undefined) return
        clearTimeout(timer)
        sub.dispose()
        resolve(value)
      })
    })
  }

  event(sessionId: string, kind: string, where: (e: ChatEvent) => boolean = () => true): Promise<ChatEvent> {
    return this.until(() => this.eventsOf(sessionId).find((e) => e.kind === kind && where(e)), `'${kind}' of ${sessionId}`)
  }

  terminal(sessionId: string): Promise<ChatEvent> {
    return this.until(() => this.eventsOf(sessionId).find((e) => e.kind === 'done' || e.kind === 'error'), `the end of ${sessionId}`)
  }

  statusChange(agentId: string, status: string, afterSequence = 0): Promise<HostEvent> {
    return this.until(
      () =>
        this.hostEvents.find(
          (e) => e.kind === 'agent.status_changed' && e.agent_id === agentId && e.payload.status === status && e.sequence > afterSequence,
        ),
      `${agentId} → ${status}`,
    )
  }
}

interface Rig {
  hub: Hub
  launcher: ChildProcessLauncher
  hosts: TestHost[]
  connect(options?: InProcessHostOptions): TestHost
  pid(agentId: string): number
}

const rigs: Rig[] = []

async function startHub(agents: AgentSpec[], options: Partial<HubOptions> = {}): Promise<Rig> {
  const launcher = new ChildProcessLauncher({ execArgv: TSX })
  // A generous ack window: agents load through tsx, and only tests of the window itself shorten it.
  const hub = new Hub({ agents, launcher, backoffInitialMs: 50, stopTimeoutMs: 3_000, ackTimeoutMs: 30_000, ...options })
  const rig: Rig = {
    hub,
    launcher,
    hosts: [],
    connect(hostOptions) {
      const host = new TestHost(hub, hostOptions)
      rig.hosts.push(host)
      return host
    },
    pid(agentId) {
      const pid = hub.supervisor.get(agentId)?.pid
      if (typeof pid !== 'number') throw new Error(`${agentId} has no pid`)
      return pid
    },
  }
  rigs.push(rig)
  await hub.start()
  for (const spec of agents) if (spec.auto_start) expect(hub.supervisor.get(spec.id)?.status).toBe('running')
  return rig
}

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.hub.shutdown()
    rig.launcher.dispose()
    for (const host of rig.hosts) expect(host.invalid).toEqual([])
  }
})

/** Alive and not a zombie (a reparented child may linger as one until something reaps it). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** For conditions no event announces: checks every few ms, up to a deadline. */
async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function rpcError(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof RpcError) return error
    throw error
  }
  throw new Error('expected a JSON-RPC error')
}

function words(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`).join(' ')
}

describe('built-in agents', () => {
  it('echo streams the prompt back word by word, whitespace intact, then done with the full text', async () => {
    const rig = await startHub([echo()])
    const host = rig.connect()
    const prompt = '  Hello,   hub!\n\tsecond line  '
    const { session_id } = await host.chat('echo', prompt)
    expect(await host.terminal(session_id)).toEqual({
      session_id,
      agent_id: 'echo',
      kind: 'done',
      finish_reason: 'stop',
      text: prompt,
    })
    // Word by word; words that arrive before the result is out are held and merged (§8 v2).
    const tokens = host.eventsOf(session_id).map((e) => (e.kind === 'token' ? (e.delta as string) : `<${e.kind}>`))
    expect(tokens.at(-1)).toBe('<done>')
    expect(tokens.slice(0, -1).flatMap((token) => splitWords(token))).toEqual(['  Hello,   ', 'hub!\n\t', 'second ', 'line  '])

    const whole = await host.chat('echo', 'no stream please', { stream: false })
    expect(await host.terminal(whole.session_id)).toMatchObject({ kind: 'done', text: 'no stream please' })
    expect(host.kindsOf(whole.session_id)).toEqual(['done'])
    expect(rig.hub.stats().sessions_active).toBe(0)
  })

  it('toolbox runs clock and word_count at once, with tool_call and tool_result', async () => {
    const rig = await startHub([toolbox()])
    const host = rig.connect()
    const time = await host.chat('toolbox', 'What time is it?')
    const done = await host.terminal(time.session_id)
    const [call, result] = host.eventsOf(time.session_id)
    expect(call).toMatchObject({ kind: 'tool_call', tool: 'clock', call_id: expect.any(String) })
    expect(result).toMatchObject({ kind: 'tool_result', call_id: call!.call_id, ok: true })
    expect(new Date(result!.excerpt as string).toISOString()).toBe(result!.excerpt)
    expect(done).toMatchObject({ kind: 'done', finish_reason: 'stop', text: expect.stringContaining(result!.excerpt as string) })
    expect(host.textOf(time.session_id)).toBe(done.text)

    const count = await host.chat('toolbox', 'count words in "the quick brown fox"')
    expect(await host.terminal(count.session_id)).toMatchObject({ kind: 'done', text: 'That text has 4 words.' })
    expect(host.eventsOf(count.session_id)[1]).toMatchObject({ kind: 'tool_result', ok: true, excerpt: '4' })

    const help = await host.chat('toolbox', 'hello there')
    expect(await host.terminal(help.session_id)).toMatchObject({ kind: 'done', text: expect.stringContaining('calculate 2 + 3 * 4') })
    expect(host.kindsOf(help.session_id).filter((k) => k !== 'token')).toEqual(['done'])
  })

  it('toolbox asks approval before calculating; approved → result', async () => {
    const rig = await startHub([toolbox()])
    const host = rig.connect()
    const stranger = rig.connect()
    const { session_id } = await host.chat('toolbox', 'calculate 2 + 3 * 4')
    const pending = await host.event(session_id, 'approval_pending')
    expect(pending).toMatchObject({ tool: 'calculate', params: { expression: '2 + 3 * 4' }, approval_id: expect.any(String) })
    const approvalId = pending.approval_id as string
    expect((await rpcError(stranger.client.call('agents.chat.approve', { session_id, approval_id: approvalId, decision: true }))).code).toBe(
      ErrorCode.Forbidden,
    )
    expect(await host.client.call('agents.chat.approve', { session_id, approval_id: 'not-it', decision: true })).toEqual({
      resolved: false,
      session_id,
    })
    expect(await host.client.call('agents.chat.approve', { session_id, approval_id: approvalId, decision: true })).toEqual({
      resolved: true,
      session_id,
    })
    expect(await host.terminal(session_id)).toMatchObject({ kind: 'done', text: '2 + 3 * 4 = 14' })
    const events = host.eventsOf(session_id)
    expect(events.map((e) => e.kind).filter((k) => k !== 'token')).toEqual([
      'tool_call',
      'status',
      'approval_pending',
      'approval_resolved',
      'tool_result',
      'done',
    ])
    expect(events.find((e) => e.kind === 'approval_resolved')).toMatchObject({ approval_id: approvalId, resolution: 'approve' })
    expect(events.find((e) => e.kind === 'tool_result')).toMatchObject({ call_id: events[0]!.call_id, ok: true, excerpt: '14' })
    expect(host.textOf(session_id)).toBe('2 + 3 * 4 = 14')
    expect(await host.client.call('agents.chat.approve', { session_id, approval_id: approvalId, decision: true })).toEqual({
      resolved: false,
      session_id,
    })
  })

  it('toolbox asks approval before calculating; denied → says so and finishes without calculating', async () => {
    const rig = await startHub([toolbox()])
    const host = rig.connect()
    const { session_id } = await host.chat('toolbox', 'calculate 6 * 7')
    const pending = await host.event(session_id, 'approval_pending')
    expect(await host.client.call('agents.chat.approve', { session_id, approval_id: pending.approval_id as string, decision: false })).toEqual({
      resolved: true,
      session_id,
    })
    const done = await host.terminal(session_id)
    expect(done).toMatchObject({ kind: 'done', finish_reason: 'stop', text: expect.stringMatching(/denied/) })
    expect(done.text).not.toMatch(/42/)
    expect(host.eventsOf(session_id).find((e) => e.kind === 'approval_resolved')).toMatchObject({ resolution: 'deny' })
    expect(host.eventsOf(session_id).find((e) => e.kind === 'tool_result')).toMatchObject({ ok: false, excerpt: 'denied by the user' })
  })
})

describe('sessions', () => {
  it('gives two hosts on one agent two independent streams at once', async () => {
    const rig = await startHub([echo()])
    const a = rig.connect()
    const b = rig.connect()
    const promptA = words('a', 300)
    const promptB = words('b', 300)
    const [chatA, chatB] = await Promise.all([a.chat('echo', promptA), b.chat('echo', promptB)])
    const [doneA, doneB] = await Promise.all([a.terminal(chatA.session_id), b.terminal(chatB.session_id)])
    expect(doneA.text).toBe(promptA)
    expect(doneB.text).toBe(promptB)
    expect(a.textOf(chatA.session_id)).toBe(promptA)
    expect(b.textOf(chatB.session_id)).toBe(promptB)
    expect(a.events.every((e) => e.session_id === chatA.session_id)).toBe(true)
    expect(b.events.every((e) => e.session_id === chatB.session_id)).toBe(true)
    // Each got its 300 words as tokens (those held before the result merged, §8 v2).
    const wordsOf = (host: TestHost, sessionId: string) =>
      host.eventsOf(sessionId).flatMap((e) => (e.kind === 'token' ? splitWords(e.delta as string) : []))
    expect(wordsOf(a, chatA.session_id)).toHaveLength(300)
    expect(wordsOf(b, chatB.session_id)).toHaveLength(300)
  })

  it('lets the owner cancel ({cancelled: true}, then done "cancelled"), the agent sees it, a stranger cannot', async () => {
    const rig = await startHub([fixtureAgent('cancel-recorder')])
    const watcher = rig.connect()
    const owner = rig.connect()
    const stranger = rig.connect()
    const watch = await watcher.chat('cancel-recorder', 'watch')
    await owner.chat('cancel-recorder', 'work', { session_id: 'job-1' })
    await owner.event('job-1', 'token')

    expect((await rpcError(stranger.client.call('agents.chat.cancel', { session_id: 'job-1' }))).code).toBe(ErrorCode.Forbidden)
    expect(await owner.client.call('hub.sessions')).toMatchObject({ sessions: [{ session_id: 'job-1', agent_id: 'cancel-recorder' }] })
    expect(rig.hub.stats().sessions_active).toBe(2)

    expect(await owner.client.call('agents.chat.cancel', { session_id: 'job-1' })).toEqual({ cancelled: true })
    const done = await owner.terminal('job-1')
    expect(done).toEqual({ session_id: 'job-1', agent_id: 'cancel-recorder', kind: 'done', finish_reason: 'cancelled' })
    // The result came before the terminal event.
    const received = owner.host.received as Array<{ result?: unknown; params?: { kind?: string } }>
    const resultAt = received.findIndex((m) => (m.result as { cancelled?: boolean } | undefined)?.cancelled === true)
    const doneAt = received.findIndex((m) => m.params?.kind === 'done')
    expect(resultAt).toBeGreaterThanOrEqual(0)
    expect(resultAt).toBeLessThan(doneAt)

    await watcher.event(watch.session_id, 'cancel_seen', (e) => e.cancelled === 'job-1')
    expect(await owner.client.call('agents.chat.cancel', { session_id: 'job-1' })).toEqual({ cancelled: false })
    expect(owner.kindsOf('job-1')).toEqual(['token', 'done'])
    expect(stranger.events).toEqual([])
  })

  it('cancels at the agent every session of a host that disconnects mid-stream', async () => {
    const rig = await startHub([fixtureAgent('cancel-recorder')])
    const watcher = rig.connect()
    const leaver = rig.connect()
    const watch = await watcher.chat('cancel-recorder', 'watch')
    const first = await leaver.chat('cancel-recorder', 'work')
    const second = await leaver.chat('cancel-recorder', 'work')
    await leaver.event(first.session_id, 'token')
    await leaver.event(second.session_id, 'token')
    leaver.host.dispose()
    await watcher.event(watch.session_id, 'cancel_seen', (e) => e.cancelled === first.session_id)
    await watcher.event(watch.session_id, 'cancel_seen', (e) => e.cancelled === second.session_id)
    expect(rig.hub.stats()).toMatchObject({ sessions_active: 1, hosts_connected: 1 })
  })

  it('holds every event of a batch member until the batch is answered: all the text, then done (§8 v2)', async () => {
    const rig = await startHub([echo(), fixtureAgent('slow-ack', { env: { CARHOST_ACK_DELAY_MS: '3000' } })])
    const host = rig.connect()
    const prompt = words('w', 20_000)
    const chat = (id: string, agentId: string, sessionId: string, text: string) => ({
      jsonrpc: '2.0',
      id,
      method: 'agents.chat',
      params: { agent_id: agentId, prompt: text, session_id: sessionId },
    })
    // The batch is answered once both chats are acknowledged, so echo's whole reply is held meanwhile.
    host.host.sendRaw([chat('b1', 'echo', 'big', prompt), chat('b2', 'slow-ack', 'slow', 'x')])
    expect(await host.terminal('big')).toMatchObject({ kind: 'done', text: prompt })
    expect(host.textOf('big')).toBe(prompt)
    expect(await host.terminal('slow')).toMatchObject({ kind: 'done', text: 'late' })
    const received = host.host.received
    const answer = received.findIndex((m) => Array.isArray(m))
    expect(received[answer]).toEqual([expect.objectContaining({ id: 'b1' }), expect.objectContaining({ id: 'b2' })])
    const firstEvent = received.findIndex((m) => (m as { params?: { session_id?: string } }).params?.session_id === 'big')
    expect(answer).toBeLessThan(firstEvent)
    expect(rig.hub.stats()).toMatchObject({ events_dropped: 0, sessions_active: 0 })
  })

  it('refuses a session_id already in flight (-32012) and leaves the existing session untouched', async () => {
    const rig = await startHub([fixtureAgent('hang'), echo()])
    const owner = rig.connect()
    const other = rig.connect()
    expect(await owner.chat('hang', 'first', { session_id: 'dup' })).toEqual({ accepted: true, session_id: 'dup' })
    expect((await rpcError(other.chat('hang', 'second', { session_id: 'dup' }))).code).toBe(ErrorCode.SessionInFlight)
    expect((await rpcError(other.chat('echo', 'second', { session_id: 'dup' }))).code).toBe(ErrorCode.SessionInFlight)
    expect((await rpcError(owner.chat('hang', 'again', { session_id: 'dup' }))).code).toBe(ErrorCode.SessionInFlight)
    expect(await owner.client.call('hub.sessions')).toMatchObject({ sessions: [{ session_id: 'dup', agent_id: 'hang' }] })
    expect(await other.client.call('hub.sessions')).toEqual({ sessions: [] })
    expect(await owner.client.call('agents.chat.cancel', { session_id: 'dup' })).toEqual({ cancelled: true })
    expect(await owner.terminal('dup')).toMatchObject({ kind: 'done', finish_reason: 'cancelled' })
    expect(owner.kindsOf('dup')).toEqual(['done'])
    expect(other.events).toEqual([])
  })

  it('times out an agent that never acknowledges (-32004) and sends it agent.chat.cancel', async () => {
    const rig = await startHub([fixtureAgent('no-ack')], { ackTimeoutMs: 400 })
    const watcher = rig.connect()
    const host = rig.connect()
    // The short ack window also applies while the agent is still loading: retry the watcher until it is up.
    let watch: { session_id: string } | undefined
    for (let attempt = 0; watch === undefined; attempt++) {
      try {
        watch = await watcher.chat('no-ack', 'watch')
      } catch (error) {
        if (!(error instanceof RpcError && error.code === ErrorCode.AckTimeout) || attempt >= 20) throw error
      }
    }
    const error = await rpcError(host.chat('no-ack', 'hello?', { session_id: 'silent' }))
    expect(error.code).toBe(ErrorCode.AckTimeout)
    await watcher.event(watch.session_id, 'cancel_seen', (e) => e.cancelled === 'silent')
    expect(await host.client.call('hub.sessions')).toEqual({ sessions: [] })
    expect(host.events).toEqual([])
    expect(rig.hub.stats().sessions_active).toBe(1)
  })

  it('ends a session whose agent never finishes with session_expired (sweeper)', async () => {
    const rig = await startHub([fixtureAgent('hang')], { sessionIdleMs: 300, sweepIntervalMs: 50 })
    const host = rig.connect()
    const { session_id } = await host.chat('hang', 'forever')
    expect(await host.terminal(session_id)).toMatchObject({ kind: 'error', code: 'session_expired', agent_id: 'hang' })
    expect(host.kindsOf(session_id)).toEqual(['error'])
    expect(rig.hub.stats()).toMatchObject({ sessions_active: 0, sessions_expired: 1 })
  })
})

describe('misbehaving agents', () => {
  it('ends the session with agent_exited when the agent crashes mid-stream, then restarts it with backoff', async () => {
    const rig = await startHub([fixtureAgent('crash')], { backoffInitialMs: 100 })
    const host = rig.connect()
    await host.client.call('host.subscribe')
    const firstPid = rig.pid('crash')
    const { session_id } = await host.chat('crash', 'crash')
    expect(await host.terminal(session_id)).toMatchObject({ kind: 'error', code: 'agent_exited', agent_id: 'crash' })
    expect(host.textOf(session_id)).toBe('one two three')
    // Tokens that arrive before the result is out are merged (§8 v2); nothing else is.
    expect(host.kindsOf(session_id).filter((k) => k !== 'token')).toEqual(['status', 'error'])
    expect(host.kindsOf(session_id).slice(-2)).toEqual(['status', 'error'])

    const backoff = await host.statusChange('crash', 'backoff')
    expect(backoff.payload).toMatchObject({ previous: 'running', last_exit_code: 3 })
    const starting = await host.statusChange('crash', 'starting', backoff.sequence)
    const running = await host.statusChange('crash', 'running', starting.sequence)
    expect(running.payload).toMatchObject({ previous: 'starting', restart_count: 1 })
    expect(isAlive(firstPid)).toBe(false)
    expect(rig.pid('crash')).not.toBe(firstPid)
    const [info] = (await host.client.call('agents.list')).agents
    expect(info).toMatchObject({ id: 'crash', status: 'running', restart_count: 1, last_exit_code: 3, sessions_active: 0 })

    const again = await host.chat('crash', 'still there?')
    expect(await host.terminal(again.session_id)).toMatchObject({ kind: 'done', text: 'still there?' })
  })

  it('drops events for sessions the agent does not own, counts them, and never delivers them', async () => {
    const rig = await startHub([fixtureAgent('hang'), fixtureAgent('foreign')])
    const victim = rig.connect()
    const attacker = rig.connect()
    await victim.chat('hang', 'mine', { session_id: 'victim' })
    const before = rig.hub.stats().events_dropped
    const { session_id } = await attacker.chat('foreign', 'foreign:victim,ghost')
    // Its own done comes after the forged events on the same channel, so they have been handled.
    expect(await attacker.terminal(session_id)).toMatchObject({ kind: 'done', text: 'own' })
    expect(rig.hub.stats().events_dropped - before).toBe(4)
    expect(victim.events).toEqual([])
    expect(attacker.eventsOf('victim')).toEqual([])
    expect(attacker.eventsOf('ghost')).toEqual([])
    expect(await victim.client.call('hub.sessions')).toMatchObject({ sessions: [{ session_id: 'victim', agent_id: 'hang' }] })
  })

  it('drops and counts events that arrive after a session ended', async () => {
    const rig = await startHub([fixtureAgent('late')])
    const host = rig.connect()
    const { session_id } = await host.chat('late', 'late')
    expect(await host.terminal(session_id)).toMatchObject({ kind: 'done', text: 'on time' })
    const fence = await host.chat('late', 'fence')
    await host.terminal(fence.session_id)
    expect(rig.hub.stats().events_dropped).toBe(4)
    expect(host.eventsOf(session_id).map((e) => e.kind)).toEqual(['token', 'done'])
    expect(host.textOf(session_id)).toBe('on time')
  })

  it('drops and counts malformed and oversized agent messages while the agent keeps working', async () => {
    const rig = await startHub([fixtureAgent('malformed')])
    const host = rig.connect()
    const pid = rig.pid('malformed')
    const { session_id } = await host.chat('malformed', 'go')
    expect(await host.terminal(session_id)).toMatchObject({ kind: 'done', text: 'valid tokens' })
    const events = host.eventsOf(session_id)
    expect(events.map((e) => e.kind)).toEqual(['token', 'token', 'malformed_sent', 'done'])
    const junk = events[2]!.count as number
    expect(junk).toBeGreaterThan(15)
    expect(rig.hub.stats().events_dropped).toBe(junk)
    expect(host.textOf(session_id)).toBe('valid tokens')
    expect(Object.keys(events[1]!).sort()).toEqual(['agent_id', 'delta', 'kind', 'session_id'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()

    const again = await host.chat('malformed', 'again')
    expect(await host.terminal(again.session_id)).toMatchObject({ kind: 'done', text: 'valid tokens' })
    expect(rig.hub.stats().events_dropped).toBe(2 * junk)
    expect(rig.hub.supervisor.get('malformed')).toMatchObject({ status: 'running', pid, restartCount: 0 })
  })

  it('keeps serving everyone while one host stops reading, merging its tokens, and loses none of its text', async () => {
    const rig = await startHub([fixtureAgent('flood'), echo()])
    const slow = rig.connect({ highWaterBytes: 4096 })
    const busy = rig.connect()
    const flood = await slow.chat('flood', 'flood 20000')
    slow.host.pause()
    const prompt = words('w', 200)
    const chat = await busy.chat('echo', prompt)
    expect(await busy.terminal(chat.session_id)).toMatchObject({ kind: 'done', text: prompt })
    expect(busy.textOf(chat.session_id)).toBe(prompt)
    // The flood finished at the hub while its host was not reading.
    await eventually(() => !rig.hub.router.sessions.has(flood.session_id), 'the flood to end at the hub')
    expect(slow.host.isConnected).toBe(true)
    expect(rig.hub.stats().events_merged).toBeGreaterThan(0)

    slow.host.resume()
    const done = await slow.terminal(flood.session_id)
    const expected = Array.from({ length: 20_000 }, (_, i) => `t${i} `).join('')
    expect(slow.textOf(flood.session_id)).toBe(expected)
    expect(done).toMatchObject({ kind: 'done', finish_reason: 'stop', text: expected })
    const tokenEvents = slow.kindsOf(flood.session_id).filter((k) => k === 'token').length
    expect(tokenEvents).toBeLessThan(20_000)
    // The busy host's words held before its result merged too (§8 v2).
    const busyMerged = 200 - busy.kindsOf(chat.session_id).filter((k) => k === 'token').length
    expect(tokenEvents + rig.hub.stats().events_merged - busyMerged).toBe(20_000)
  })
})

describe('agent lifecycle', () => {
  it('stops, starts and restarts an agent; stopped agents refuse chats', async () => {
    const rig = await startHub([echo()])
    const host = rig.connect()
    await host.client.call('host.subscribe')
    const firstPid = rig.pid('echo')
    // Once it has answered, the agent's SIGTERM handler is surely installed.
    const first = await host.chat('echo', 'ready?')
    await host.terminal(first.session_id)

    const stopped = await host.client.call('agents.stop', { agent_id: 'echo' })
    // The SDK exits cleanly (code 0) on SIGTERM.
    expect(stopped).toMatchObject({ status: 'stopped', pid: null, last_exit_code: 0 })
    expect(isAlive(firstPid)).toBe(false)
    await host.statusChange('echo', 'stopped')
    expect((await rpcError(host.chat('echo', 'anyone?'))).code).toBe(ErrorCode.AgentUnavailable)

    const started = await host.client.call('agents.start', { agent_id: 'echo' })
    expect(started).toMatchObject({ status: 'running', pid: expect.any(Number) })
    expect(started.pid).not.toBe(firstPid)
    const hello = await host.chat('echo', 'hello again')
    expect(await host.terminal(hello.session_id)).toMatchObject({ kind: 'done', text: 'hello again' })

    const restarted = await host.client.call('agents.restart', { agent_id: 'echo' })
    expect(restarted).toMatchObject({ status: 'running', restart_count: started.restart_count + 1 })
    expect(restarted.pid).not.toBe(started.pid)
    expect(isAlive(started.pid!)).toBe(false)
    const third = await host.chat('echo', 'third life')
    expect(await host.terminal(third.session_id)).toMatchObject({ kind: 'done', text: 'third life' })
  })

  it('kills an agent that ignores SIGTERM once the stop timeout passes', async () => {
    const rig = await startHub([fixtureAgent('stubborn')], { stopTimeoutMs: 300 })
    const host = rig.connect()
    const pid = rig.pid('stubborn')
    const { session_id } = await host.chat('stubborn', 'pid?')
    expect(await host.terminal(session_id)).toMatchObject({ text: String(pid) })
    expect(await host.client.call('agents.stop', { agent_id: 'stubborn' })).toMatchObject({ status: 'stopped', last_exit_code: null })
    expect(isAlive(pid)).toBe(false)
  })

  it('ends open sessions with hub_shutdown and leaves no agent process alive on shutdown', async () => {
    const rig = await startHub([echo(), toolbox(), fixtureAgent('hang'), fixtureAgent('stubborn')], { stopTimeoutMs: 500 })
    const host = rig.connect()
    const pids = ['echo', 'toolbox', 'hang', 'stubborn'].map((id) => rig.pid(id))
    expect(pids.every(isAlive)).toBe(true)
    const { session_id } = await host.chat('hang', 'until shutdown')
    await rig.hub.shutdown()
    expect(host.eventsOf(session_id)).toEqual([
      { session_id, agent_id: 'hang', kind: 'error', error: expect.any(String), code: 'hub_shutdown' },
    ])
    expect(pids.filter(isAlive)).toEqual([])
    expect(rig.launcher.alive).toEqual([])
    expect(host.host.isConnected).toBe(false)
  })
})

describe('ChildProcessLauncher', () => {
  it('reports spawn, messages and exit, and never posts to a dead child', async () => {
    const launcher = new ChildProcessLauncher({ execArgv: TSX })
    const child = launcher.launch({ id: 'hang', module: fixture('hang'), args: [], env: {} })
    const messages: unknown[] = []
    child.onMessage((m) => messages.push(m))
    await new Promise<void>((resolve) => child.onDidSpawn(() => resolve()))
    expect(child.pid).toEqual(expect.any(Number))
    const acked = new Promise<void>((resolve) => child.onMessage((m) => (m as { id?: unknown }).id === 1 && resolve()))
    const params = { session_id: 's1', prompt: 'x', stream: true, context: { host_client_id: 'h' } }
    child.postMessage({ jsonrpc: '2.0', id: 1, method: 'agent.chat', params })
    await acked
    expect(messages).toEqual([
      { jsonrpc: '2.0', method: 'agent.ready', params: {} },
      { jsonrpc: '2.0', id: 1, result: { accepted: true, session_id: 's1' } },
    ])
    const exited = new Promise((resolve) => child.onDidExit(resolve))
    child.kill(true)
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(() => child.postMessage({ jsonrpc: '2.0', method: 'agent.chat.cancel', params: { session_id: 's1' } })).not.toThrow()
    expect(launcher.alive).toEqual([])
    expect(isAlive(child.pid!)).toBe(false)
  })

  it('passes the hub environment, the manifest env and CARHOST_AGENT_ID to the agent', async () => {
    const launcher = new ChildProcessLauncher({ execArgv: TSX, baseEnv: { ...process.env, FROM_HUB: 'hub' } })
    const rig = { launcher }
    const hub = new Hub({
      agents: [agent('env-echo', resolve(ROOT, 'src/agents/echo.ts'), { env: { CARHOST_ECHO_DELAY_MS: '0' } })],
      launcher: rig.launcher,
    })
    await hub.start()
    try {
      const pid = hub.supervisor.get('env-echo')!.pid!
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
      expect(environ).toContain('FROM_HUB=hub')
      expect(environ).toContain('CARHOST_ECHO_DELAY_MS=0')
      expect(environ).toContain('CARHOST_AGENT_ID=env-echo')
    } finally {
      await hub.shutdown()
      launcher.dispose()
    }
  })

  it('kills every agent still alive when the hub process exits (no orphans)', async () => {
    // A hub process that starts an agent ignoring SIGTERM and disconnects, prints its pid, then exits.
    const script = `
      import { ChildProcessLauncher } from ${JSON.stringify(resolve(ROOT, 'src/platform/node/child-process-launcher.ts'))}
      const launcher = new ChildProcessLauncher({ execArgv: ['--import', 'tsx'] })
      const agent = launcher.launch({ id: 'stubborn', module: ${JSON.stringify(fixture('stubborn'))}, args: [], env: {} })
      const reported = agent.onMessage(() => {
        reported.dispose()
        process.stdout.write(agent.pid + '\\n', () => process.exit(0))
      })
      agent.onDidSpawn(() => agent.postMessage({ jsonrpc: '2.0', id: 1, method: 'agent.chat',
        params: { session_id: 's', prompt: 'x', stream: true, context: { host_client_id: 'h' } } }))
    `
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    // The agent inherits the parent's stdout, so wait for the parent's exit, not for its pipes to close.
    const exited = new Promise((resolve) => parent.on('exit', resolve))
    const pid = await new Promise<number>((resolve) => {
      let out = ''
      parent.stdout.on('data', (chunk) => {
        out += chunk
        if (out.includes('\n')) resolve(Number(out.trim()))
      })
    })
    try {
      expect(pid).toBeGreaterThan(0)
      expect(await exited).toBe(0)
      await eventually(() => !isAlive(pid), `agent ${pid} to die with its hub`)
    } finally {
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL')
    }
  })

  it('an SDK agent exits cleanly when its hub disconnects', async () => {
    const child = fork(resolve(ROOT, 'src/agents/echo.ts'), [], { execArgv: TSX, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const acked = new Promise((resolve) => child.on('message', (m) => (m as { id?: unknown }).id === 1 && resolve(m)))
    child.send({ jsonrpc: '2.0', id: 1, method: 'agent.chat', params: { session_id: 's', prompt: 'x', stream: true, context: { host_client_id: 'h' } } })
    expect(await acked).toEqual({ jsonrpc: '2.0', id: 1, result: { accepted: true, session_id: 's' } })
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    child.disconnect()
    expect(await exited).toEqual({ code: 0, signal: null })
  })
})
