import WebSocket from 'ws'
import { Emitter } from '../base/event.js'
import type { Disposable } from '../base/lifecycle.js'
import { HostChatEventSchema, type HostChatEvent } from '../protocol/chat-events.js'
import { HostEventSchema, type HostEvent } from '../protocol/agent-info.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import { HostNotification } from '../protocol/host-api.js'
import { HostClient } from '../protocol/host-client.js'
import { RpcPeer } from '../protocol/rpc-peer.js'
import { CliError, ExitCode } from './exit-codes.js'
import type { HubLocation } from './hub-location.js'

/**
 * An authenticated WebSocket link to the hub: the shared JSON-RPC core
 * (`RpcPeer`) over a `ws` socket, typed requests through `client`, notifications
 * validated with the protocol's schemas before anyone sees them.
 */
export class HubConnection implements Disposable {
  readonly client: HostClient
  private readonly peer: RpcPeer
  private readonly chatEvents = new Emitter<HostChatEvent>()
  private readonly hostEvents = new Emitter<HostEvent>()
  private readonly closes = new Emitter<{ code: number; reason: string }>()
  private closed = false
  readonly onChatEvent = this.chatEvents.event
  readonly onHostEvent = this.hostEvents.event
  readonly onDidClose = this.closes.event

  private constructor(private readonly socket: WebSocket) {
    this.peer = new RpcPeer({
      send: (message) => {
        if (socket.readyState !== WebSocket.OPEN) throw new RpcError(ErrorCode.InternalError, 'connection closed')
        socket.send(JSON.stringify(message))
      },
      requestTimeoutMs: 30_000,
      handleNotification: (method, params) => this.onNotification(method, params),
    })
    this.client = new HostClient((method, params) => this.peer.request(method, params))
    socket.on('message', (data, isBinary) => {
      if (isBinary) return
      let value: unknown
      try {
        value = JSON.parse(data.toString())
      } catch {
        return
      }
      this.peer.receiveAll(value)
    })
    socket.on('close', (code, reason) => {
      this.closed = true
      this.peer.close('the hub closed the connection')
      this.closes.fire({ code, reason: reason.toString() })
    })
  }

  /** Connects and authenticates; fails with exit code 3 when either does not work. */
  static async open(location: HubLocation, options: { timeoutMs?: number } = {}): Promise<HubConnection> {
    const timeoutMs = options.timeoutMs ?? 5_000
    const socket = new WebSocket(location.url, { handshakeTimeout: timeoutMs, perMessageDeflate: false })
    await new Promise<void>((resolveOpen, reject) => {
      const unreachable = (why: string) =>
        reject(new CliError(ExitCode.Unreachable, `cannot connect to the hub at ${location.url} (from ${location.source}): ${why}`))
      socket.once('open', () => resolveOpen())
      socket.once('unexpected-response', (_req, res) => {
        unreachable(`HTTP ${res.statusCode}`)
        socket.terminate()
      })
      socket.once('error', (error: NodeJS.ErrnoException) => unreachable(error.code ?? error.message))
    })
    socket.on('error', () => {})
    const connection = new HubConnection(socket)
    try {
      await connection.client.call('session.auth', { host_token: location.token })
    } catch (error) {
      connection.dispose()
      const refused = error instanceof RpcError && error.code === ErrorCode.NotAuthenticated
      throw new CliError(
        ExitCode.Unreachable,
        refused ? 'the hub refused the host token' : `cannot authenticate to the hub: ${(error as Error).message}`,
      )
    }
    return connection
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Closes the socket and resolves once it is closed (bounded by ws's close timeout). */
  close(): Promise<void> {
    if (this.closed || this.socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolveClose) => {
      this.socket.once('close', () => resolveClose())
      this.socket.close(1000, 'bye')
    })
  }

  dispose(): void {
    this.peer.dispose()
    this.chatEvents.dispose()
    this.hostEvents.dispose()
    if (!this.closed) this.socket.terminate()
  }

  private onNotification(method: string, params: unknown): void {
    if (method === HostNotification.chatEvent) {
      const parsed = HostChatEventSchema.safeParse(params)
      if (parsed.success) this.chatEvents.fire(parsed.data as HostChatEvent)
    } else if (method === HostNotification.hostEvent) {
      const parsed = HostEventSchema.safeParse(params)
      if (parsed.success) this.hostEvents.fire(parsed.data)
    }
  }
}
