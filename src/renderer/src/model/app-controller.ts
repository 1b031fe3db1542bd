import type { CarhostBridge, HubNotification } from '../../../protocol/bridge.js'
import { HostChatEventSchema } from '../../../protocol/chat-events.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import { HostNotification } from '../../../protocol/host-api.js'
import { HostEventSchema } from '../../../protocol/agent-info.js'
import { HostClient } from '../../../protocol/host-client.js'
import { Limits, utf8ByteLength } from '../../../protocol/limits.js'
import { AgentStore } from './agent-store.js'
import { ChatStore, type ChatFailure } from './chat-store.js'
import { randomId } from './ids.js'
import { ValueStore } from './value-store.js'

export type ConnectionStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed' | 'failed'

export interface ConnectionState {
  readonly status: ConnectionStatus
  readonly message?: string
}

export interface AppControllerOptions {
  chat?: ChatStore
  agents?: AgentStore
  newId?: (prefix: string) => string
  /** The link to the hub dropped (see HostEnvironment.onDidClose). */
  onDidClose?: (listener: (error: RpcError) => void) => () => void
  /** A new link after a drop (windows only): the controller subscribes again. */
  onDidReconnect?: (listener: () => void) => () => void
}

/** What `send` made of a prompt the hub never saw. */
export type SendRefusal = 'empty' | 'too_long' | 'no_agent' | 'busy' | 'disconnected'

/**
 * The window's link between the hub and its stores: validates every
 * notification, turns user actions into typed host calls and their failures
 * into state. Knows nothing of React.
 */
export class AppController {
  readonly chat: ChatStore
  readonly agents: AgentStore
  readonly connection = new ValueStore<ConnectionState>({ status: 'connecting' })
  readonly client: HostClient
  private readonly newId: (prefix: string) => string
  private readonly cleanups: Array<() => void> = []
  private started = false
  /** The bridge gets a new link by itself after a drop (a window's preload). */
  private readonly reconnects: boolean

  constructor(
    private readonly bridge: CarhostBridge,
    options: AppControllerOptions = {},
  ) {
    this.newId = options.newId ?? randomId
    this.chat = options.chat ?? new ChatStore({ newConversationId: () => this.newId('conv') })
    this.agents = options.agents ?? new AgentStore()
    this.client = new HostClient((method, params) => bridge.request(method, params))
    this.reconnects = options.onDidReconnect !== undefined
    if (options.onDidClose) this.cleanups.push(options.onDidClose((error) => this.lost(error)))
    if (options.onDidReconnect) this.cleanups.push(options.onDidReconnect(() => void this.subscribe()))
  }

  /** Subscribes to the hub; resolves once the agent list is in (or the hub refused). */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.cleanups.push(this.bridge.onNotification((n) => this.receive(n)))
    if (this.chat.getSnapshot().conversations.length === 0) this.chat.createConversation(null)
    await this.subscribe()
  }

  /** `host.subscribe` on the current link: at start, and again on each new link (a new host, PROTOCOL.md §7). */
  private async subscribe(): Promise<void> {
    try {
      const snapshot = await this.client.call('host.subscribe')
      if (this.agents.reset(snapshot.agents, snapshot.event_sequence) === 'resync') void this.resyncAgents()
      this.adoptDefaultAgent()
      const status = this.connection.getSnapshot().status
      if (status === 'connecting' || status === 'reconnecting') this.connection.set({ status: 'ready' })
    } catch (error) {
      // A link that dropped again meanwhile reports itself through onDidClose.
      if (this.connection.getSnapshot().status !== 'reconnecting') {
        this.connection.set({ status: 'failed', message: connectionMessage(error) })
      }
    }
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup()
  }

  newChat(agentId?: string): string {
    return this.chat.createConversation(agentId ?? this.defaultAgentId()).id
  }

  /** Closes a conversation, cancelling its turn in flight. */
  closeChat(conversationId: string): void {
    const sessionId = this.chat.conversation(conversationId)?.activeSessionId
    if (sessionId) void this.client.call('agents.chat.cancel', { session_id: sessionId }).catch(() => {})
    this.chat.removeConversation(conversationId)
    if (this.chat.getSnapshot().conversations.length === 0) this.newChat()
  }

  /** The agent a conversation talks to: its own, else the first running one. */
  agentFor(conversationId: string): string | null {
    const own = this.chat.conversation(conversationId)?.agentId
    return own ?? this.defaultAgentId()
  }

  /**
   * Starts a turn. Resolves once the hub accepted or refused it (the refusal is
   * shown on the reply); returns a reason when it was not sent at all.
   */
  async send(conversationId: string, prompt: string): Promise<SendRefusal | undefined> {
    if (prompt.trim().length === 0) return 'empty'
    if (utf8ByteLength(prompt) > Limits.promptMaxBytes) return 'too_long'
    const conversation = this.chat.conversation(conversationId)
    if (!conversation) return 'no_agent'
    if (conversation.activeSessionId) return 'busy'
    const status = this.connection.getSnapshot().status
    if (status === 'closed' || status === 'failed' || status === 'reconnecting') return 'disconnected'
    const agentId = this.agentFor(conversationId)
    if (!agentId) return 'no_agent'
    const sessionId = this.newId('chat')
    this.chat.beginTurn(conversationId, { sessionId, agentId, prompt })
    try {
      await this.client.call('agents.chat', {
        agent_id: agentId,
        prompt,
        session_id: sessionId,
        conversation_id: conversationId,
        stream: true,
      })
      // Stop pressed before the hub had the session: ask again now that it does.
      if (this.chat.liveMessage(sessionId)?.cancelling) void this.cancelSession(sessionId)
    } catch (error) {
      this.chat.failTurn(sessionId, requestFailure(error))
    }
    return undefined
  }

  /** Stops the conversation's turn in flight; the reply ends with the hub's `done {finish_reason: "cancelled"}`. */
  async cancel(conversationId: string): Promise<void> {
    const sessionId = this.chat.conversation(conversationId)?.activeSessionId
    if (sessionId) await this.cancelSession(sessionId)
  }

  async decide(sessionId: string, approvalId: string, approve: boolean): Promise<void> {
    this.chat.setApprovalStatus(sessionId, approvalId, 'submitting')
    try {
      const result = await this.client.call('agents.chat.approve', {
        session_id: sessionId,
        approval_id: approvalId,
        decision: approve,
      })
      this.chat.setApprovalStatus(sessionId, approvalId, result.resolved ? (approve ? 'approved' : 'denied') : 'expired')
    } catch (error) {
      this.chat.setApprovalStatus(sessionId, approvalId, 'pending', errorMessage(error))
    }
  }

  async startAgent(agentId: string): Promise<void> {
    try {
      this.agents.upsert(await this.client.call('agents.start', { agent_id: agentId }))
    } catch (error) {
      console.warn(`carhost: could not start '${agentId}': ${errorMessage(error)}`)
    }
  }

  private async cancelSession(sessionId: string): Promise<void> {
    this.chat.setCancelling(sessionId, true)
    try {
      await this.client.call('agents.chat.cancel', { session_id: sessionId })
    } catch (error) {
      this.chat.setCancelling(sessionId, false)
      console.warn(`carhost: cancel failed: ${errorMessage(error)}`)
    }
  }

  private receive(notification: HubNotification): void {
    if (notification.method === HostNotification.chatEvent) {
      const parsed = HostChatEventSchema.safeParse(notification.params)
      if (parsed.success) this.chat.enqueue(parsed.data)
      else console.warn('carhost: dropped a malformed agents.chat.event')
    } else if (notification.method === HostNotification.hostEvent) {
      const parsed = HostEventSchema.safeParse(notification.params)
      if (!parsed.success) {
        console.warn('carhost: dropped a malformed host.event')
        return
      }
      if (this.agents.apply(parsed.data) === 'resync') void this.resyncAgents()
      this.adoptDefaultAgent()
    }
  }

  private async resyncAgents(): Promise<void> {
    try {
      const { agents } = await this.client.call('agents.list')
      this.agents.reset(agents, this.agents.getSnapshot().sequence)
    } catch (error) {
      console.warn(`carhost: could not refresh the agent list: ${errorMessage(error)}`)
    }
  }

  /** Gives conversations that have no agent yet the default one, once there is one. */
  private adoptDefaultAgent(): void {
    const agentId = this.defaultAgentId()
    if (!agentId) return
    for (const conversation of this.chat.getSnapshot().conversations) {
      if (conversation.agentId === null) this.chat.setConversationAgent(conversation.id, agentId)
    }
  }

  private defaultAgentId(): string | null {
    const agents = this.agents.getSnapshot().agents
    return (agents.find((a) => a.status === 'running') ?? agents[0])?.id ?? null
  }

  private lost(error: RpcError): void {
    const authFailed = error.code === ErrorCode.NotAuthenticated
    if (this.reconnects && !authFailed) {
      this.connection.set({ status: 'reconnecting', message: 'Reconnecting…' })
      this.chat.failAllLive({ reason: 'connection_lost', message: error.message })
      return
    }
    this.connection.set({
      status: authFailed ? 'failed' : 'closed',
      message: authFailed ? connectionMessage(error) : 'The connection to the hub was lost.',
    })
    this.chat.failAllLive({ reason: 'connection_lost', message: error.message })
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function requestFailure(error: unknown): ChatFailure {
  if (error instanceof RpcError) return { reason: 'request_failed', code: error.code, message: error.message }
  return { reason: 'request_failed', message: `unexpected answer from the hub: ${errorMessage(error)}` }
}

function connectionMessage(error: unknown): string {
  if (error instanceof RpcError && error.code === ErrorCode.NotAuthenticated) {
    return 'The hub refused the access token. Open the link the hub printed again.'
  }
  return `Could not reach the hub: ${errorMessage(error)}`
}
