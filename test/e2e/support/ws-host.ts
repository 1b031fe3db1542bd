import WebSocket from 'ws'
import { RpcError } from '../../../src/protocol/errors.js'
import { HostClient } from '../../../src/protocol/host-client.js'
import { RpcRequestSchema, RpcResponseSchema } from '../../../src/protocol/jsonrpc.js'

/** A notification the hub pushed (`agents.chat.event`, `host.event`). */
export interface WsNotification {
  method: string
  params: unknown
}

/** A WebSocket upgrade the hub answered with an HTTP status instead of 101. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`WebSocket upgrade refused with HTTP ${status}`)
  }
}

/**
 * A host on the hub's WebSocket for the tests' own look at the hub (`agents.list`,
 * `hub.stats`): authenticates with the token, then `client.call(...)` is typed
 * and its results are parsed with the protocol's schemas.
 */
export class WsHost {
  readonly client: HostClient
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>()
  private readonly listeners = new Set<(notification: WsNotification) => void>()
  private nextId = 1

  private constructor(private readonly socket: WebSocket) {
    this.client = new HostClient((method, params) => this.request(method, params))
    socket.on('message', (data) => {
      const message: unknown = JSON.parse(String(data))
      const notification = RpcRequestSchema.safeParse(message)
      if (notification.success && notification.data.id === undefined) {
        for (const listener of [...this.listeners]) listener({ method: notification.data.method, params: notification.data.params })
        return
      }
      const parsed = RpcResponseSchema.safeParse(message)
      if (!parsed.success || typeof parsed.data.id !== 'number') return
      const waiter = this.pending.get(parsed.data.id)
      if (!waiter) return
      this.pending.delete(parsed.data.id)
      if ('error' in parsed.data) waiter.reject(RpcError.from(parsed.data.error))
      else waiter.resolve(parsed.data.result)
    })
    socket.on('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('socket closed'))
      this.pending.clear()
    })
  }

  /** Opens the socket (rejects with UpgradeRefused when the hub says no) without authenticating. */
  static open(url: string, options: { origin?: string } = {}): Promise<WsHost> {
    const socket = new WebSocket(url, options.origin === undefined ? {} : { origin: options.origin })
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsHost(socket)))
      socket.once('unexpected-response', (_request, response) => {
        reject(new UpgradeRefused(response.statusCode ?? 0))
        socket.terminate()
      })
      socket.once('error', reject)
    })
  }

  static async connect(url: string, token: string, options: { origin?: string } = {}): Promise<WsHost> {
    const host = await WsHost.open(url, options)
    await host.request('session.auth', { host_token: token })
    return host
  }

  /** Hub notifications from now on; returns the unsubscribe function. */
  onNotification(listener: (notification: WsNotification) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  request(method: string, params?: unknown): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }))
    })
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      this.socket.close()
    })
  }
}
