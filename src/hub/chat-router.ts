import type { Clock } from '../base/clock.js'
import { AgentChatResultSchema, AgentApproveResultSchema, AgentMethod } from '../protocol/agent-api.js'
import { HubErrorCode, isTerminalKind, type AgentChatEvent } from '../protocol/chat-events.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import { RequestTimeoutError } from '../protocol/rpc-peer.js'
import { HostNotification, type ChatParams } from '../protocol/host-api.js'
import { agentUnavailable, type AgentRecord, type AgentSupervisor } from './agent-supervisor.js'
import type { HostOutbox } from './host-outbox.js'
import type { Logger } from './logger.js'
import { Session, SessionMap, expiryReason, type SweepPolicy } from './session-map.js'
import type { HubCounters } from './stats.js'

/** The router's view of a connected host. */
export interface HostEndpoint {
  readonly clientId: string
  readonly outbox: HostOutbox
}

/** Lets a method defer work until its response has been queued for the host (rule 3). */
export interface CallContext {
  afterResponse(fn: () => void): void
}

/** An agent's event notification after validation; the router re-addresses it in place. */
export interface AgentEventMessage {
  jsonrpc: '2.0'
  method: string
  params: AgentChatEvent & { agent_id?: string }
}

export interface RouterOptions {
  clock: Clock
  logger: Logger
  counters: HubCounters
  supervisor: AgentSupervisor
  hosts: ReadonlyMap<string, HostEndpoint>
  ackTimeoutMs: number
  sweep: SweepPolicy
  newSessionId(): string
}

/** Events an agent may send before its acknowledgement reaches the host; beyond, they are dropped. */
const MAX_HELD_EVENTS = 10_000

/**
 * The session map's rules (PROTOCOL.md §7 and §8): creates sessions on `agents.chat`,
 * routes each agent event to the one host that owns its session, and guarantees
 * exactly one terminal event per accepted session however it ends.
 */
export class ChatRouter {
  readonly sessions = new SessionMap()

  constructor(private readonly options: RouterOptions) {}

  async chat(host: HostEndpoint, params: ChatParams, ctx: CallContext): Promise<{ accepted: true; session_id: string }> {
    const { supervisor, ackTimeoutMs, clock } = this.options
    const agent = supervisor.get(params.agent_id)
    if (!agent) throw new RpcError(ErrorCode.UnknownAgent, `unknown agent '${params.agent_id}'`)
    if (agent.status === 'starting') await supervisor.whenRunning(agent, ackTimeoutMs)
    const peer = agent.peer
    if (agent.status !== 'running' || !peer) throw agentUnavailable(agent)

    const sessionId = params.session_id ?? this.options.newSessionId()
    if (this.sessions.has(sessionId)) {
      throw new RpcError(ErrorCode.SessionInFlight, `session_id '${sessionId}' is already in flight`)
    }
    const session = new Session(sessionId, agent.id, host.clientId, params.conversation_id, clock.now())
    this.sessions.add(session)

    let ack: unknown
    try {
      ack = await peer.request(
        AgentMethod.chat,
        {
          session_id: sessionId,
          prompt: params.prompt,
          stream: params.stream ?? true,
          context:
            params.conversation_id === undefined
              ? { host_client_id: host.clientId }
              : { host_client_id: host.clientId, conversation_id: params.conversation_id },
          ...(params.model === undefined ? {} : { model: params.model }),
          ...(params.attachments === undefined ? {} : { attachments: params.attachments }),
        },
        { timeoutMs: ackTimeoutMs },
      )
    } catch (error) {
      const wasInMap = this.sessions.delete(session)
      throw this.refusal(agent, sessionId, error, wasInMap)
    }
    if (session.state === 'ended') {
      throw new RpcError(ErrorCode.AgentUnavailable, `session '${sessionId}' ended before the agent acknowledged`)
    }
    if (!AgentChatResultSchema.safeParse(ack).success) {
      this.sessions.delete(session)
      agent.peer?.notify(AgentMethod.cancel, { session_id: sessionId })
      this.options.counters.events_dropped += session.held?.length ?? 0
      const message = 'malformed acknowledgement'
      throw new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' refused the chat: ${message}`, {
        agent_error: { code: ErrorCode.InternalError, message },
      })
    }
    session.state = 'accepted'
    session.lastActivityMs = clock.now()
    ctx.afterResponse(() => this.release(session))
    return { accepted: true, session_id: sessionId }
  }

  cancel(host: HostEndpoint, sessionId: string, ctx: CallContext): { cancelled: boolean } {
    const session = this.sessions.get(sessionId)
    if (!session) return { cancelled: false }
    this.assertOwner(host, session)
    if (session.cancelRequested) return { cancelled: false }
    // Its end (the agent's, or the hub's) is already held for release: the session is over.
    if (session.held?.some(({ message }) => isTerminalKind(message.params.kind))) return { cancelled: false }
    this.options.supervisor.get(session.agentId)?.peer?.notify(AgentMethod.cancel, { session_id: sessionId })
    if (session.held !== null) {
      // Not yet acknowledged (or its result not yet sent): end it right after the result.
      session.cancelRequested = true
      return { cancelled: true }
    }
    this.sessions.delete(session)
    ctx.afterResponse(() => this.deliverTerminal(session, { kind: 'done', finish_reason: 'cancelled' }))
    return { cancelled: true }
  }

  async approve(
    host: HostEndpoint,
    params: { session_id: string; approval_id: string; decision: boolean },
  ): Promise<{ resolved: boolean; session_id: string }> {
    const session = this.sessions.get(params.session_id)
    const unresolved = { resolved: false, session_id: params.session_id }
    if (!session) return unresolved
    this.assertOwner(host, session)
    if (!session.pendingApprovals.has(params.approval_id)) return unresolved
    const agent = this.options.supervisor.get(session.agentId)
    const peer = agent?.peer
    if (!agent || !peer) return unresolved
    let answer: unknown
    try {
      answer = await peer.request(AgentMethod.approve, params, { timeoutMs: this.options.ackTimeoutMs })
    } catch (error) {
      if (error instanceof RequestTimeoutError) {
        throw new RpcError(ErrorCode.AckTimeout, `agent '${agent.id}' did not answer the approval in time`)
      }
      return unresolved
    }
    const parsed = AgentApproveResultSchema.safeParse(answer)
    if (!parsed.success || !parsed.data.resolved) return unresolved
    if (session.pendingApprovals.delete(params.approval_id)) session.lastActivityMs = this.options.clock.now()
    return { resolved: true, session_id: params.session_id }
  }

  /** Hot path: one validated event from an agent process. `size` is its JSON length (0 for tokens). */
  onAgentEvent(agent: AgentRecord, message: AgentEventMessage, size: number): void {
    const event = message.params
    const session = this.sessions.get(event.session_id)
    if (session === undefined || session.agentId !== agent.id) {
      this.options.counters.events_dropped++
      return
    }
    session.lastActivityMs = this.options.clock.now()
    if (session.held !== null) {
      // After a cancel the agent has been told to stop: what it still sends is late, as for an accepted session.
      if (session.cancelRequested || session.held.length >= MAX_HELD_EVENTS) {
        this.options.counters.events_dropped++
        return
      }
      session.held.push({ message, size })
      return
    }
    this.route(session, message, size)
  }

  /** Ends every accepted session of an agent whose process is gone. */
  onAgentExit(agent: AgentRecord): void {
    for (const session of this.sessions.ofAgent(agent.id)) {
      if (session.state === 'pending') continue // its `agents.chat` fails with -32011
      this.end(session, { kind: 'error', error: `agent '${agent.id}' exited`, code: HubErrorCode.AgentExited })
    }
  }

  /** Removes a departed host's sessions and tells each agent to stop (rule 6). */
  onHostDisconnect(clientId: string): void {
    for (const session of this.sessions.ofHost(clientId)) {
      this.sessions.delete(session)
      session.held = null
      this.options.supervisor.get(session.agentId)?.peer?.notify(AgentMethod.cancel, { session_id: session.sessionId })
    }
  }

  /** One sweeper pass (rule 8). */
  sweep(): number {
    const now = this.options.clock.now()
    let expired = 0
    for (const session of this.sessions.values()) {
      if (session.held !== null) continue
      const reason = expiryReason(session, now, this.options.sweep)
      if (reason === null) continue
      expired++
      this.options.counters.sessions_expired++
      this.options.supervisor.get(session.agentId)?.peer?.notify(AgentMethod.cancel, { session_id: session.sessionId })
      this.end(session, {
        kind: 'error',
        error: reason === 'idle' ? 'the agent sent nothing for too long' : 'the session exceeded its maximum age',
        code: HubErrorCode.SessionExpired,
      })
    }
    return expired
  }

  /** Ends every session with `hub_shutdown`. */
  shutdown(): void {
    for (const session of [...this.sessions.values()]) {
      if (session.state !== 'accepted') continue
      this.options.supervisor.get(session.agentId)?.peer?.notify(AgentMethod.cancel, { session_id: session.sessionId })
      this.end(session, { kind: 'error', error: 'the hub is shutting down', code: HubErrorCode.HubShutdown })
    }
  }

  listSessions(host: HostEndpoint) {
    return this.sessions.ofHost(host.clientId).map((session) => ({
      session_id: session.sessionId,
      agent_id: session.agentId,
      ...(session.conversationId === undefined ? {} : { conversation_id: session.conversationId }),
      created_at: session.createdAt,
    }))
  }

  private route(session: Session, message: AgentEventMessage, size: number): void {
    const host = this.options.hosts.get(session.hostClientId)
    if (host === undefined) {
      this.options.counters.events_dropped++
      return
    }
    const event = message.params
    event.agent_id = session.agentId
    message.method = HostNotification.chatEvent
    this.options.counters.events_forwarded++
    switch (event.kind) {
      case 'token':
        host.outbox.pushToken(session, message as { params: { delta: string } }, event.delta as string)
        return
      case 'approval_pending':
        session.pendingApprovals.add(event.approval_id as string)
        break
      case 'approval_resolved':
        session.pendingApprovals.delete(event.approval_id as string)
        break
      case 'done':
      case 'error':
        this.sessions.delete(session)
        break
    }
    host.outbox.pushEvent(session, message, size)
  }

  /** Delivers what was held for the session, then a cancel the owner asked for meanwhile (rule 3). */
  private release(session: Session): void {
    const held = session.held
    session.held = null
    if (held === null) return
    for (const { message, size } of held) {
      if (session.state === 'ended') {
        this.options.counters.events_dropped++
        continue
      }
      this.route(session, message, size)
    }
    if (session.cancelRequested && session.state === 'accepted') {
      this.sessions.delete(session)
      this.deliverTerminal(session, { kind: 'done', finish_reason: 'cancelled' })
    }
  }

  /** Ends a session from the hub's side: now, or right after its held events if its result is not out yet. */
  private end(session: Session, terminal: HubTerminal): void {
    if (session.held !== null) {
      // A cancel already promised this session its terminal event (at release).
      if (!session.cancelRequested) session.held.push({ message: this.hubEvent(session, terminal), size: 256 })
      return
    }
    if (!this.sessions.delete(session)) return
    this.deliverTerminal(session, terminal)
  }

  private deliverTerminal(session: Session, terminal: HubTerminal): void {
    const host = this.options.hosts.get(session.hostClientId)
    if (!host) return
    this.options.counters.events_forwarded++
    const message = this.hubEvent(session, terminal)
    message.params.agent_id = session.agentId
    message.method = HostNotification.chatEvent
    host.outbox.pushEvent(session, message, 256)
  }

  private hubEvent(session: Session, terminal: HubTerminal): AgentEventMessage {
    return { jsonrpc: '2.0', method: AgentMethod.event, params: { session_id: session.sessionId, ...terminal } }
  }

  private assertOwner(host: HostEndpoint, session: Session): void {
    if (session.hostClientId !== host.clientId) {
      throw new RpcError(ErrorCode.Forbidden, `session '${session.sessionId}' belongs to another host`)
    }
  }

  private refusal(agent: AgentRecord, sessionId: string, error: unknown, wasInMap: boolean): RpcError {
    if (error instanceof RequestTimeoutError) {
      agent.peer?.notify(AgentMethod.cancel, { session_id: sessionId })
      return new RpcError(ErrorCode.AckTimeout, `agent '${agent.id}' did not acknowledge within ${this.options.ackTimeoutMs} ms`)
    }
    if (error instanceof RpcError && agent.peer !== null && wasInMap) {
      return new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' refused the chat: ${error.message}`, {
        agent_error: { code: error.code, message: error.message },
      })
    }
    return new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' exited before acknowledging the chat`)
  }
}

type HubTerminal =
  | { kind: 'done'; finish_reason: string }
  | { kind: 'error'; error: string; code: string }
