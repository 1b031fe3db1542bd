import { Emitter } from '../../base/event.js'
import { type Disposable, DisposableStore } from '../../base/lifecycle.js'
import { FlowAckMethod, FlowAckParamsSchema } from '../../protocol/host-api.js'
import type { HostTransport } from '../../hub/host-transport.js'

/**
 * The part of Electron's `MessagePortMain` this transport uses. Typed structurally so
 * the module never loads `electron` at runtime and tests can hand it a fake port.
 */
export interface MainPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
  on(event: 'close', listener: () => void): unknown
  off(event: 'message', listener: (event: { data: unknown }) => void): unknown
  off(event: 'close', listener: () => void): unknown
  postMessage(message: unknown): void
  start(): void
  close(): void
}

export interface MessagePortHostTransportOptions {
  /** Unacknowledged bytes at which the window counts as lagging; default 1 MiB. */
  highWaterBytes?: number
  /** Unacknowledged messages at which the window counts as lagging; default 4096. */
  highWaterMessages?: number
  /** Called for a `host.ack` that does not parse; the window is not disconnected for it. */
  onMalformedAck?: (raw: unknown) => void
  /**
   * After the first message of a tick, report busy until `scheduleRelease` runs,
   * so the hub's outbox merges that tick's consecutive tokens of a session
   * (PROTOCOL.md §8) instead of posting (and structured-cloning) one message per
   * token. The same merging the WebSocket transport does. Default true.
   */
  mergeWithinTick?: boolean
  /** Runs `fn` once the current tick's work is done; default `setImmediate`. */
  scheduleRelease?: (fn: () => void) => void
}

/**
 * A window's link to the hub over its `MessagePortMain` (PROTOCOL.md §1).
 *
 * Flow control: a port gives no backpressure of its own, so the preload
 * acknowledges what its page consumed with the notification `host.ack {count}`.
 * Sizes of messages sent and not yet acknowledged sit in a ring preallocated for
 * `highWaterMessages`, so sending allocates nothing per message. The transport
 * consumes acks itself; the hub never sees them.
 */
export class MessagePortHostTransport implements HostTransport, Disposable {
  /** Every emitter this object owns, disposed as one (STYLE.md). */
  private readonly emitters = new DisposableStore()
  private readonly messageEmitter = this.emitters.add(new Emitter<unknown>())
  private readonly drainEmitter = this.emitters.add(new Emitter<void>())
  private readonly disconnectEmitter = this.emitters.add(new Emitter<void>())
  readonly onMessage = this.messageEmitter.event
  readonly onDidDrain = this.drainEmitter.event
  readonly onDidDisconnect = this.disconnectEmitter.event

  private readonly highWaterBytes: number
  private readonly highWaterMessages: number
  private sizes: Float64Array
  private head = 0
  private outstanding = 0
  private outstandingBytes = 0
  private closed = false
  /** Between a tick's first message and the release: the rest of the tick is queued (and merged) by the hub. */
  private holding = false
  private releasing = false
  private readonly mergeWithinTick: boolean
  private readonly scheduleRelease: (fn: () => void) => void

  private readonly onPortMessage = (event: { data: unknown }): void => this.receive(event.data)
  private readonly onPortClose = (): void => this.teardown()

  constructor(
    private readonly port: MainPortLike,
    private readonly options: MessagePortHostTransportOptions = {},
  ) {
    this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024
    this.highWaterMessages = Math.max(1, options.highWaterMessages ?? 4096)
    this.sizes = new Float64Array(this.highWaterMessages)
    this.mergeWithinTick = options.mergeWithinTick ?? true
    this.scheduleRelease = options.scheduleRelease ?? ((fn) => void setImmediate(fn))
    port.on('message', this.onPortMessage)
    port.on('close', this.onPortClose)
    port.start()
  }

  get writable(): boolean {
    return !this.holding && this.belowHighWater()
  }

  private belowHighWater(): boolean {
    return !this.closed && this.outstandingBytes < this.highWaterBytes && this.outstanding < this.highWaterMessages
  }

  get bufferedBytes(): number {
    return this.outstandingBytes
  }

  /** Messages sent that the window has not acknowledged yet. */
  get unacknowledged(): number {
    return this.outstanding
  }

  get isClosed(): boolean {
    return this.closed
  }

  send(message: object, size: number): void {
    if (this.closed) return
    try {
      this.port.postMessage(message)
    } catch {
      // A port whose other end is gone may throw instead of emitting 'close'.
      this.teardown()
      return
    }
    if (this.outstanding === this.sizes.length) this.grow()
    this.sizes[(this.head + this.outstanding) % this.sizes.length] = size
    this.outstanding++
    this.outstandingBytes += size
    if (this.mergeWithinTick && !this.holding && !this.releasing) {
      this.holding = true
      this.scheduleRelease(this.release)
    }
  }

  /** Lets the hub flush what it queued (and merged) during the tick. */
  private readonly release = (): void => {
    this.holding = false
    if (!this.belowHighWater()) return // the window's ack brings the drain
    this.releasing = true
    try {
      this.drainEmitter.fire()
    } finally {
      this.releasing = false
    }
  }

  close(_reason: string): void {
    if (this.closed) return
    try {
      this.port.close()
    } catch {
      // already gone
    }
    this.teardown()
  }

  dispose(): void {
    this.close('disposed')
  }

  private receive(data: unknown): void {
    if (this.closed) return
    if (isAck(data)) {
      this.acknowledge(data)
      return
    }
    this.messageEmitter.fire(data)
  }

  private acknowledge(raw: Record<string, unknown>): void {
    const parsed = readAckCount(raw)
    if (parsed === null) {
      this.options.onMalformedAck?.(raw)
      return
    }
    const wasWritable = this.belowHighWater()
    // A window cannot acknowledge more than it was sent; the excess is ignored.
    let count = Math.min(parsed, this.outstanding)
    const capacity = this.sizes.length
    while (count-- > 0) {
      this.outstandingBytes -= this.sizes[this.head]!
      this.head = (this.head + 1) % capacity
      this.outstanding--
    }
    if (this.outstanding === 0) this.outstandingBytes = 0 // no float drift
    // While holding, the release drains instead.
    if (!wasWritable && this.writable) this.drainEmitter.fire()
  }

  /** Only reached when someone sends past `writable`; doubles the ring, keeping order. */
  private grow(): void {
    const old = this.sizes
    const next = new Float64Array(old.length * 2)
    for (let i = 0; i < this.outstanding; i++) next[i] = old[(this.head + i) % old.length]!
    this.sizes = next
    this.head = 0
  }

  private teardown(): void {
    if (this.closed) return
    this.closed = true
    this.port.off('message', this.onPortMessage)
    this.port.off('close', this.onPortClose)
    this.outstanding = 0
    this.outstandingBytes = 0
    this.disconnectEmitter.fire()
    this.emitters.dispose()
  }
}

function isAck(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && (data as { method?: unknown }).method === FlowAckMethod
}

const AckEnvelopeKeys = new Set(['jsonrpc', 'method', 'params'])

/** The acknowledged count of a well-formed `host.ack` notification, else null. */
function readAckCount(raw: Record<string, unknown>): number | null {
  if (Array.isArray(raw) || raw.jsonrpc !== '2.0') return null
  for (const key of Object.keys(raw)) if (!AckEnvelopeKeys.has(key)) return null // an id makes it a request
  const params = FlowAckParamsSchema.safeParse(raw.params)
  return params.success ? params.data.count : null
}
