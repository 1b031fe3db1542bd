import { fork, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { z } from 'zod'
import { providerAgentEnv, type ProviderSettings } from '../../../src/agents/provider/settings.js'
import { Emitter } from '../../../src/base/event.js'
import { AgentMethod, AgentToolsParamsSchema, type AgentChatParams, type AgentToolsParams } from '../../../src/protocol/agent-api.js'
import { AgentChatEventSchema } from '../../../src/protocol/chat-events.js'
import { RpcPeer } from '../../../src/protocol/rpc-peer.js'

/**
 * The provider agent as a real process, forked through tsx and driven over its
 * fork IPC channel exactly as the hub drives an agent (PROTOCOL.md §6).
 */
const ROOT = resolve(import.meta.dirname, '../../..')
const MODULE = resolve(ROOT, 'src/agents/provider/provider-agent.ts')

const ModelsParamsSchema = z.strictObject({
  models: z.array(z.strictObject({ id: z.string().min(1).max(256), name: z.string().optional() })).max(1000),
  default_model: z.string().optional(),
})
export type ModelsParams = z.infer<typeof ModelsParamsSchema>

/** An event as the agent sent it (it passed `AgentChatEventSchema`), loosely typed for assertions. */
export type SentEvent = Record<string, unknown> & { session_id: string; kind: string }

export interface ProviderAgentOptions {
  settings: ProviderSettings
  apiKey?: string | null
  dataDir?: string | null
  /** Extra variables, e.g. the timeouts. */
  env?: Record<string, string>
}

export class ProviderAgentProcess {
  readonly events: SentEvent[] = []
  readonly modelAnnouncements: ModelsParams[] = []
  /** Every `agent.tools` the agent sent, in order. */
  readonly toolAnnouncements: AgentToolsParams[] = []
  /** Messages from the agent that fit no schema (should stay empty). */
  readonly invalid: unknown[] = []
  /** Every message the agent sent, as sent. */
  readonly raw: unknown[] = []
  stderr = ''
  private readonly changed = new Emitter<void>()
  private readonly peer: RpcPeer
  private readonly exited: Promise<number | null>
  private sessions = 0

  private constructor(private readonly child: ChildProcess) {
    this.peer = new RpcPeer({
      send: (message) => {
        if (child.connected) child.send(message)
      },
      requestTimeoutMs: 0,
      handleNotification: (method, params) => this.onNotification(method, params),
    })
    child.on('message', (message) => {
      this.raw.push(message)
      this.peer.receive(message)
      this.changed.fire()
    })
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk
      this.changed.fire()
    })
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  static start(options: ProviderAgentOptions): ProviderAgentProcess {
    const child = fork(MODULE, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        CARHOST_AGENT_ID: 'provider-under-test',
        ...providerAgentEnv(options.settings, options.apiKey ?? null, options.dataDir ?? null),
        ...options.env,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    })
    return new ProviderAgentProcess(child)
  }

  get pid(): number {
    return this.child.pid!
  }

  private onNotification(method: string, params: unknown): void {
    if (method === AgentMethod.event) {
      const parsed = AgentChatEventSchema.safeParse(params)
      // Kept as sent: a schema that strips a field must not hide it from the assertions.
      if (parsed.success) this.events.push(params as SentEvent)
      else this.invalid.push(params)
    } else if (method === 'agent.models') {
      const parsed = ModelsParamsSchema.safeParse(params)
      if (parsed.success) this.modelAnnouncements.push(parsed.data)
      else this.invalid.push(params)
    } else if (method === AgentMethod.tools) {
      const parsed = AgentToolsParamsSchema.safeParse(params)
      // Kept as sent, like events.
      if (parsed.success) this.toolAnnouncements.push(params as AgentToolsParams)
      else this.invalid.push(params)
    } else if (method !== 'agent.ready') {
      this.invalid.push({ method, params })
    }
  }

  /** Sends `agent.chat`; resolves with the acknowledgement. */
  chat(prompt: string, extra: Partial<AgentChatParams> = {}): Promise<{ sessionId: string; ack: unknown }> {
    const sessionId = extra.session_id ?? `s-${++this.sessions}`
    const params: AgentChatParams = { session_id: sessionId, prompt, stream: true, context: { host_client_id: 'host-1' }, ...extra }
    return this.peer.request(AgentMethod.chat, params).then((ack) => ({ sessionId, ack }))
  }

  cancel(sessionId: string): void {
    this.peer.notify(AgentMethod.cancel, { session_id: sessionId })
  }

  approve(sessionId: string, approvalId: string, decision: boolean): Promise<unknown> {
    return this.peer.request(AgentMethod.approve, { session_id: sessionId, approval_id: approvalId, decision })
  }

  eventsOf(sessionId: string): SentEvent[] {
    return this.events.filter((e) => e.session_id === sessionId)
  }

  kindsOf(sessionId: string): string[] {
    return this.eventsOf(sessionId).map((e) => e.kind)
  }

  textOf(sessionId: string): string {
    return this.eventsOf(sessionId)
      .map((e) => (e.kind === 'token' ? (e.delta as string) : ''))
      .join('')
  }

  /** Resolves with the probe's first non-undefined value, checked now and after every message. */
  until<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    const now = probe()
    if (now !== undefined) return Promise.resolve(now)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose()
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`))
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

  event(sessionId: string, kind: string, where: (e: SentEvent) => boolean = () => true): Promise<SentEvent> {
    return this.until(() => this.eventsOf(sessionId).find((e) => e.kind === kind && where(e)), `'${kind}' of ${sessionId}`)
  }

  terminal(sessionId: string): Promise<SentEvent> {
    return this.until(() => this.eventsOf(sessionId).find((e) => e.kind === 'done' || e.kind === 'error'), `the end of ${sessionId}`)
  }

  /** The first `agent.models` the agent sends. */
  models(): Promise<ModelsParams> {
    return this.until(() => this.modelAnnouncements[0], 'agent.models')
  }

  /** SIGTERM, as the hub stops an agent; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    const code = await this.exited
    this.peer.dispose()
    this.changed.dispose()
    return code
  }

  whenExited(): Promise<number | null> {
    return this.exited
  }
}
