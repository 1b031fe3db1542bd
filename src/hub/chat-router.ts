import type { Clock } from '../base/clock.js'
import { AgentChatResultSchema, AgentApproveResultSchema, AgentMethod, type AgentChatParams } from '../protocol/agent-api.js'
import { HubErrorCode, isTerminalKind, type AgentChatEvent } from '../protocol/chat-events.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import { RequestTimeoutError } from '../protocol/rpc-peer.js'
import type { Conversation } from '../protocol/conversations.js'
import { HostNotification, type ChatParams } from '../protocol/host-api.js'
import { agentUnavailable, type AgentHandle } from './agent-supervisor.js'
import type { HostOutbox } from './host-outbox.js'
import type { ConversationRecorder } from './conversation-recorder.js'
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
  /** The agents by id, as handles: the router never sees a process. */
  agents: { get(agentId: string): AgentHandle | undefined }
  hosts: ReadonlyMap<string, HostEndpoint>
  ackTimeoutMs: number
  /** §6 v2: how long `agents.chat` waits for a `starting` agent before the ack window opens. */
  readyTimeoutMs: number
  sweep: SweepPolicy
  newSessionId(): string
  /** §11: records the turns of conversations; without it every chat is ephemeral. */
  conversations?: ConversationRecorder
  /** §11 rule 6: a conversation's turn started or ended (never per token). */
  onConversationChanged?(kind: 'created' | 'updated', conversation: Conversation): void
}

export interface ChatResult {
  accepted: true
  session_id: string
  conversation_id?: string
}

/**
 * The session map's rules (PROTOCOL.md §7 and §8): creates sessions on `agents.chat`,
 * routes each agent event to the one host that owns its session, and guarantees
 * exactly one terminal event per accepted session however it ends.
 */
export class ChatRouter {
  readonly sessions = new SessionMap()

  constructor(private readonly options: RouterOptions) {}

  async chat(host: HostEndpoint, params: ChatParams, ctx: CallContext): Promise<ChatResult> {
    const sessionId = params.session_id ?? this.options.newSessionId()
    // An unknown agent is the answer whatever else is wrong with the chat (-32010 first).
    const known = this.options.agents.get(params.agent_id) !== undefined
    if (this.sessions.has(sessionId) || this.options.conversations?.hasSession(sessionId)) {
      throw known ? new RpcError(ErrorCode.SessionInFlight, `session_id '${sessionId}' is already in flight`) : unknownAgent(params.agent_id)
    }
    let recorded: { context: TurnContext } | null = null
    try {
      if (params.conversation_id !== undefined) recorded = this.beginTurn(params.conversation_id, sessionId, params)
    } catch (error) {
      throw known ? error : unknownAgent(params.agent_id)
    }
    try {
      const accepted = await this.dispatch(host, params, sessionId, recorded?.context, ctx)
      return recorded ? { ...accepted, conversation_id: params.conversation_id } : accepted
    } catch (error) {
      // §11 rule 3: a refused turn keeps its user message and records the failure.
      if (recorded) this.recordFailure(sessionId, error)
      throw error
    }
  }

  /** §11 rules 1-3: the user message is on disk before the agent hears of the chat. */
  private beginTurn(conversationId: string, sessionId: string, params: ChatParams): { context: TurnContext } {
    const recorder = this.options.conversations
    if (!recorder) return { context: {} }
    const begun = recorder.beginTurn({
      conversation_id: conversationId,
      agent_id: params.agent_id,
      session_id: sessionId,
      prompt: params.prompt,
      ...(params.attachments === undefined ? {} : { attachments: params.attachments }),
      ...(params.model === undefined ? {} : { model: params.model }),
    })
    if (!begun.ok) throw new RpcError(ErrorCode.ConversationBusy, `conversation '${conversationId}' has a turn in flight`)
    this.options.onConversationChanged?.(begun.created ? 'created' : 'updated', begun.conversation)
    return {
      context: begun.history_truncated ? { history: begun.history, history_truncated: true } : { history: begun.history },
    }
  }

  private recordFailure(sessionId: string, error: unknown): void {
    const code = error instanceof RpcError ? error.code : ErrorCode.InternalError
    const message = error instanceof Error ? error.message : String(error)
    const conversation = this.options.conversations?.fail(sessionId, code, message)
    if (conversation) this.options.onConversationChanged?.('updated', conversation)
  }

  private async dispatch(
    host: HostEndpoint,
    params: ChatParams,
    sessionId: string,
    turn: TurnContext | undefined,
    ctx: CallContext,
  ): Promise<{ accepted: true; session_id: string }> {
    const { ackTimeoutMs, clock } = this.options
    const agent = this.options.agents.get(params.agent_id)
    if (!agent) throw unknownAgent(params.agent_id)
    // §6 v2: a starting agent gets its start first; the ack window below opens once it is ready.
    if (agent.status === 'starting') await agent.whenReady(this.options.readyTimeoutMs)
    if (agent.status !== 'running') throw agentUnavailable(agent)
    // The host may have left while the agent got ready: a session for it would never end (rule 6).
    if (this.options.hosts.get(host.clientId) !== host) throw new RpcError(ErrorCode.InternalError, 'the host disconnected')
    if (this.sessions.has(sessionId)) {
      throw new RpcError(ErrorCode.SessionInFlight, `session_id '${sessionId}' is already in flight`)
    }
    const session = new Session(sessionId, agent.id, host.clientId, params.conversation_id, clock.now())
    this.sessions.add(session)

    let ack: unknown
    try {
      ack = await agent.request(
        AgentMethod.chat,
        {
          session_id: sessionId,
          prompt: params.prompt,
          stream: params.stream ?? true,
          context:
            params.conversation_id === undefined
              ? { host_client_id: host.clientId }
              : { host_client_id: host.clientId, conversation_id: params.conversation_id, ...turn },
          ...(params.model === undefined ? {} : { model: params.model }),
          ...(params.attachments === undefined ? {} : { attachments: params.attachments }),
        },
        { timeoutMs: ackTimeoutMs },
      )
    } catch (error) {
      const wasInMap = this.remove(session)
      throw this.refusal(agent, sessionId, error, wasInMap)
    }
    if (session.phase === 'ended') {
      throw new RpcError(ErrorCode.AgentUnavailable, `session '${sessionId}' ended before the agent acknowledged`)
    }
    if (!AgentChatResultSchema.safeParse(ack).success) {
      this.remove(session)
      agent.cancel(sessionId)
      const message = 'malformed acknowledgement'
      throw new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' refused the chat: ${message}`, {
        agent_error: { code: ErrorCode.InternalError, message },
      })
    }
    session.acknowledge()
    if (turn !== undefined) this.options.conversations?.acknowledge(sessionId)
    session.lastActivityMs = clock.now()
    ctx.afterResponse(() => this.release(session))
    return { accepted: true, session_id: sessionId }
  }

  cancel(host: HostEndpoint, sessionId: string, ctx: CallContext): { cancelled: boolean } {
    const session = this.sessions.get(sessionId)
    if (!session) return { cancelled: false }
    this.assertOwner(host, session)
    return { cancelled: this.cancelSession(session, ctx) }
  }

  /**
   * §11 `conversations.delete` of a busy conversation: its turn is cancelled, and its
   * owner (whichever host asked for the delete) gets `done {finish_reason: "cancelled"}`.
   */
  cancelSessionOf(sessionId: string): void {
    const session = this.sessions.get(sessionId)
    if (session) this.cancelSession(session, { afterResponse: (fn) => fn() })
  }

  private cancelSession(session: Session, ctx: CallContext): boolean {
    const sessionId = session.sessionId
    if (session.isHolding) {
      // Not yet acknowledged (or its result not yet sent): end it right after the result.
      // False when its end (a cancel, the agent's or the hub's terminal) is already decided.
      if (!session.requestCancel()) return false
      this.options.agents.get(session.agentId)?.cancel(sessionId)
      return true
    }
    this.options.agents.get(session.agentId)?.cancel(sessionId)
    this.remove(session)
    ctx.afterResponse(() => this.deliverTerminal(session, { kind: 'done', finish_reason: 'cancelled' }))
    return true
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
    const agent = this.options.agents.get(session.agentId)
    if (!agent || agent.status !== 'running') return unresolved
    let answer: unknown
    try {
      answer = await agent.request(AgentMethod.approve, params, { timeoutMs: this.options.ackTimeoutMs })
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
  onAgentEvent(agent: AgentHandle, message: AgentEventMessage, size: number): void {
    const event = message.params
    const session = this.sessions.get(event.session_id)
    if (session === undefined || session.agentId !== agent.id) {
      this.options.counters.events_dropped++
      return
    }
    session.lastActivityMs = this.options.clock.now()
    if (session.phase === 'live') {
      this.route(session, message, size)
      return
    }
    if (!session.acceptsHeld) {
      // Its end is decided (a cancel told the agent to stop, or a terminal is held): what follows is late.
      this.options.counters.events_dropped++
      return
    }
    this.hold(session, message, size)
  }

  /** Ends every accepted session of an agent whose process is gone. */
  onAgentExit(agent: AgentHandle): void {
    for (const session of this.sessions.ofAgent(agent.id)) {
      if (session.phase === 'pending') continue // its `agents.chat` fails with -32011
      this.end(session, { kind: 'error', error: `agent '${agent.id}' exited`, code: HubErrorCode.AgentExited })
    }
  }

  /** Removes a departed host's sessions and tells each agent to stop (rule 6). */
  onHostDisconnect(clientId: string): void {
    for (const session of this.sessions.ofHost(clientId)) {
      this.remove(session)
      this.options.agents.get(session.agentId)?.cancel(session.sessionId)
      // Nobody is left to hand it to, but the conversation records how the turn ended (§11 rule 4).
      this.record(session, { session_id: session.sessionId, kind: 'done', finish_reason: 'cancelled' })
    }
  }

  /** One sweeper pass (rule 8). */
  sweep(): number {
    const now = this.options.clock.now()
    let expired = 0
    for (const session of this.sessions.values()) {
      const reason = expiryReason(session, now, this.options.sweep)
      if (reason === null) continue
      expired++
      this.options.counters.sessions_expired++
      this.options.agents.get(session.agentId)?.cancel(session.sessionId)
      this.end(session, {
        kind: 'error',
        error: reason === 'idle' ? 'the agent sent nothing for too long' : 'the session exceeded its maximum age',
        code: HubErrorCode.SessionExpired,
      })
    }
    return expired
  }

  /** Ends every acknowledged session with `hub_shutdown`. */
  shutdown(): void {
    for (const session of [...this.sessions.values()]) {
      if (session.phase === 'pending') continue
      this.options.agents.get(session.agentId)?.cancel(session.sessionId)
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

  /** Holds an event until the session's result is out (rule 3); its bytes count towards the host's cap (§8). */
  private hold(session: Session, message: AgentEventMessage, size: number): void {
    const bytes = session.hold(message, size, isTerminalKind(message.params.kind))
    // Last: passing the cap disconnects the host, which removes this session.
    this.options.hosts.get(session.hostClientId)?.outbox.hold(bytes)
  }

  /** An agent event for a live session, or one released from hold. */
  private route(session: Session, message: AgentEventMessage, size: number): void {
    const host = this.options.hosts.get(session.hostClientId)
    if (host === undefined) {
      this.options.counters.events_dropped++
      return
    }
    const event = message.params
    switch (event.kind) {
      case 'approval_pending':
        session.pendingApprovals.add(event.approval_id as string)
        break
      case 'approval_resolved':
        session.pendingApprovals.delete(event.approval_id as string)
        break
      case 'done':
      case 'error':
        this.remove(session)
        break
    }
    this.deliver(session, host, message, size)
  }

  /**
   * The one place every chat event of a session passes on its way to the host,
   * the agent's and the hub's own terminal events alike.
   */
  private deliver(session: Session, host: HostEndpoint, message: AgentEventMessage, size: number): void {
    const event = message.params
    // Recorded before it is handed on: a terminal event finds its conversation idle (§11 rule 6).
    if (session.conversationId !== undefined) this.record(session, event)
    event.agent_id = session.agentId
    message.method = HostNotification.chatEvent
    this.options.counters.events_forwarded++
    if (event.kind === 'token') host.outbox.pushToken(session, message as { params: { delta: string } }, event.delta as string)
    else host.outbox.pushEvent(session, message, size)
  }

  /** Delivers what was held for the session, then a cancel the owner asked for meanwhile (rule 3). */
  private release(session: Session): void {
    if (session.phase === 'ended') return
    const host = this.options.hosts.get(session.hostClientId)
    host?.outbox.releaseHeld(session.heldBytes)
    const held = session.release()
    const { counters } = this.options
    for (const { message, size, count } of held) {
      if (session.isEnded) {
        counters.events_dropped += count
        continue
      }
      // Tokens merged while held were each handed on, as when the outbox merges them (§9).
      counters.events_forwarded += count - 1
      counters.events_merged += count - 1
      this.route(session, message, size)
    }
    if (session.phase === 'cancelling') {
      this.remove(session)
      this.deliverTerminal(session, { kind: 'done', finish_reason: 'cancelled' })
    }
  }

  /** Ends a session from the hub's side: now, or right after its held events if its result is not out yet. */
  private end(session: Session, terminal: HubTerminal): void {
    if (session.isHolding) {
      // A session whose end is decided (a cancel, a held terminal) keeps that end.
      if (session.acceptsHeld) this.hold(session, this.hubEvent(session, terminal), 256)
      return
    }
    if (!this.remove(session)) return
    this.deliverTerminal(session, terminal)
  }

  /** Takes the session out of the map; what it still held is dropped and no longer counts towards the host's cap. */
  private remove(session: Session): boolean {
    const heldBytes = session.heldBytes
    const heldCount = session.heldCount
    if (!this.sessions.delete(session)) return false
    if (heldCount > 0) {
      this.options.counters.events_dropped += heldCount
      this.options.hosts.get(session.hostClientId)?.outbox.releaseHeld(heldBytes)
    }
    return true
  }

  private deliverTerminal(session: Session, terminal: HubTerminal): void {
    const message = this.hubEvent(session, terminal)
    const host = this.options.hosts.get(session.hostClientId)
    if (host) this.deliver(session, host, message, 256)
    else this.record(session, message.params)
  }

  /** §11 rule 4: applies an event to the turn's assistant message (memory only, but for the terminal event). */
  private record(session: Session, event: AgentChatEvent): void {
    if (session.conversationId === undefined) return
    const ended = this.options.conversations?.onEvent(session.sessionId, event)
    if (ended) this.options.onConversationChanged?.('updated', ended)
  }

  private hubEvent(session: Session, terminal: HubTerminal): AgentEventMessage {
    return { jsonrpc: '2.0', method: AgentMethod.event, params: { session_id: session.sessionId, ...terminal } }
  }

  private assertOwner(host: HostEndpoint, session: Session): void {
    if (session.hostClientId !== host.clientId) {
      throw new RpcError(ErrorCode.Forbidden, `session '${session.sessionId}' belongs to another host`)
    }
  }

  private refusal(agent: AgentHandle, sessionId: string, error: unknown, wasInMap: boolean): RpcError {
    if (error instanceof RequestTimeoutError) {
      agent.cancel(sessionId)
      return new RpcError(ErrorCode.AckTimeout, `agent '${agent.id}' did not acknowledge within ${this.options.ackTimeoutMs} ms`)
    }
    if (error instanceof RpcError && agent.status === 'running' && wasInMap) {
      return new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' refused the chat: ${error.message}`, {
        agent_error: { code: error.code, message: error.message },
      })
    }
    return new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' exited before acknowledging the chat`)
  }
}

function unknownAgent(agentId: string): RpcError {
  return new RpcError(ErrorCode.UnknownAgent, `unknown agent '${agentId}'`)
}

/** What a recorded turn adds to `agent.chat`'s `context` (§11 history). */
type TurnContext = { history?: AgentChatParams['context']['history']; history_truncated?: boolean }

type HubTerminal =
  | { kind: 'done'; finish_reason: string }
  | { kind: 'error'; error: string; code: string }
