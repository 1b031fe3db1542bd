import type { CarhostBridge, HubNotification } from '../../../src/protocol/bridge.js'
import { ErrorCode, RpcError } from '../../../src/protocol/errors.js'
import type { AgentInfo } from '../../../src/protocol/agent-info.js'

export interface RecordedCall {
  method: string
  params: unknown
}

type Handler = (params: unknown) => unknown

/**
 * A hub on the other side of `window.carhost`, played by the test: records every
 * request, answers with per-method handlers, and pushes notifications.
 */
export class FakeBridge implements CarhostBridge {
  readonly calls: RecordedCall[] = []
  private readonly listeners = new Set<(n: HubNotification) => void>()
  private sequence = 0
  readonly handlers: Record<string, Handler>

  constructor(agents: AgentInfo[] = [agent('echo', 'Echo')], handlers: Record<string, Handler> = {}) {
    this.handlers = {
      'host.subscribe': () => ({ client_id: 'host-1', agents, event_sequence: this.sequence }),
      'agents.list': () => ({ agents }),
      'agents.chat': (params) => ({ accepted: true, session_id: (params as { session_id: string }).session_id }),
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

  chatEvent(params: Record<string, unknown>): void {
    this.emit('agents.chat.event', { agent_id: 'echo', ...params })
  }

  hostEvent(kind: string, agentId: string | null, payload: Record<string, unknown>, sequence = this.sequence + 1): void {
    this.sequence = sequence
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
