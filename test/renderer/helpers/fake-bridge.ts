import type { CarhostBridge, HubNotification } from '../../../src/protocol/bridge.js'
import { ErrorCode, RpcError } from '../../../src/protocol/errors.js'
import type { AgentInfo } from '../../../src/protocol/agent-info.js'
import { FakeConversationHub, type FakeHost } from './fake-conversations.js'
import { FakeProviders } from './fake-providers.js'

export { FakeConversationHub } from './fake-conversations.js'

export interface RecordedCall {
  method: string
  params: unknown
}

type Handler = (params: unknown) => unknown

const CONVERSATION_METHODS = [
  'conversations.list',
  'conversations.get',
  'conversations.search',
  'conversations.rename',
  'conversations.truncate',
  'conversations.delete',
]

/**
 * A hub on the other side of `window.carhost`, played by the test: records every
 * request, answers with per-method handlers, and pushes notifications. Its
 * conversations (§11) live in a FakeConversationHub that several bridges (two
 * windows) may share; chat events the test sends through `chatEvent` are
 * recorded there as the real hub would.
 */
export class FakeBridge implements CarhostBridge, FakeHost {
  readonly calls: RecordedCall[] = []
  private readonly listeners = new Set<(n: HubNotification) => void>()
  readonly handlers: Record<string, Handler>
  /** §12 `providers.*` in memory; its saves and deletes (un)register agents in `agents`. */
  readonly providers: FakeProviders

  constructor(
    readonly agents: AgentInfo[] = [agent('echo', 'Echo')],
    handlers: Record<string, Handler> = {},
    readonly hub: FakeConversationHub = new FakeConversationHub(),
  ) {
    hub.hosts.add(this)
    const conversations: Record<string, Handler> = {}
    for (const method of CONVERSATION_METHODS) conversations[method] = (params) => hub.handle(method, params)
    this.providers = new FakeProviders(this)
    for (const method of ['providers.list', 'providers.save', 'providers.delete']) {
      conversations[method] = (params) => this.providers.handle(method, params)
    }
    this.handlers = {
      'host.subscribe': () => ({ client_id: 'host-1', agents, event_sequence: hub.sequence }),
      'agents.list': () => ({ agents }),
      'agents.chat': (params) => hub.chat(this, params),
      ...conversations,
      'agents.chat.cancel': () => ({ cancelled: true }),
      'agents.chat.approve': (params) => ({ resolved: true, session_id: (params as { session_id: string }).session_id }),
      ...handlers,
    }
  }

  async request(method: string, params?: unknown): Promise<unknown> {
    this.calls.push({ method, params })
    const handler = this.handlers[method]
    if (!handler) throw new RpcError(ErrorCode.MethodNotFound, `method not found: ${method}`)
    return handler(params)
  }

  onNotification(listener: (n: HubNotification) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get listenerCount(): number {
    return this.listeners.size
  }

  callsOf(method: string): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params)
  }

  emit(method: string, params: unknown): void {
    for (const listener of [...this.listeners]) listener({ method, params })
  }

  /** An event of a session: recorded first if the session is a recorded turn (§11 rule 4), then sent to its owner. */
  chatEvent(params: Record<string, unknown>): void {
    if (!this.hub.route(params)) this.emit('agents.chat.event', { agent_id: 'echo', ...params })
  }

  hostEvent(kind: string, agentId: string | null, payload: Record<string, unknown>, sequence = this.hub.sequence + 1): void {
    this.hub.sequence = Math.max(this.hub.sequence, sequence)
    this.emit('host.event', {
      id: `evt-${sequence}`,
      sequence,
      timestamp: new Date(Date.UTC(2026, 0, 1)).toISOString(),
      kind,
      agent_id: agentId,
      message: kind,
      payload,
    })
  }
}

export function agent(id: string, name: string, status: AgentInfo['status'] = 'running'): AgentInfo {
  return {
    id,
    name,
    description: `${name} agent`,
    capabilities: ['chat'],
    status,
    pid: status === 'running' ? 4242 : null,
    restart_count: 0,
    sessions_active: 0,
    last_exit_code: null,
    models: [],
    default_model: null,
  }
}

/** A frame scheduler the test runs by hand. */
export function manualFrames() {
  const pending: Array<() => void> = []
  return {
    schedule: (run: () => void) => {
      pending.push(run)
    },
    get pending() {
      return pending.length
    },
    run() {
      for (const run of pending.splice(0)) run()
    },
  }
}
