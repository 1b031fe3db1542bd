import { systemClock, type Clock } from '../base/clock.js'
import { DisposableStore, type Disposable } from '../base/lifecycle.js'
import { AgentInboundSchema, AgentMethod } from '../protocol/agent-api.js'
import { KNOWN_EVENT_KINDS } from '../protocol/chat-events.js'
import { ConversationEventKind, type Conversation } from '../protocol/conversations.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import type { HubStats } from '../protocol/host-api.js'
import { approximateJsonSize } from '../protocol/json-size.js'
import { Limits } from '../protocol/limits.js'
import type { AgentSpec } from '../protocol/manifest.js'
import { AgentSupervisor, type AgentHandle } from './agent-supervisor.js'
import { ChatRouter, type AgentEventMessage } from './chat-router.js'
import { ConversationRecorder } from './conversation-recorder.js'
import { MemoryConversationStore } from './memory-conversation-store.js'
import type { ConversationStore } from './conversation-store.js'
import { HostConnection, type HostMethodTable } from './host-connection.js'
import { HostEventBus } from './host-events.js'
import type { HostTransport } from './host-transport.js'
import { silentLogger, type Logger } from './logger.js'
import type { ProcessLauncher } from './process-launcher.js'
import { ProviderService, supervisorAgentRegistry, type ProviderServiceConfig } from './provider-service.js'
import { newCounters, type HubCounters } from './stats.js'

export interface HubOptions {
  agents: AgentSpec[]
  launcher: ProcessLauncher
  clock?: Clock
  logger?: Logger
  /** §7 rule 2; default 5 s. */
  ackTimeoutMs?: number
  /** §7 rule 8; default 10 min. */
  sessionIdleMs?: number
  /** §7 rule 8; default 2 h. */
  sessionMaxAgeMs?: number
  /** How often the sweeper runs; default a quarter of the shorter timeout, between 50 ms and 1 s. */
  sweepIntervalMs?: number
  /** §8 hard cap on data queued for one host; default 32 MiB. */
  hostHardCapBytes?: number
  /** Requests one host may have awaiting an answer; default 4096. */
  maxInFlightPerHost?: number
  backoffInitialMs?: number
  backoffMaxMs?: number
  stableAfterMs?: number
  stopTimeoutMs?: number
  /** §6 v2: how long a start may take to become `running` (spawned, and ready if the agent signals it); default 30 s. */
  readyTimeoutMs?: number
  newId?: () => string
  /** §11: where conversations are kept (SQLite, or in memory for `--no-history`); default in memory. */
  conversations?: ConversationStore
  /** Where providers are kept and how their agents start (§12); without it the hub keeps none. */
  providers?: ProviderServiceConfig
}

export interface ConnectOptions {
  /** WebSocket hosts must authenticate first; IPC hosts are trusted by construction. */
  authenticate?: (token: string) => boolean
}

/**
 * The hub: a JSON-RPC 2.0 server whose clients are hosts (windows, sockets) and
 * whose agents are processes. Transport-free: hosts arrive as `HostTransport`s,
 * agents through a `ProcessLauncher`, time through a `Clock`.
 */
export class Hub implements Disposable {
  readonly supervisor: AgentSupervisor
  readonly router: ChatRouter
  readonly conversations: ConversationRecorder
  readonly counters: HubCounters = newCounters()
  readonly providers: ProviderService | null
  private readonly hosts = new Map<string, HostConnection>()
  private readonly events: HostEventBus
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly store = new DisposableStore()
  private readonly hardCapBytes: number
  private readonly maxInFlight: number
  private readonly newId: () => string
  private nextClientId = 1
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle'

  constructor(private readonly options: HubOptions) {
    this.clock = options.clock ?? systemClock
    this.logger = options.logger ?? silentLogger
    this.hardCapBytes = options.hostHardCapBytes ?? 32 * 1024 * 1024
    this.maxInFlight = options.maxInFlightPerHost ?? 4096
    this.newId = options.newId ?? (() => globalThis.crypto.randomUUID())
    this.events = new HostEventBus(this.clock, this.hosts)
    this.supervisor = this.store.add(
      new AgentSupervisor({
        launcher: options.launcher,
        clock: this.clock,
        logger: this.logger,
        backoffInitialMs: options.backoffInitialMs ?? 500,
        backoffMaxMs: options.backoffMaxMs ?? 30_000,
        stableAfterMs: options.stableAfterMs ?? 10_000,
        stopTimeoutMs: options.stopTimeoutMs ?? 3_000,
        readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
        onMessage: (agent, message) => this.onAgentMessage(agent, message),
        onExit: (agent, exit) => {
          this.logger.info('agent exited', { agent: agent.id, code: exit.code, signal: exit.signal })
          this.router.onAgentExit(agent)
        },
        sessionsActive: (agentId) => this.router.sessions.countOfAgent(agentId),
      }),
    )
    this.conversations = this.store.add(
      new ConversationRecorder(options.conversations ?? new MemoryConversationStore(), this.clock, { newId: this.newId }),
    )
    const idleMs = options.sessionIdleMs ?? 10 * 60_000
    const maxAgeMs = options.sessionMaxAgeMs ?? 2 * 60 * 60_000
    this.router = new ChatRouter({
      clock: this.clock,
      logger: this.logger,
      counters: this.counters,
      agents: this.supervisor,
      hosts: this.hosts,
      ackTimeoutMs: options.ackTimeoutMs ?? 5_000,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      sweep: { idleMs, maxAgeMs },
      newSessionId: () => `chat-${this.newId()}`,
      conversations: this.conversations,
      onConversationChanged: (kind, conversation) => this.publishConversation(kind, conversation),
    })
    this.store.add(
      this.supervisor.onDidChangeStatus(({ agent, previous }) => {
        this.events.emit('agent.status_changed', agent.id, `${agent.id}: ${previous} → ${agent.status}`, {
          status: agent.status,
          previous,
          pid: agent.pid,
          restart_count: agent.restartCount,
          last_exit_code: agent.lastExitCode,
        })
      }),
    )
    this.store.add(
      this.supervisor.onDidRegister((agent) =>
        this.events.emit('agent.registered', agent.id, `${agent.id} registered`, { agent: this.supervisor.info(agent) }),
      ),
    )
    this.store.add(
      this.supervisor.onDidUpdate((agent) =>
        this.events.emit('agent.updated', agent.id, `${agent.id} updated`, this.supervisor.info(agent)),
      ),
    )
    this.store.add(
      this.supervisor.onDidUnregister((agent) => this.events.emit('agent.unregistered', agent.id, `${agent.id} unregistered`)),
    )
    for (const spec of options.agents) this.supervisor.register(spec)
    this.providers = options.providers
      ? new ProviderService({ ...options.providers, agents: supervisorAgentRegistry(this.supervisor), logger: this.logger })
      : null
    const sweepEvery = options.sweepIntervalMs ?? Math.min(1_000, Math.max(50, Math.min(idleMs, maxAgeMs) / 4))
    this.store.add(this.clock.setInterval(() => this.router.sweep(), sweepEvery))
  }

  /**
   * Starts the agents marked `auto_start` and the saved providers; resolves when each
   * runs or failed to start, with the problems a person should hear about (a provider not restored).
   */
  async start(): Promise<string[]> {
    if (this.state !== 'idle') return []
    this.state = 'running'
    const autoStart = [...this.supervisor.all()].filter((agent) => agent.spec.auto_start)
    const [problems] = await Promise.all([
      this.providers?.restore() ?? [],
      ...autoStart.map((agent) => this.supervisor.start(agent)),
    ])
    return problems
  }

  /** Adds a host. The returned connection is disposed when the transport disconnects. */
  connectHost(transport: HostTransport, options: ConnectOptions = {}): HostConnection {
    if (this.state === 'stopping' || this.state === 'stopped') {
      transport.close('hub is shutting down')
      throw new Error('the hub is shutting down')
    }
    const clientId = `host-${this.nextClientId++}`
    const host = new HostConnection(transport, {
      clientId,
      methods: this.methods,
      hardCapBytes: this.hardCapBytes,
      maxInFlight: this.maxInFlight,
      ...(options.authenticate ? { authenticate: options.authenticate } : {}),
      onMerged: () => this.counters.events_merged++,
      onOverflow: (overflowed) => {
        this.counters.hosts_overflowed++
        this.logger.warn('host passed the queue hard cap; disconnecting it', { client: overflowed.clientId })
        overflowed.close('queue hard cap exceeded')
      },
      onInternalError: (error) => this.logger.error('internal error while answering a host', { error: String(error) }),
      onDidDisconnect: (gone) => {
        this.hosts.delete(gone.clientId)
        this.router.onHostDisconnect(gone.clientId)
      },
    })
    this.hosts.set(clientId, host)
    return host
  }

  stats(): HubStats & { hosts_overflowed: number } {
    return {
      sessions_active: this.router.sessions.size,
      hosts_connected: this.authenticatedHosts(),
      agents_running: this.supervisor.runningCount,
      ...this.counters,
      conversations: this.conversations.count(),
      history_writes_pending: this.conversations.pendingWrites,
    }
  }

  /** Ends every session with `hub_shutdown`, stops every agent, then disconnects every host. */
  async shutdown(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.state = 'stopping'
    this.router.shutdown()
    await this.supervisor.stopAll()
    // §11 rule 5: a graceful shutdown loses nothing.
    this.conversations.flush()
    for (const host of [...this.hosts.values()]) host.close('hub shut down')
    this.state = 'stopped'
    this.store.dispose()
  }

  dispose(): void {
    for (const host of [...this.hosts.values()]) host.close('hub disposed')
    this.state = 'stopped'
    this.store.dispose()
  }

  private onAgentMessage(agent: AgentHandle, raw: unknown): void {
    let parsed
    try {
      parsed = AgentInboundSchema.safeParse(raw)
    } catch {
      parsed = undefined // pathological nesting
    }
    if (!parsed?.success) {
      this.counters.events_dropped++
      this.logger.debug('dropped a malformed message from an agent', { agent: agent.id })
      return
    }
    const message = parsed.data
    if (!('method' in message) || message.method !== AgentMethod.event) {
      this.supervisor.receive(agent, message)
      return
    }
    const event = message.params
    let size = 0
    if (event.kind !== 'token') {
      const limit = KNOWN_EVENT_KINDS.has(event.kind) ? Limits.eventMaxBytes : Limits.unknownEventMaxBytes
      size = approximateJsonSize(event, limit)
      if (size < 0) {
        this.counters.events_dropped++
        this.logger.debug('dropped an oversized event from an agent', { agent: agent.id, kind: event.kind, size })
        return
      }
    }
    this.router.onAgentEvent(agent, message as AgentEventMessage, size)
  }

  private readonly methods: HostMethodTable = {
    'session.auth': (host, params) => host.authenticate(params.host_token),
    'host.subscribe': (host) => {
      host.subscribed = true
      return { client_id: host.clientId, agents: this.supervisor.list(), event_sequence: this.events.lastSequence }
    },
    'agents.list': () => ({ agents: this.supervisor.list() }),
    'agents.start': (_host, { agent_id }) => this.supervisor.start(this.agent(agent_id)),
    'agents.stop': (_host, { agent_id }) => this.supervisor.stop(this.agent(agent_id)),
    'agents.restart': (_host, { agent_id }) => this.supervisor.restart(this.agent(agent_id)),
    'agents.chat': (host, params, ctx) => this.router.chat(host, params, ctx),
    'agents.chat.cancel': (host, { session_id }, ctx) => this.router.cancel(host, session_id, ctx),
    'agents.chat.approve': (host, params) => this.router.approve(host, params),
    'hub.sessions': (host) => ({ sessions: this.router.listSessions(host) }),
    'hub.stats': () => this.stats(),
    'conversations.list': (_host, { limit, cursor }) => this.conversations.list(limit ?? 50, cursor),
    'conversations.get': (_host, { conversation_id }) => {
      const found = this.conversations.get(conversation_id)
      if (!found) throw unknownConversation(conversation_id)
      return found
    },
    'conversations.search': (_host, { query, limit }) => ({ results: this.conversations.search(query, limit ?? 50) }),
    'conversations.rename': (_host, { conversation_id, title }) => {
      const outcome = this.conversations.rename(conversation_id, title)
      if (!outcome.ok) throw new RpcError(outcome.code, outcome.message)
      this.publishConversation('updated', outcome.conversation)
      return outcome.conversation
    },
    'conversations.truncate': (_host, { conversation_id, message_id }) => {
      const outcome = this.conversations.truncate(conversation_id, message_id)
      if (!outcome.ok) throw new RpcError(outcome.code, outcome.message)
      this.publishConversation('updated', outcome.conversation)
      return outcome.conversation
    },
    'conversations.delete': (_host, { conversation_id }) => {
      const sessionId = this.conversations.sessionOf(conversation_id)
      if (!this.conversations.delete(conversation_id)) throw unknownConversation(conversation_id)
      // Its turn's owner gets `done {finish_reason: "cancelled"}` (§11 conversations.delete).
      if (sessionId !== undefined) this.router.cancelSessionOf(sessionId)
      this.events.emit(ConversationEventKind.deleted, null, `conversation ${conversation_id} deleted`, { conversation_id })
      return { deleted: true }
    },
    'providers.list': () => this.providers?.list() ?? { providers: [] },
    'providers.save': (_host, params) => this.providerService().save(params),
    'providers.delete': (_host, { id }) => this.providerService().delete(id),
  }

  private publishConversation(kind: 'created' | 'updated', conversation: Conversation): void {
    const eventKind = kind === 'created' ? ConversationEventKind.created : ConversationEventKind.updated
    this.events.emit(eventKind, null, `conversation ${conversation.conversation_id} ${kind}`, conversation)
  }

  private authenticatedHosts(): number {
    let count = 0
    for (const host of this.hosts.values()) if (host.isAuthenticated) count++
    return count
  }

  private providerService(): ProviderService {
    if (!this.providers) throw new RpcError(ErrorCode.MethodNotFound, 'this hub keeps no providers')
    return this.providers
  }

  private agent(agentId: string): AgentHandle {
    const agent = this.supervisor.get(agentId)
    if (!agent) throw new RpcError(ErrorCode.UnknownAgent, `unknown agent '${agentId}'`)
    return agent
  }
}

function unknownConversation(conversationId: string): RpcError {
  return new RpcError(ErrorCode.UnknownConversation, `unknown conversation '${conversationId}'`)
}
