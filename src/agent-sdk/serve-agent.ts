import type { Disposable } from '../base/lifecycle.js'
import { DisposableStore } from '../base/lifecycle.js'
import {
  AgentApproveParamsSchema,
  AgentCancelParamsSchema,
  AgentChatParamsSchema,
  AgentMethod,
  AgentModelsParamsSchema,
  type AgentChatParams,
  type AgentModel,
} from '../protocol/agent-api.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import { describeIssues } from '../protocol/jsonrpc.js'
import { RpcPeer } from '../protocol/rpc-peer.js'
import { processChannel, type AgentChannel } from './channel.js'
import { ChatTurn, type Turn, type TurnLink, type TurnResult } from './turn.js'

/**
 * Handles one chat turn. Its return value (or, if none, what it streamed) is the `done` text, or a
 * `TurnResult` with the `done` fields; a throw becomes `error`.
 */
export type AgentHandler = (turn: Turn) => Promise<string | TurnResult | void> | string | TurnResult | void

export interface ServeAgentOptions {
  /**
   * Runs before the SDK acknowledges `agent.chat`. Throw to refuse the chat: an
   * `RpcError` keeps its code, anything else is answered with -32603.
   */
  accept?(request: AgentChatParams): void | Promise<void>
  /** Defaults to the process's own channel (Electron parent port or fork IPC). */
  channel?: AgentChannel
  /** Exit the process when the hub goes away or sends SIGTERM. Default: true with the process channel. */
  exitWithHub?: boolean
}

export interface AgentServer extends Disposable {
  /** Turns acknowledged (or being accepted) and not ended yet. */
  readonly activeTurns: number
  /**
   * Tells the hub which models `agents.chat` may name (§6 v2, `agent.models`);
   * each call replaces the list. Throws when the list breaks the protocol's bounds.
   */
  announceModels(models: AgentModel[], defaultModel?: string): void
}

/**
 * Makes the current process an agent: acknowledges `agent.chat`, runs `handler`
 * once per turn, and guarantees each turn exactly one terminal event (or none
 * after the hub cancelled it).
 *
 * ```ts
 * serveAgent(async (turn) => {
 *   for (const word of turn.prompt.split(/(?<=\s)/)) turn.token(word)
 * })
 * ```
 */
export function serveAgent(handler: AgentHandler, options: ServeAgentOptions = {}): AgentServer {
  const ownChannel = options.channel === undefined
  const server = new AgentServerImpl(handler, options.channel ?? processChannel(), options.accept)
  if (options.exitWithHub ?? ownChannel) {
    const exit = (reason: string) => {
      server.shutdown(reason)
      process.exit(0)
    }
    server.store.add(server.channel.onDidClose(() => exit('the hub disconnected')))
    const onSigterm = () => exit('the agent was asked to stop')
    process.once('SIGTERM', onSigterm)
    server.store.add({ dispose: () => process.off('SIGTERM', onSigterm) })
  }
  return server
}

class AgentServerImpl implements AgentServer, TurnLink {
  readonly store = new DisposableStore()
  private readonly turns = new Map<string, ChatTurn>()
  private readonly peer: RpcPeer
  private nextSeq = 1

  constructor(
    private readonly handler: AgentHandler,
    readonly channel: AgentChannel,
    private readonly accept: ServeAgentOptions['accept'],
  ) {
    this.peer = new RpcPeer({
      send: (message) => channel.send(message),
      requestTimeoutMs: 0,
      handleRequest: (method, params) => this.onRequest(method, params),
      handleNotification: (method, params) => this.onNotification(method, params),
    })
    this.store.add(channel.onMessage((message) => this.peer.receive(message)))
    // §6 v2: listening now; the hub counts the agent as running from here.
    this.peer.notify(AgentMethod.ready, {})
  }

  announceModels(models: AgentModel[], defaultModel?: string): void {
    const params = AgentModelsParamsSchema.parse(defaultModel === undefined ? { models } : { models, default_model: defaultModel })
    this.peer.notify(AgentMethod.models, params)
  }

  get activeTurns(): number {
    return this.turns.size
  }

  send(message: object): void {
    this.channel.send(message)
  }

  nextId(prefix: 'call' | 'approval'): string {
    return `${prefix}-${this.nextSeq++}`
  }

  later(fn: () => void): void {
    // RpcPeer answers a request within the microtasks that follow it; a macrotask comes after.
    setImmediate(fn)
  }

  /** Cancels every turn and stops listening. */
  shutdown(reason: string): void {
    const turns = [...this.turns.values()]
    this.turns.clear()
    for (const turn of turns) turn.cancel(reason)
    this.store.dispose()
    this.peer.dispose(reason)
  }

  dispose(): void {
    this.shutdown('the agent server was disposed')
  }

  private async onRequest(method: string, params: unknown): Promise<unknown> {
    switch (method) {
      case AgentMethod.chat:
        return this.onChat(params)
      case AgentMethod.approve: {
        const parsed = AgentApproveParamsSchema.safeParse(params)
        if (!parsed.success) throw new RpcError(ErrorCode.InvalidParams, `invalid params: ${describeIssues(parsed.error)}`)
        const { session_id, approval_id, decision } = parsed.data
        return { resolved: this.turns.get(session_id)?.resolveApproval(approval_id, decision) ?? false }
      }
      default:
        throw new RpcError(ErrorCode.MethodNotFound, `method not found: ${method}`)
    }
  }

  private async onChat(params: unknown): Promise<{ accepted: true; session_id: string }> {
    const parsed = AgentChatParamsSchema.safeParse(params)
    if (!parsed.success) throw new RpcError(ErrorCode.InvalidParams, `invalid params: ${describeIssues(parsed.error)}`)
    const request = parsed.data
    const sessionId = request.session_id
    if (this.turns.has(sessionId)) {
      throw new RpcError(ErrorCode.SessionInFlight, `session_id '${sessionId}' is already running in this agent`)
    }
    const turn = new ChatTurn(request, this)
    // In the map while `accept` runs, so a cancel that arrives meanwhile finds it.
    this.turns.set(sessionId, turn)
    if (this.accept) {
      try {
        await this.accept(request)
      } catch (error) {
        if (this.turns.get(sessionId) === turn) this.turns.delete(sessionId)
        throw error
      }
    }
    // Start after the acknowledgement has gone out, so the turn's events follow it.
    setImmediate(() => void this.run(turn))
    return { accepted: true, session_id: sessionId }
  }

  private onNotification(method: string, params: unknown): void {
    if (method !== AgentMethod.cancel) return
    const parsed = AgentCancelParamsSchema.safeParse(params)
    if (!parsed.success) return
    const turn = this.turns.get(parsed.data.session_id)
    if (!turn) return
    this.turns.delete(turn.sessionId)
    turn.cancel('the hub cancelled the turn')
  }

  private async run(turn: ChatTurn): Promise<void> {
    if (!turn.isOpen) return
    try {
      turn.finish(await this.handler(turn))
    } catch (error) {
      turn.fail(error)
    } finally {
      if (this.turns.get(turn.sessionId) === turn) this.turns.delete(turn.sessionId)
    }
  }
}
