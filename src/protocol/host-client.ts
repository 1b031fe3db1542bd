import { HostMethods, type HostMethod, type HostParams, type HostResult } from './host-api.js'

/** Sends one request and resolves with its raw result. */
export type RequestFn = (method: string, params?: unknown) => Promise<unknown>

/**
 * Typed host-side calls over any transport (a window's preload, a WebSocket, a test).
 * Results are parsed with the same schemas the hub answers with.
 */
export class HostClient {
  constructor(private readonly send: RequestFn) {}

  async call<M extends HostMethod>(method: M, ...args: {} extends HostParams<M> ? [HostParams<M>?] : [HostParams<M>]): Promise<HostResult<M>> {
    const raw = await this.send(method, args[0] ?? {})
    return HostMethods[method].result.parse(raw) as HostResult<M>
  }
}
