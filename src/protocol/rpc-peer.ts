import { systemClock, type Clock } from '../base/clock.js'
import { Emitter, type Event } from '../base/event.js'
import type { Disposable } from '../base/lifecycle.js'
import { ErrorCode, RpcError, type RpcErrorObject } from './errors.js'
import {
  RpcMessageSchema,
  errorResponse,
  notification,
  successResponse,
  type RequestId,
  type RpcResponse,
} from './jsonrpc.js'

export interface RpcPeerOptions {
  /** Hands one message to the other side; may throw when the link is gone. */
  send(message: object): void
  clock?: Clock
  /** Default time to wait for a response; 0 waits forever. Default 30 s. */
  requestTimeoutMs?: number
  /** Answers the other side's requests; throw an RpcError to answer with an error. Omitted: -32601. */
  handleRequest?(method: string, params: unknown): unknown
  handleNotification?(method: string, params: unknown): void
  /** An error response without an id: the other side could not read one of our messages (§1). */
  handleUnmatchedError?(error: RpcErrorObject): void
}

/**
 * This side gave up waiting for an answer (-32004). A distinct class, so an error
 * the other side sent with the same code is never mistaken for a timeout.
 */
export class RequestTimeoutError extends RpcError {
  constructor(message: string) {
    super(ErrorCode.AckTimeout, message)
    this.name = 'RequestTimeoutError'
  }
}

interface Pending {
  resolve(value: unknown): void
  reject(error: unknown): void
  timer: Disposable | undefined
}

/**
 * The one JSON-RPC 2.0 endpoint: ids, the pending map, RpcError results,
 * optional timeouts on the injected clock, requests both ways. A transport
 * adapter (agent IPC, a window's MessagePort, a WebSocket) only moves messages
 * in and out and calls `close` when its link is gone. The hub's host side has
 * its own dispatcher because it also speaks batches and authentication.
 */
export class RpcPeer implements Disposable {
  private nextId = 1
  private readonly pending = new Map<RequestId, Pending>()
  private readonly clock: Clock
  private closedWith: RpcError | undefined
  private readonly closeEmitter = new Emitter<RpcError>()
  /** Fires once, when the link is closed for good, with the error pending and later requests fail with. */
  readonly onDidClose: Event<RpcError> = this.closeEmitter.event

  constructor(private readonly options: RpcPeerOptions) {
    this.clock = options.clock ?? systemClock
  }

  get pendingRequests(): number {
    return this.pending.size
  }

  /** The error of `close`, once closed. */
  get closeError(): RpcError | undefined {
    return this.closedWith
  }

  request(method: string, params?: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith)
    const id = this.nextId++
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? this.clock.setTimeout(() => {
              if (this.pending.delete(id)) {
                reject(new RequestTimeoutError(`no answer to '${method}' within ${timeoutMs} ms`))
              }
            }, timeoutMs)
          : undefined
      this.pending.set(id, { resolve, reject, timer })
      try {
        this.options.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })
      } catch (error) {
        this.settle(id)
        reject(toRpcError(error))
      }
    })
  }

  notify(method: string, params?: unknown): void {
    if (this.closedWith) return
    this.options.send(params === undefined ? { jsonrpc: '2.0', method } : notification(method, params))
  }

  /** Parses and handles one message from the other side; a malformed one is ignored (false). */
  receive(raw: unknown): boolean {
    const parsed = RpcMessageSchema.safeParse(raw)
    if (!parsed.success) return false
    const message = parsed.data
    if ('method' in message) {
      if (message.id === undefined) this.options.handleNotification?.(message.method, message.params)
      else void this.answer(message.id, message.method, message.params)
    } else {
      this.handleResponse(message)
    }
    return true
  }

  /** `receive` for a value that may be a batch (an array of messages). */
  receiveAll(raw: unknown): void {
    if (Array.isArray(raw)) for (const item of raw) this.receive(item)
    else this.receive(raw)
  }

  /** Settles the request a (parsed) response answers. Unknown ids are ignored. */
  handleResponse(response: RpcResponse): boolean {
    if (response.id === null) {
      if ('error' in response) this.options.handleUnmatchedError?.(response.error)
      return false
    }
    const pending = this.settle(response.id)
    if (!pending) return false
    if ('error' in response) pending.reject(RpcError.from(response.error))
    else pending.resolve(response.result)
    return true
  }

  /** The link was reset (a new one follows): fails what was sent on it; the peer stays usable. */
  failPending(error: RpcError): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      pending.timer?.dispose()
      pending.reject(error)
    }
  }

  /** The link is gone for good: fails every pending request, later ones fail at once, fires `onDidClose`. */
  close(error: RpcError | string = 'connection closed'): void {
    if (this.closedWith) return
    this.closedWith = typeof error === 'string' ? new RpcError(ErrorCode.InternalError, error) : error
    this.failPending(this.closedWith)
    this.closeEmitter.fire(this.closedWith)
    this.closeEmitter.dispose()
  }

  dispose(reason = 'connection closed'): void {
    this.close(reason)
  }

  private settle(id: RequestId): Pending | undefined {
    const pending = this.pending.get(id)
    if (!pending) return undefined
    this.pending.delete(id)
    pending.timer?.dispose()
    return pending
  }

  private async answer(id: RequestId | null, method: string, params: unknown): Promise<void> {
    let response: object
    try {
      if (!this.options.handleRequest) throw new RpcError(ErrorCode.MethodNotFound, `method not found: ${method}`)
      response = successResponse(id, await this.options.handleRequest(method, params))
    } catch (error) {
      response = errorResponse(id, toRpcError(error).toJSON())
    }
    if (this.closedWith) return
    try {
      this.options.send(response)
    } catch {
      // the link went away while answering; its close follows
    }
  }
}

function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error
  return new RpcError(ErrorCode.InternalError, error instanceof Error ? error.message : String(error))
}
