import { Emitter } from '../../base/event.js'
import { type Disposable, DisposableStore } from '../../base/lifecycle.js'
import { RpcPeer } from '../../protocol/rpc-peer.js'
import { HostClient } from '../../protocol/host-client.js'
import type { HostTransport } from '../../hub/host-transport.js'

export interface InProcessHostOptions {
  /** Bytes the host may hold unread before the hub sees it as lagging. */
  highWaterBytes?: number
  requestTimeoutMs?: number
}

/**
 * A host living in the hub's own process: the transport for tests and benchmarks.
 * Messages cross asynchronously (one microtask), like on a real link, and the host
 * can stop reading (`pause`) to play a hung window.
 */
export class InProcessHost implements Disposable {
  readonly transport: HostTransport
  readonly peer: RpcPeer
  readonly client: HostClient
  private readonly toHost: object[] = []
  private toHostBytes = 0
  private readonly sizes: number[] = []
  private paused = false
  private scheduled = false
  private connected = true
  /** Every emitter this object owns, disposed as one (STYLE.md). */
  private readonly emitters = new DisposableStore()
  private readonly notifications = this.emitters.add(new Emitter<{ method: string; params: unknown }>())
  private readonly hubMessages = this.emitters.add(new Emitter<unknown>())
  private readonly drain = this.emitters.add(new Emitter<void>())
  private readonly disconnect = this.emitters.add(new Emitter<void>())
  private readonly highWaterBytes: number
  readonly onNotification = this.notifications.event
  /** Every message the hub sent, in order, as delivered. */
  readonly received: object[] = []
  recordReceived = true

  constructor(options: InProcessHostOptions = {}) {
    this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024
    const self = this
    this.transport = {
      send: (message, size) => this.enqueue(message, size),
      get writable() {
        return self.toHostBytes < self.highWaterBytes
      },
      get bufferedBytes() {
        return self.toHostBytes
      },
      onMessage: this.hubMessages.event,
      onDidDrain: this.drain.event,
      onDidDisconnect: this.disconnect.event,
      close: () => this.dispose(),
    }
    this.peer = new RpcPeer({
      send: (message) => {
        if (!this.connected) throw new Error('disconnected')
        queueMicrotask(() => this.connected && this.hubMessages.fire(message))
      },
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      handleNotification: (method, params) => this.notifications.fire({ method, params }),
    })
    this.client = new HostClient((method, params) => this.peer.request(method, params))
  }

  get isConnected(): boolean {
    return this.connected
  }

  /** Sends raw data as the host, bypassing the client's own framing. */
  sendRaw(message: unknown): void {
    queueMicrotask(() => this.connected && this.hubMessages.fire(message))
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    this.schedule()
  }

  dispose(): void {
    if (!this.connected) return
    this.connected = false
    this.peer.dispose('host disconnected')
    this.disconnect.fire()
    this.emitters.dispose()
  }

  private enqueue(message: object, size: number): void {
    if (!this.connected) return
    this.toHost.push(message)
    this.sizes.push(size)
    this.toHostBytes += size
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return
    this.scheduled = true
    queueMicrotask(() => this.deliver())
  }

  private deliver(): void {
    this.scheduled = false
    const wasLagging = this.toHostBytes >= this.highWaterBytes
    let i = 0
    for (; i < this.toHost.length && !this.paused && this.connected; i++) {
      const message = this.toHost[i]!
      this.toHostBytes -= this.sizes[i]!
      if (this.recordReceived) this.received.push(message)
      if (Array.isArray(message)) for (const item of message) this.peer.receive(item)
      else this.peer.receive(message)
    }
    this.toHost.splice(0, i)
    this.sizes.splice(0, i)
    if (wasLagging && this.toHostBytes < this.highWaterBytes && this.connected) this.drain.fire()
  }
}
