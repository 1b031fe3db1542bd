import type { CarhostBridge, HubNotification } from '../../../protocol/bridge.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import { HostMethods } from '../../../protocol/host-api.js'
import { RpcMessageSchema, type RequestId } from '../../../protocol/jsonrpc.js'

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

interface Pending {
  method: string
  resolve(value: unknown): void
  reject(error: unknown): void
}

const OPEN = 1

/**
 * `window.carhost` for a browser tab: JSON-RPC 2.0 over the headless hub's
 * WebSocket, one JSON text per frame. The first request is always
 * `session.auth`; requests made before it succeeds wait for it, and fail with
 * its error if it does not.
 */
export class WebSocketBridge implements CarhostBridge {
  private readonly socket: WebSocketLike
  private readonly pending = new Map<RequestId, Pending>()
  /** Frames of requests made before authentication, sent once it succeeds. */
  private waiting: string[] = []
  private readonly notificationListeners = new Set<(notification: HubNotification) => void>()
  private readonly closeListeners = new Set<(error: RpcError) => void>()
  private nextId = 1
  private authenticated = false
  private closedWith: RpcError | undefined
  private statusValue: BridgeStatus = 'connecting'
  /** The hub's id for this connection, from `session.auth`. */
  clientId: string | undefined

  constructor(private readonly options: WebSocketBridgeOptions) {
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
    if (this.closedWith) return Promise.reject(this.closedWith)
    return this.send(method, params, !this.authenticated)
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
    if (this.closedWith) {
      listener(this.closedWith)
      return () => {}
    }
    this.closeListeners.add(listener)
    return () => this.closeListeners.delete(listener)
  }

  dispose(): void {
    this.socket.close(1000, 'closed by the page')
    this.closed('closed by the page')
  }

  private send(method: string, params: unknown, hold: boolean): Promise<unknown> {
    const id = this.nextId++
    const frame = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject })
      if (hold) {
        this.waiting.push(frame)
        return
      }
      try {
        this.socket.send(frame)
      } catch (error) {
        this.pending.delete(id)
        reject(new RpcError(ErrorCode.InternalError, error instanceof Error ? error.message : 'send failed'))
      }
    })
  }

  private authenticate(): void {
    if (this.closedWith) return
    this.statusValue = 'open'
    // Sent ahead of anything waiting: the hub refuses any other first message.
    const auth = this.send('session.auth', { host_token: this.options.token }, false)
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
    if (Array.isArray(raw)) for (const item of raw) this.handle(item)
    else this.handle(raw)
  }

  private handle(raw: unknown): void {
    const parsed = RpcMessageSchema.safeParse(raw)
    if (!parsed.success) {
      console.warn('carhost: ignored a malformed JSON-RPC message')
      return
    }
    const message = parsed.data
    if ('method' in message) {
      if (message.id === undefined || message.id === null) {
        this.notify({ method: message.method, params: message.params })
      } else if (this.socket.readyState === OPEN) {
        // A host serves no methods.
        this.socket.send(
          JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: ErrorCode.MethodNotFound, message: `method not found: ${message.method}` } }),
        )
      }
      return
    }
    if (message.id === null) {
      // The hub could not read one of our requests; it cannot be matched to a caller.
      if ('error' in message) console.warn(`carhost: hub error without id: ${message.error.message}`)
      return
    }
    const pending = this.pending.get(message.id)
    if (!pending) return
    this.pending.delete(message.id)
    if ('error' in message) pending.reject(RpcError.from(message.error))
    else pending.resolve(message.result)
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
    this.rejectAll(error)
    this.socket.close(4001, 'not authenticated')
    this.closed(error.message, error)
  }

  private closed(reason: string, error = new RpcError(ErrorCode.InternalError, `disconnected from the hub: ${reason}`)): void {
    if (this.closedWith) return
    this.closedWith = error
    this.statusValue = 'closed'
    this.rejectAll(error)
    for (const listener of [...this.closeListeners]) listener(error)
    this.closeListeners.clear()
  }

  private rejectAll(error: RpcError): void {
    this.waiting = []
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      pending.reject(error)
    }
  }
}
