import { BridgeNotification, type CarhostBridge, type HubNotification } from '../../../protocol/bridge.js'
import { HostChatEventSchema } from '../../../protocol/chat-events.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import { HostNotification } from '../../../protocol/host-api.js'
import { HostEventSchema } from '../../../protocol/agent-info.js'
import { HostClient } from '../../../protocol/host-client.js'
import { Limits, utf8ByteLength } from '../../../protocol/limits.js'
import { AgentStore } from './agent-store.js'
import { ChatStore, type ChatFailure, type ChatStoreOptions } from './chat-store.js'
import { ConversationClient, type YieldFn } from './conversation-client.js'
import { ConversationListStore } from './conversation-list.js'
import { conversationMarkdown, exportFileName } from '../../../protocol/conversation-markdown.js'
import { ConversationSync, errorMessage } from './conversation-sync.js'
import { randomId } from './ids.js'
import { ModelChoice, localMemory, type ModelMemory } from './model-choice.js'
import { ProviderStore } from './provider-store.js'
import { ValueStore } from './value-store.js'

export type ConnectionStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed' | 'failed'

export interface ConnectionState {
  readonly status: ConnectionStatus
  readonly message?: string
  /** The hub refused this window's access token (-32001): nothing works until the user opens a valid link. */
  readonly refused?: boolean
}

/** Where a window remembers the conversation it shows, so that a reload reopens it (not a secret). */
export type ConversationMemory = Pick<Storage, 'getItem' | 'setItem'>

export const REMEMBERED_CONVERSATION_KEY = 'carhost.conversation'

export interface AppControllerOptions {
  /** Options of the window's ChatStore (the controller adds its own turn-ended hook). */
  chat?: Omit<ChatStoreOptions, 'onTurnEnded'>
  agents?: AgentStore
  newId?: (prefix: string) => string
  /** Default: the page's sessionStorage (one per window or tab, kept across reloads). */
  memory?: ConversationMemory | null
  /** How long work yields to the page between slices (default: the next task). */
  yieldTask?: YieldFn
  /** The link to the hub dropped (see HostEnvironment.onDidClose). */
  onDidClose?: (listener: (error: RpcError) => void) => () => void
  /** A new link after a drop (windows only): the controller subscribes again. */
  onDidReconnect?: (listener: () => void) => () => void
  /** Where the model picked per conversation is kept; default the page's localStorage. */
  modelMemory?: ModelMemory | null
}

/** What the window's main area shows. */
export type AppView = 'chat' | 'settings'

/** What `send` made of a prompt the hub never saw. */
export type SendRefusal = 'empty' | 'too_long' | 'no_agent' | 'busy' | 'disconnected'

/** What an action on a conversation made of it: done, or why not, in words for the window. */
export type ActionResult = { ok: true } | { ok: false; message: string }

/** Where a search result or a link asks the open conversation to scroll to. */
export interface MessageFocus {
  readonly conversationId: string
  readonly messageId: string
}

/**
 * The window's link between the hub and its stores: validates every
 * notification, turns user actions into typed host calls and their failures
 * into state. Knows nothing of React.
 */
export class AppController {
  readonly chat: ChatStore
  readonly agents: AgentStore
  readonly conversations = new ConversationListStore()
  readonly sync: ConversationSync
  readonly connection = new ValueStore<ConnectionState>({ status: 'connecting' })
  readonly focus = new ValueStore<MessageFocus | null>(null)
  readonly view = new ValueStore<AppView>('chat')
  readonly providers: ProviderStore
  readonly models: ModelChoice
  readonly client: HostClient
  readonly conversationClient: ConversationClient
  private readonly newId: (prefix: string) => string
  private readonly memory: ConversationMemory | null
  private readonly cleanups: Array<() => void> = []
  private started = false
  /** The bridge gets a new link by itself after a drop (a window's preload). */
  private readonly reconnects: boolean

  constructor(
    private readonly bridge: CarhostBridge,
    options: AppControllerOptions = {},
  ) {
    this.newId = options.newId ?? randomId
    this.memory = options.memory === undefined ? sessionMemory() : options.memory
    const onTurnEnded = (conversationId: string) => this.sync.turnEnded(conversationId)
    this.chat = new ChatStore({ newConversationId: () => this.newId('conv'), ...options.chat, onTurnEnded })
    this.agents = options.agents ?? new AgentStore()
    this.client = new HostClient((method, params) => bridge.request(method, params))
    this.reconnects = options.onDidReconnect !== undefined
    this.providers = new ProviderStore((method, params) => bridge.request(method, params))
    this.models = new ModelChoice(options.modelMemory === undefined ? localMemory() : options.modelMemory)
    this.conversationClient = new ConversationClient((method, params) => bridge.request(method, params), options.yieldTask)
    this.sync = new ConversationSync(this.conversationClient, this.chat, this.conversations, (id) => this.dropConversation(id))
    if (options.onDidClose) this.cleanups.push(options.onDidClose((error) => this.lost(error)))
    if (options.onDidReconnect) {
      this.cleanups.push(
        options.onDidReconnect(() => {
          void this.subscribe().then((ok) => (ok ? Promise.all([this.sync.loadFirstPage(), this.providers.load()]) : undefined))
        }),
      )
    }
  }

  /** Subscribes to the hub; resolves once the agent list and the first page of conversations are in (or the hub refused). */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.cleanups.push(this.bridge.onNotification((n) => this.receive(n)))
    const remembered = this.memory?.getItem(REMEMBERED_CONVERSATION_KEY) ?? null
    if (this.chat.getSnapshot().conversations.length === 0) {
      if (remembered) this.chat.openConversation(remembered)
      else this.remember(this.chat.createConversation(null).id)
    }
    if (!(await this.subscribe())) return
    const reopening = remembered && this.chat.conversation(remembered)?.load === 'loading' ? this.reopen(remembered) : undefined
    await Promise.all([this.sync.loadFirstPage(), this.providers.load(), reopening])
  }

  /** `host.subscribe` on the current link: at start, and again on each new link (a new host, PROTOCOL.md §7). */
  private async subscribe(): Promise<boolean> {
    try {
      const snapshot = await this.client.call('host.subscribe')
      if (this.agents.reset(snapshot.agents, snapshot.event_sequence) === 'resync') void this.resync()
      this.adoptDefaultAgent()
      const status = this.connection.getSnapshot().status
      if (status === 'connecting' || status === 'reconnecting') this.connection.set({ status: 'ready' })
      return true
    } catch (error) {
      // A link that dropped again meanwhile reports itself through onDidClose.
      if (this.connection.getSnapshot().status !== 'reconnecting') {
        this.connection.set({ status: 'failed', message: connectionMessage(error), ...(isRefusal(error) && { refused: true }) })
      }
      return false
    }
  }

  /** The conversation this window showed before a reload, unless it was deleted meanwhile. */
  private async reopen(id: string): Promise<void> {
    const outcome = await this.sync.fetchRecord(id)
    if (!outcome.ok && outcome.missing) {
      this.chat.removeConversation(id)
      if (this.chat.getSnapshot().activeConversationId === null) this.newChat()
    }
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup()
  }

  newChat(agentId?: string): string {
    const id = this.chat.createConversation(agentId ?? this.defaultAgentId()).id
    this.remember(id)
    return id
  }

  /** Shows a conversation of the hub; with `messageId`, scrolled to that message (a search result). */
  async open(conversationId: string, messageId?: string): Promise<void> {
    const conversation = this.chat.openConversation(conversationId)
    this.remember(conversationId)
    if (messageId !== undefined) this.focus.set({ conversationId, messageId })
    if (conversation.load === 'loading' || conversation.load === 'failed') await this.sync.fetchRecord(conversationId)
  }

  async rename(conversationId: string, title: string): Promise<ActionResult> {
    const trimmed = title.trim().slice(0, 200)
    if (!trimmed) return { ok: false, message: 'A title cannot be empty.' }
    try {
      this.conversations.upsert(await this.conversationClient.call('conversations.rename', { conversation_id: conversationId, title: trimmed }))
      return { ok: true }
    } catch (error) {
      return { ok: false, message: `Could not rename: ${errorMessage(error)}` }
    }
  }

  /** Deletes a conversation on the hub (§11: a turn in flight is cancelled first); the window moves on to a new chat. */
  async remove(conversationId: string): Promise<ActionResult> {
    const draft = this.chat.conversation(conversationId)?.load === 'draft'
    if (!draft) {
      try {
        await this.conversationClient.call('conversations.delete', { conversation_id: conversationId })
      } catch (error) {
        if (!(error instanceof RpcError && error.code === ErrorCode.UnknownConversation)) {
          return { ok: false, message: `Could not delete: ${errorMessage(error)}` }
        }
      }
    }
    this.conversations.remove(conversationId)
    this.sync.forget(conversationId)
    this.dropConversation(conversationId)
    return { ok: true }
  }

  /** A deleted conversation leaves the window; if it was on screen, a new chat takes its place. */
  private dropConversation(conversationId: string): void {
    const wasActive = this.chat.getSnapshot().activeConversationId === conversationId
    this.chat.removeConversation(conversationId)
    if (wasActive) this.newChat()
  }

  /** Asks the agent again for the last answer: the last turn is truncated away and its prompt sent again (§11). */
  async regenerate(conversationId: string): Promise<ActionResult> {
    const messages = this.chat.conversation(conversationId)?.messages ?? []
    const index = messages.findLastIndex((m) => m.role === 'user')
    const prompt = messages[index]
    if (!prompt || prompt.role !== 'user') return { ok: false, message: 'There is no answer to regenerate.' }
    return this.resend(conversationId, prompt.id, prompt.text)
  }

  /** Replaces an earlier prompt: that message and everything after it are truncated away, then `prompt` is sent (§11). */
  editPrompt(conversationId: string, messageKey: string, prompt: string): Promise<ActionResult> {
    return this.resend(conversationId, messageKey, prompt)
  }

  /** The conversation as the hub keeps it, as Markdown. */
  async exportMarkdown(conversationId: string): Promise<{ ok: true; fileName: string; markdown: string } | { ok: false; message: string }> {
    const record = await this.sync.fetchRecord(conversationId)
    if (!record.ok) return { ok: false, message: record.message }
    return { ok: true, fileName: exportFileName(record.conversation), markdown: conversationMarkdown(record.conversation, record.messages) }
  }

  private async resend(conversationId: string, messageKey: string, prompt: string): Promise<ActionResult> {
    if (prompt.trim().length === 0) return { ok: false, message: 'Type a message first.' }
    if (this.isBusy(conversationId)) return { ok: false, message: REFUSAL_TEXT.busy }
    let messageId = this.chat.conversation(conversationId)?.messages.find((m) => m.id === messageKey)?.messageId
    if (messageId === undefined) {
      // A message this window sent learns its hub id when the turn is fetched back.
      const record = await this.sync.fetchRecord(conversationId)
      if (!record.ok) return { ok: false, message: record.message }
      messageId = this.chat.conversation(conversationId)?.messages.find((m) => m.id === messageKey)?.messageId
      if (messageId === undefined) return { ok: false, message: 'That message is no longer in the conversation.' }
    }
    try {
      this.conversations.upsert(
        await this.conversationClient.call('conversations.truncate', { conversation_id: conversationId, message_id: messageId }),
      )
    } catch (error) {
      const busy = error instanceof RpcError && error.code === ErrorCode.ConversationBusy
      return { ok: false, message: busy ? REFUSAL_TEXT.busy : `Could not change the conversation: ${errorMessage(error)}` }
    }
    this.chat.truncateFrom(conversationId, messageKey)
    const refusal = await this.send(conversationId, prompt)
    return refusal === undefined ? { ok: true } : { ok: false, message: REFUSAL_TEXT[refusal] }
  }

  /** A turn is in flight: ours, or another host's (§11 `Conversation.busy`). */
  isBusy(conversationId: string): boolean {
    return this.chat.conversation(conversationId)?.activeSessionId != null || this.busyElsewhere(conversationId)
  }

  /** Another host's turn is in flight in this conversation; ours would get -32013. */
  busyElsewhere(conversationId: string): boolean {
    return this.chat.conversation(conversationId)?.activeSessionId == null && this.conversations.conversation(conversationId)?.busy === true
  }

  private remember(conversationId: string): void {
    try {
      this.memory?.setItem(REMEMBERED_CONVERSATION_KEY, conversationId)
    } catch {
      // Storage may be full or disabled; the window then simply starts with a new chat next time.
    }
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
    if (this.isBusy(conversationId)) return 'busy'
    const status = this.connection.getSnapshot().status
    if (status === 'closed' || status === 'failed' || status === 'reconnecting') return 'disconnected'
    const agentId = this.agentFor(conversationId)
    if (!agentId) return 'no_agent'
    const sessionId = this.newId('chat')
    const model = this.models.modelFor(conversationId, this.agents.agent(agentId))
    this.chat.beginTurn(conversationId, { sessionId, agentId, prompt, ...(model !== undefined && { model }) })
    try {
      await this.client.call('agents.chat', {
        agent_id: agentId,
        prompt,
        session_id: sessionId,
        conversation_id: conversationId,
        stream: true,
        ...(model !== undefined && { model }),
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
      if (parsed.success) {
        this.chat.enqueue(parsed.data)
        this.providers.observeChat(parsed.data)
      } else console.warn('carhost: dropped a malformed agents.chat.event')
    } else if (notification.method === BridgeNotification.showSettings) {
      // From the app menu, through the preload: not the hub's.
      this.view.set('settings')
    } else if (notification.method === HostNotification.hostEvent) {
      const parsed = HostEventSchema.safeParse(notification.params)
      if (!parsed.success) {
        console.warn('carhost: dropped a malformed host.event')
        return
      }
      const event = parsed.data
      const resync = this.agents.apply(event) === 'resync'
      this.providers.observe(event)
      if (event.kind.startsWith('conversation.') && !this.sync.apply(event.kind, event.payload)) {
        console.warn(`carhost: dropped a malformed ${event.kind} event`)
      }
      if (resync) void this.resync()
      this.adoptDefaultAgent()
    }
  }

  /** Host events were missed: the agent list and the first page of conversations are fetched again. */
  private async resync(): Promise<void> {
    await Promise.all([this.resyncAgents(), this.sync.loadFirstPage()])
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
      ...(authFailed && { refused: true }),
    })
    this.chat.failAllLive({ reason: 'connection_lost', message: error.message })
  }
}

/** Why a prompt was not sent, in words (the composer shows them). */
export const REFUSAL_TEXT: Record<SendRefusal, string> = {
  empty: 'Type a message first.',
  too_long: 'This message is too long (the limit is 256 KiB).',
  no_agent: 'There is no agent to talk to.',
  busy: 'Wait for the reply, or stop it first.',
  disconnected: 'Not connected to the hub.',
}

function sessionMemory(): ConversationMemory | null {
  try {
    return globalThis.sessionStorage ?? null
  } catch {
    return null
  }
}

function requestFailure(error: unknown): ChatFailure {
  if (error instanceof RpcError) return { reason: 'request_failed', code: error.code, message: error.message }
  return { reason: 'request_failed', message: `unexpected answer from the hub: ${errorMessage(error)}` }
}

function isRefusal(error: unknown): boolean {
  return error instanceof RpcError && error.code === ErrorCode.NotAuthenticated
}

function connectionMessage(error: unknown): string {
  if (isRefusal(error)) {
    return 'The hub refused the access token. Open the link the hub printed again.'
  }
  return `Could not reach the hub: ${errorMessage(error)}`
}
