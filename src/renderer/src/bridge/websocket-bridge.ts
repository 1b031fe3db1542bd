import type { CarhostBridge, HubNotification } from '../../../protocol/bridge.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import { HostMethods } from '../../../protocol/host-api.js'
import { RpcPeer } from '../../../protocol/rpc-peer.js'

/** The part of the DOM WebSocket the bridge uses, so tests can hand in a fake. */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((event: Event) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onerror: ((event: Event) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type WebSocketFactory = (url: string) => WebSocketLike

export type BridgeStatus = 'connecting' | 'open' | 'closed'

export interface WebSocketBridgeOptions {
  url: string
  token: string
  createSocket?: WebSocketFactory
}

const OPEN = 1

/**
 * `window.carhost` for a browser tab: the shared JSON-RPC core (`RpcPeer`) over
 * the headless hub's WebSocket, one JSON text per frame. The first request is
 * always `session.auth` (PROTOCOL.md §2); requests made before it succeeds wait
 * for it, and fail with its error if it does not.
 */
export class WebSocketBridge implements CarhostBridge {
  private readonly socket: WebSocketLike
  private readonly peer: RpcPeer
  /** Frames of requests made before authentication, sent once it succeeds. */
  private waiting: string[] = []
  private readonly notificationListeners = new Set<(notification: HubNotification) => void>()
  private authenticated = false
  /** True only while `session.auth` itself is being sent: it goes ahead of everything waiting. */
  private sendingAuth = false
  private statusValue: BridgeStatus = 'connecting'
  /** The hub's id for this connection, from `session.auth`. */
  clientId: string | undefined

  constructor(private readonly options: WebSocketBridgeOptions) {
    this.peer = new RpcPeer({
      send: (message) => {
        const frame = JSON.stringify(message)
        if (!this.authenticated && !this.sendingAuth && !('result' in message || 'error' in message)) this.waiting.push(frame)
        else if (this.socket.readyState === OPEN) this.socket.send(frame)
      },
      requestTimeoutMs: 0,
      handleNotification: (method, params) => this.notify({ method, params }),
      // The hub could not read one of our requests; it cannot be matched to a caller.
      handleUnmatchedError: (error) => console.warn(`carhost: hub error without id: ${error.message}`),
    })
    this.peer.onDidClose(() => {
      this.statusValue = 'closed'
      this.waiting = []
    })
    this.socket = (options.createSocket ?? ((url) => new WebSocket(url)))(options.url)
    this.socket.onopen = () => this.authenticate()
    this.socket.onmessage = (event) => this.receive(event.data)
    this.socket.onclose = (event) => this.closed(event.reason || `connection closed (code ${event.code})`)
    // An error is always followed by close, which does the cleanup.
    this.socket.onerror = () => {}
  }

  get status(): BridgeStatus {
    return this.statusValue
  }

  request(method: string, params?: unknown): Promise<unknown> {
    return this.peer.request(method, params)
  }

  onNotification(listener: (notification: HubNotification) => void): () => void {
    this.notificationListeners.add(listener)
    return () => this.notificationListeners.delete(listener)
  }

  /**
   * Called once, when the connection is gone for good, with the error pending and
   * later requests fail with (code -32001 when authentication failed).
   */
  onDidClose(listener: (error: RpcError) => void): () => void {
    const closed = this.peer.closeError
    if (closed) {
      listener(closed)
      return () => {}
    }
    const subscription = this.peer.onDidClose(listener)
    return () => subscription.dispose()
  }

  dispose(): void {
    this.socket.close(1000, 'closed by the page')
    this.closed('closed by the page')
  }

  private authenticate(): void {
    if (this.peer.closeError) return
    this.statusValue = 'open'
    this.sendingAuth = true
    let auth: Promise<unknown>
    try {
      auth = this.peer.request('session.auth', { host_token: this.options.token })
    } finally {
      this.sendingAuth = false
    }
    auth.then(
      (result) => {
        const parsed = HostMethods['session.auth'].result.safeParse(result)
        if (!parsed.success) {
          this.fail(new RpcError(ErrorCode.NotAuthenticated, 'unexpected answer to session.auth'))
          return
        }
        this.clientId = parsed.data.client_id
        this.authenticated = true
        const waiting = this.waiting
        this.waiting = []
        for (const frame of waiting) if (this.socket.readyState === OPEN) this.socket.send(frame)
      },
      (error: unknown) =>
        this.fail(error instanceof RpcError ? error : new RpcError(ErrorCode.NotAuthenticated, 'not authenticated')),
    )
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return
    let raw: unknown
    try {
      raw = JSON.parse(data)
    } catch {
      console.warn('carhost: ignored a frame that is not JSON')
      return
    }
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      if (!this.peer.receive(item)) console.warn('carhost: ignored a malformed JSON-RPC message')
    }
  }

  private notify(notification: HubNotification): void {
    for (const listener of [...this.notificationListeners]) {
      try {
        listener(notification)
      } catch (error) {
        console.error('carhost: a notification listener threw', error)
      }
    }
  }

  /** Authentication failed: every caller gets its error, and the connection is closed. */
  private fail(error: RpcError): void {
    this.peer.close(error)
    this.socket.close(4001, 'not authenticated')
  }

  private closed(reason: string): void {
    this.peer.close(new RpcError(ErrorCode.InternalError, `disconnected from the hub: ${reason}`))
  }
}
