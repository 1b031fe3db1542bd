import { Emitter } from '../base/event.js'
import { DisposableStore, type Disposable } from '../base/lifecycle.js'
import { ErrorCode, RpcError, type RpcErrorObject } from '../protocol/errors.js'
import { HostMethods, isHostMethod, type HostMethod } from '../protocol/host-api.js'
import { approximateJsonSize } from '../protocol/json-size.js'
import {
  RpcRequestSchema,
  describeIssues,
  errorResponse,
  readableId,
  successResponse,
  type RequestId,
} from '../protocol/jsonrpc.js'
import type { CallContext, HostEndpoint } from './chat-router.js'
import { HostOutbox } from './host-outbox.js'
import type { HostTransport } from './host-transport.js'
import type { z } from 'zod'

export type HostMethodHandler<M extends HostMethod> = (
  host: HostConnection,
  params: z.infer<(typeof HostMethods)[M]['params']>,
  ctx: CallContext,
) => unknown

export type HostMethodTable = { [M in HostMethod]: HostMethodHandler<M> }

export interface HostConnectionOptions {
  clientId: string
  methods: HostMethodTable
  hardCapBytes: number
  /** When set, the first request must be `session.auth` with a token this accepts (§2). */
  authenticate?: (token: string) => boolean
  /** Bound on requests waiting on an agent or a timer (§8); past it the host gets -32603 for new ones. */
  maxInFlight: number
  onMerged(): void
  onOverflow(host: HostConnection): void
  onDidDisconnect(host: HostConnection): void
  /** A bug in the hub's own code while answering; logged, never thrown into the transport. */
  onInternalError(error: unknown): void
}

type Response = ReturnType<typeof successResponse> | ReturnType<typeof errorResponse>
type AuthResult = z.infer<(typeof HostMethods)['session.auth']['result']>

/**
 * One connected host: authentication (the only place that decides it, §2), JSON-RPC
 * dispatch (single and batch), and the outbox every message to it goes through.
 * Disposing it disconnects the host.
 */
export class HostConnection implements HostEndpoint, Disposable {
  readonly outbox: HostOutbox
  subscribed = false
  private authenticated: boolean
  private inFlight = 0
  private closed = false
  private readonly store = new DisposableStore()
  private readonly didAuthenticate = this.store.add(new Emitter<void>())
  /** Fires once, when a host that had to authenticate has done so (never for a trusted transport). */
  readonly onDidAuthenticate = this.didAuthenticate.event

  constructor(
    private readonly transport: HostTransport,
    private readonly options: HostConnectionOptions,
  ) {
    this.authenticated = options.authenticate === undefined
    this.outbox = this.store.add(
      new HostOutbox(transport, {
        hardCapBytes: options.hardCapBytes,
        onMerged: options.onMerged,
        onOverflow: () => options.onOverflow(this),
      }),
    )
    this.store.add(transport.onMessage((message) => this.receive(message)))
    this.store.add(transport.onDidDisconnect(() => this.dispose()))
  }

  get clientId(): string {
    return this.options.clientId
  }

  get isAuthenticated(): boolean {
    return this.authenticated
  }

  get isClosed(): boolean {
    return this.closed
  }

  /**
   * `session.auth` (§2): the success payload, or -32001 for a token that does not
   * match. A host on a trusted transport is always authenticated.
   */
  authenticate(token: string): AuthResult {
    if (this.options.authenticate && !this.options.authenticate(token)) {
      throw new RpcError(ErrorCode.NotAuthenticated, 'not authenticated')
    }
    if (!this.authenticated) {
      this.authenticated = true
      this.didAuthenticate.fire()
    }
    return { ok: true, role: 'host', client_id: this.clientId }
  }

  close(reason: string): void {
    if (this.closed) return
    this.transport.close(reason)
    this.dispose()
  }

  dispose(): void {
    if (this.closed) return
    this.closed = true
    this.store.dispose()
    this.options.onDidDisconnect(this)
  }

  private receive(raw: unknown): void {
    if (this.closed) return
    if (!this.authenticated) {
      this.receiveFirst(raw)
      return
    }
    if (Array.isArray(raw)) {
      this.receiveBatch(raw).catch((error: unknown) => this.options.onInternalError(error))
      return
    }
    const hooks: Array<() => void> = []
    this.handle(raw, hooks)
      .then((response) => {
        if (response !== null) this.respond(response)
        for (const hook of hooks) hook()
      })
      .catch((error: unknown) => this.options.onInternalError(error))
  }

  private receiveFirst(raw: unknown): void {
    const parsed = RpcRequestSchema.safeParse(raw)
    const request = parsed.success ? parsed.data : undefined
    if (request?.method === 'session.auth' && request.id !== undefined) {
      const params = HostMethods['session.auth'].params.safeParse(request.params ?? {})
      if (params.success) {
        let result: AuthResult | undefined
        try {
          result = this.authenticate(params.data.host_token)
        } catch {
          // a wrong token: answered below like any other refused first message
        }
        if (result) {
          this.respond(successResponse(request.id, result))
          return
        }
      }
    }
    this.respond(errorResponse(readableId(raw), { code: ErrorCode.NotAuthenticated, message: 'not authenticated' }))
    this.close('not authenticated')
  }

  private async receiveBatch(items: unknown[]): Promise<void> {
    if (items.length === 0) {
      this.respond(errorResponse(null, { code: ErrorCode.InvalidRequest, message: 'invalid request: empty batch' }))
      return
    }
    const hooks: Array<() => void> = []
    // Array.from visits the holes of a sparse array (structured clone keeps them); map would skip them.
    const responses = await Promise.all(Array.from(items, (item) => this.handle(item, hooks)))
    const answered = responses.filter((response): response is Response => response !== null)
    if (answered.length > 0) this.respond(answered)
    for (const hook of hooks) hook()
  }

  /** Runs one request; resolves with its response, or null for a notification. */
  private async handle(raw: unknown, hooks: Array<() => void>): Promise<Response | null> {
    const parsed = RpcRequestSchema.safeParse(raw)
    if (!parsed.success) {
      return errorResponse(readableId(raw), { code: ErrorCode.InvalidRequest, message: 'invalid request' })
    }
    const { id, method, params } = parsed.data
    const answer = (result: unknown): Response | null => (id === undefined ? null : successResponse(id, result))
    const fail = (error: RpcErrorObject): Response | null => (id === undefined ? null : errorResponse(id, error))
    if (!isHostMethod(method)) return fail({ code: ErrorCode.MethodNotFound, message: `method not found: ${method}` })
    if (Array.isArray(params)) return fail({ code: ErrorCode.InvalidParams, message: 'invalid params: params must be an object' })
    const checked = HostMethods[method].params.safeParse(params ?? {})
    if (!checked.success) {
      return fail({ code: ErrorCode.InvalidParams, message: `invalid params: ${describeIssues(checked.error)}` })
    }
    if (this.inFlight >= this.options.maxInFlight) {
      return fail({ code: ErrorCode.InternalError, message: 'too many requests in flight on this connection' })
    }
    try {
      const handler = this.options.methods[method] as HostMethodHandler<HostMethod>
      const result = handler(this, checked.data as never, { afterResponse: (fn) => hooks.push(fn) })
      // §8: only a request that waits (on an agent or a timer) counts towards the bound.
      if (!isThenable(result)) return answer(result)
      this.inFlight++
      try {
        return answer(await result)
      } finally {
        this.inFlight--
      }
    } catch (error) {
      if (error instanceof RpcError) return fail(error.toJSON())
      return fail({ code: ErrorCode.InternalError, message: 'internal error' })
    }
  }

  private respond(response: Response | Response[]): void {
    if (this.closed) return
    this.outbox.push(response, responseSize(response))
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function responseSize(response: object): number {
  const size = approximateJsonSize(response)
  return size < 0 ? 1024 : size
}

export type { RequestId }
