import { systemClock, type Clock } from '../base/clock.js'
import type { Disposable } from '../base/lifecycle.js'
import { ErrorCode, RpcError } from './errors.js'
import {
  RpcMessageSchema,
  errorResponse,
  notification,
  successResponse,
  type RequestId,
  type RpcResponse,
} from './jsonrpc.js'

export interface RpcPeerOptions {
  /** Hands one message to the other side. */
  send(message: object): void
  clock?: Clock
  /** Default time to wait for a response; 0 waits forever. */
  requestTimeoutMs?: number
  /** Answers the other side's requests; throw an RpcError to answer with an error. */
  handleRequest?(method: string, params: unknown): unknown
  handleNotification?(method: string, params: unknown): void
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
 * One end of a JSON-RPC 2.0 link: requests both ways, ids, timeouts. Used by agents,
 * clients and the hub's side of each agent. The hub's host side has its own
 * dispatcher because it also speaks batches and authentication.
 */
export class RpcPeer implements Disposable {
  private nextId = 1
  private readonly pending = new Map<RequestId, Pending>()
  private readonly clock: Clock
  private closedWith: RpcError | undefined

  constructor(private readonly options: RpcPeerOptions) {
    this.clock = options.clock ?? systemClock
  }

  get pendingRequests(): number {
    return this.pending.size
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
        reject(error)
      }
    })
  }

  notify(method: string, params?: unknown): void {
    if (this.closedWith) return
    this.options.send(params === undefined ? { jsonrpc: '2.0', method } : notification(method, params))
  }

  /** Parses and handles one message from the other side; a malformed one is ignored and reported. */
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

  /** Settles the request a (parsed) response answers. Unknown ids are ignored. */
  handleResponse(response: RpcResponse): boolean {
    if (response.id === null) return false
    const pending = this.settle(response.id)
    if (!pending) return false
    if ('error' in response) pending.reject(RpcError.from(response.error))
    else pending.resolve(response.result)
    return true
  }

  /** Fails every pending request; later requests fail at once. */
  dispose(reason = 'connection closed'): void {
    if (this.closedWith) return
    this.closedWith = new RpcError(ErrorCode.InternalError, reason)
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      pending.timer?.dispose()
      pending.reject(this.closedWith)
    }
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
      response = errorResponse(
        id,
        error instanceof RpcError
          ? error.toJSON()
          : { code: ErrorCode.InternalError, message: error instanceof Error ? error.message : String(error) },
      )
    }
    if (!this.closedWith) this.options.send(response)
  }
}
