import { Emitter, type Event } from '../base/event.js'
import { BridgeMethod, type CarhostBridge, type HubNotification } from '../protocol/bridge.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import { RpcPeer } from '../protocol/rpc-peer.js'
import { ACK_METHOD } from './channels.js'

/** The DOM `MessagePort` surface the client uses (the preload gets a real one). */
export interface HubPort {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close', listener: () => void): void
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  removeEventListener(type: 'close', listener: () => void): void
  start(): void
  close(): void
}

export interface HubPortClientOptions {
  /** Opens a new CarHost window (the preload forwards to the main process). */
  openNewWindow(): Promise<unknown>
  /** Acknowledge at once after this many messages; the rest go at the end of the macrotask. Default 64. */
  ackEvery?: number
  /** Runs `fn` in a later macrotask; default `setTimeout(fn, 0)`. */
  scheduleMacrotask?: (fn: () => void) => void
  /** Requests kept while no port has arrived yet; default 1024. */
  maxQueued?: number
  /** Where an exception from a page listener goes; default the page's `reportError` (its console). */
  reportListenerError?: (error: unknown) => void
}

type State = 'waiting' | 'open' | 'closed'

/**
 * The preload's end of a window's hub link: the shared JSON-RPC core
 * (`RpcPeer`) over a MessagePort, plus what only a window needs: requests
 * queued until the first port arrives, `app.newWindow` answered by the main
 * process, and flow control. Every message the page consumed is acknowledged
 * with `host.ack {count}`, batched per `ackEvery` messages or per macrotask, so
 * the hub can tell a hung window from a busy one (PROTOCOL.md §8).
 *
 * When the hub closes the port (hard cap, shutdown) pending requests fail and
 * `onDidClose` fires; the preload then asks the main process for a new port,
 * and `onDidReconnect` fires when it arrives.
 */
export class HubPortClient implements CarhostBridge {
  private port: HubPort | null = null
  private state: State = 'waiting'
  private readonly peer: RpcPeer
  private queued: object[] = []
  private listeners: ReadonlyArray<(notification: HubNotification) => void> = []
  private readonly closeEmitter = new Emitter<RpcError>()
  private readonly reconnectEmitter = new Emitter<void>()
  /** The port was lost; the next `attachPort` is a reconnection. */
  private lost = false
  private unacked = 0
  private ackScheduled = false
  private readonly ackEvery: number
  private readonly maxQueued: number
  private readonly scheduleMacrotask: (fn: () => void) => void
  private readonly reportListenerError: (error: unknown) => void
  /** Fires each time the hub link drops, with the error pending requests failed with. */
  readonly onDidCloseLink: Event<RpcError> = this.closeEmitter.event
  /** Fires when a port arrives after the link dropped. */
  readonly onDidReconnectLink: Event<void> = this.reconnectEmitter.event

  private readonly onPortMessage = (event: { data: unknown }): void => this.receive(event.data)
  private readonly onPortClose = (): void => this.portClosed()
  private readonly flushAck = (): void => {
    this.ackScheduled = false
    this.sendAck()
  }

  constructor(private readonly options: HubPortClientOptions) {
    this.ackEvery = Math.max(1, options.ackEvery ?? 64)
    this.maxQueued = options.maxQueued ?? 1024
    this.scheduleMacrotask = options.scheduleMacrotask ?? ((fn) => void setTimeout(fn, 0))
    this.reportListenerError = options.reportListenerError ?? defaultReportError
    this.peer = new RpcPeer({
      send: (message) => {
        if (this.port) this.port.postMessage(message)
        else this.queued.push(message)
      },
      // A window's requests wait as long as its link lives (a chat may wait on an approval).
      requestTimeoutMs: 0,
      handleNotification: (method, params) => this.notify({ method, params }),
    })
  }

  /** Number of requests awaiting an answer (sent or queued). */
  get pendingRequests(): number {
    return this.peer.pendingRequests
  }

  /** Takes a (new) port from the main process. A previous link is dropped and its requests fail. */
  attachPort(port: HubPort): void {
    if (this.port) {
      this.detach()
      this.peer.failPending(new RpcError(ErrorCode.InternalError, 'the connection to the hub was reset'))
      this.queued = []
    }
    this.port = port
    this.state = 'open'
    this.unacked = 0
    port.addEventListener('message', this.onPortMessage)
    port.addEventListener('close', this.onPortClose)
    port.start()
    const queued = this.queued
    this.queued = []
    for (const message of queued) port.postMessage(message)
    if (this.lost) {
      this.lost = false
      this.reconnectEmitter.fire()
    }
  }

  request(method: string, params?: unknown): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0 || method.length > 256) {
      return Promise.reject(new RpcError(ErrorCode.InvalidRequest, 'invalid request: method must be a non-empty string'))
    }
    if (method === BridgeMethod.newWindow) return this.newWindow(params)
    if (method === ACK_METHOD) return Promise.reject(new RpcError(ErrorCode.InvalidRequest, `'${ACK_METHOD}' is reserved`))
    if (params !== undefined && !isPlainData(params)) {
      return Promise.reject(new RpcError(ErrorCode.InvalidParams, 'invalid params: only plain JSON data can be sent'))
    }
    if (this.state === 'closed') return Promise.reject(new RpcError(ErrorCode.InternalError, 'not connected to the hub'))
    if (this.state === 'waiting' && this.queued.length >= this.maxQueued) {
      return Promise.reject(new RpcError(ErrorCode.InternalError, 'too many requests before the hub connected'))
    }
    return this.peer.request(method, params)
  }

  onNotification(listener: (notification: HubNotification) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function')
    this.listeners = [...this.listeners, listener]
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  private newWindow(params: unknown): Promise<unknown> {
    if (params !== undefined && !(isPlainObject(params) && Object.keys(params).length === 0)) {
      return Promise.reject(new RpcError(ErrorCode.InvalidParams, `invalid params: '${BridgeMethod.newWindow}' takes none`))
    }
    return this.options.openNewWindow().then(
      (result) => result,
      () => Promise.reject(new RpcError(ErrorCode.InternalError, 'could not open a new window')),
    )
  }

  private receive(data: unknown): void {
    this.peer.receiveAll(data)
    // Counted once the page's listeners returned: the page consumed it.
    if (++this.unacked >= this.ackEvery) this.sendAck()
    else if (!this.ackScheduled) {
      this.ackScheduled = true
      this.scheduleMacrotask(this.flushAck)
    }
  }

  /** A notification of the window's own (the app menu), not the hub's: given to the page's listeners, never acknowledged. */
  deliverLocal(notification: HubNotification): void {
    this.notify(notification)
  }

  private notify(notification: HubNotification): void {
    const listeners = this.listeners
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(notification)
      } catch (error) {
        // One failing listener must not starve the others.
        this.reportListenerError(error)
      }
    }
  }

  private sendAck(): void {
    if (this.unacked === 0 || !this.port) return
    const count = this.unacked
    this.unacked = 0
    this.port.postMessage({ jsonrpc: '2.0', method: ACK_METHOD, params: { count } })
  }

  private portClosed(): void {
    this.detach()
    this.state = 'closed'
    this.lost = true
    this.queued = []
    const error = new RpcError(ErrorCode.InternalError, 'the hub closed the connection')
    this.peer.failPending(error)
    this.closeEmitter.fire(error)
  }

  private detach(): void {
    const port = this.port
    if (!port) return
    this.port = null
    port.removeEventListener('message', this.onPortMessage)
    port.removeEventListener('close', this.onPortClose)
    try {
      port.close()
    } catch {
      // already closed
    }
  }
}

function defaultReportError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError
  if (typeof report === 'function') report(error)
  else
    queueMicrotask(() => {
      throw error
    })
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * True for JSON-shaped data: null, booleans, finite numbers, strings, arrays and
 * plain objects of those (object properties may be undefined), without cycles, at
 * most `maxDepth` deep. What the page
 * hands over is checked before it is posted, so nothing else reaches the hub.
 */
export function isPlainData(value: unknown, maxDepth = 64): boolean {
  const seen = new Set<object>()
  const visit = (item: unknown, depth: number): boolean => {
    switch (typeof item) {
      case 'string':
      case 'boolean':
        return true
      case 'number':
        return Number.isFinite(item)
      case 'object': {
        if (item === null) return true
        if (depth >= maxDepth || seen.has(item)) return false
        seen.add(item)
        let ok: boolean
        if (Array.isArray(item)) {
          ok = Object.getPrototypeOf(item) === Array.prototype && item.every((element) => visit(element, depth + 1))
        } else if (isPlainObject(item)) {
          // An undefined property is allowed: it is how optional fields are often left out.
          ok =
            Object.getOwnPropertySymbols(item).length === 0 &&
            Object.values(item).every((v) => v === undefined || visit(v, depth + 1))
        } else ok = false
        seen.delete(item)
        return ok
      }
      default:
        return false
    }
  }
  return visit(value, 0)
}
