import type { Duplex } from 'node:stream'
import type { RawData, WebSocket } from 'ws'
import { Emitter } from '../../base/event.js'
import { type Disposable, DisposableStore } from '../../base/lifecycle.js'
import { ErrorCode } from '../../protocol/errors.js'
import { checkJsonShape } from '../../protocol/json-depth.js'
import type { HostTransport } from '../../hub/host-transport.js'

export interface WebSocketHostTransportOptions {
  /** Bytes buffered in the socket at which the hub is told to hold back; default 1 MiB. */
  highWaterBytes?: number
  /** Bytes buffered at which `onDidDrain` fires again; default a quarter of the high water mark. */
  lowWaterBytes?: number
  /**
   * Starts the connection unauthenticated (§2): its first frame may be at most this
   * many bytes (a larger one is refused unread), and a frame the hub cannot read
   * ends the connection with -32001 instead of a JSON-RPC error. The limits hold
   * until `authenticated()` is called. Omitted: a trusted connection from the start.
   */
  preAuthFrameMaxBytes?: number
  /** Unread bytes past which a malformed frame ends the connection instead of being answered; default 16 MiB. */
  refusalBufferLimit?: number
  /**
   * The connection's raw socket. When given, the frames of one tick are corked into
   * one write, and before authentication its bytes are counted as they arrive, so an
   * oversized first frame is cut off before `ws` buffers it.
   */
  rawSocket?: Duplex
  /**
   * With `rawSocket`: after the first frame of a tick, report busy until
   * `setImmediate`, so the hub's outbox merges that tick's consecutive tokens of a
   * session (PROTOCOL.md §8) rather than paying a frame per token. Default true.
   */
  mergeWithinTick?: boolean
}

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  PolicyViolation: 1008,
} as const

const OPEN = 1
/** Largest WebSocket frame header: 2 bytes, 8 of extended length, 4 of mask. */
const MAX_FRAME_HEADER_BYTES = 14

/**
 * One `ws` WebSocket as a `HostTransport`: JSON text frames in and out, backpressure
 * from the socket's own write buffer (no polling), malformed frames answered here
 * because the hub core only ever sees parsed values.
 */
export class WebSocketHostTransport implements HostTransport, Disposable {
  /** Every emitter this object owns, disposed as one (STYLE.md). */
  private readonly emitters = new DisposableStore()
  private readonly messages = this.emitters.add(new Emitter<unknown>())
  private readonly drains = this.emitters.add(new Emitter<void>())
  private readonly disconnects = this.emitters.add(new Emitter<void>())
  private readonly highWaterBytes: number
  private readonly lowWaterBytes: number
  private blocked = false
  private disconnected = false
  private corked = false
  /** Between a tick's first frame and `setImmediate`: the rest of the tick is queued (and merged) by the hub. */
  private holding = false
  private releasing = false
  /** Bytes the first frame may still take before authentication; null once authenticated or trusted. */
  private preAuthBudget: number | null
  readonly onMessage = this.messages.event
  readonly onDidDrain = this.drains.event
  readonly onDidDisconnect = this.disconnects.event

  constructor(
    private readonly socket: WebSocket,
    private readonly options: WebSocketHostTransportOptions = {},
  ) {
    this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024
    this.lowWaterBytes = Math.min(options.lowWaterBytes ?? this.highWaterBytes / 4, this.highWaterBytes)
    this.preAuthBudget = options.preAuthFrameMaxBytes ?? null
    socket.on('message', this.onFrame)
    socket.on('close', this.onClose)
    // 'error' is always followed by 'close'; listening keeps it from being thrown.
    socket.on('error', () => {})
    // Ahead of ws's own listener: the bytes are counted before ws buffers them.
    if (this.preAuthBudget !== null) options.rawSocket?.prependListener('data', this.countPreAuthBytes)
  }

  /** Lifts the limits of an unauthenticated connection (called when its host authenticates). */
  authenticated(): void {
    if (this.preAuthBudget === null) return
    this.preAuthBudget = null
    this.options.rawSocket?.off('data', this.countPreAuthBytes)
  }

  get writable(): boolean {
    return !this.blocked && !this.holding && !this.disconnected
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount
  }

  get isDisconnected(): boolean {
    return this.disconnected
  }

  /** Serializes once; the bytes go to the socket as one text frame. */
  send(message: object, _size?: number): void {
    if (this.disconnected || this.socket.readyState !== OPEN) return
    const raw = this.options.rawSocket
    if (raw) this.batchThisTick(raw)
    this.socket.send(JSON.stringify(message), { binary: false }, this.afterWrite)
    if (!this.blocked && this.socket.bufferedAmount >= this.highWaterBytes) this.blocked = true
  }

  private batchThisTick(raw: Duplex): void {
    if (!this.corked) {
      this.corked = true
      raw.cork()
      process.nextTick(this.uncork)
    }
    if (!this.holding && !this.releasing && this.options.mergeWithinTick !== false) {
      this.holding = true
      setImmediate(this.release)
    }
  }

  private readonly uncork = (): void => {
    this.corked = false
    this.options.rawSocket?.uncork()
  }

  /** Lets the hub flush what it queued during the tick, in one corked batch. */
  private readonly release = (): void => {
    this.holding = false
    if (this.disconnected || this.blocked) return // a drain follows from afterWrite
    this.releasing = true
    try {
      this.drains.fire()
    } finally {
      this.releasing = false
    }
  }

  /** Sends what is queued, then the close frame; the hub side is gone at once. */
  close(reason: string, code: number = CloseCode.Normal): void {
    if (this.disconnected) return
    if (this.socket.readyState === OPEN) this.socket.close(code, truncateReason(reason))
    this.markDisconnected()
  }

  /**
   * Closes the connection and stops reading from it: what was sent still goes out,
   * then the socket ends. For peers owed nothing more (§2: an unauthenticated one
   * over its limits), so a closing handshake they stall cannot hold the socket open.
   */
  shutOut(reason: string): void {
    if (this.disconnected) return
    if (this.socket.readyState === OPEN) this.socket.close(CloseCode.PolicyViolation, truncateReason(reason))
    const raw = this.options.rawSocket
    if (raw) {
      raw.off('data', this.countPreAuthBytes)
      raw.end(() => raw.destroy())
    } else {
      this.socket.terminate()
    }
    this.markDisconnected()
  }

  /** §2: before authentication every refusal is -32001, and the connection ends. */
  private refuseUnauthenticated(reason: string): void {
    this.send({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.NotAuthenticated, message: 'not authenticated' } })
    this.shutOut(reason)
  }

  private readonly countPreAuthBytes = (chunk: Buffer): void => {
    if (this.preAuthBudget === null || this.disconnected) return
    this.preAuthBudget -= chunk.length
    if (this.preAuthBudget < -MAX_FRAME_HEADER_BYTES) this.refuseUnauthenticated('first frame too large')
  }

  /** Answers with a JSON-RPC error the hub never sees the request of. */
  private refuse(code: number, message: string): void {
    if (this.preAuthBudget !== null) {
      this.refuseUnauthenticated('not authenticated')
      return
    }
    // A peer that floods malformed frames without reading the answers costs only itself.
    if (this.socket.bufferedAmount > (this.options.refusalBufferLimit ?? 16 * 1024 * 1024)) {
      this.close('not reading its answers', CloseCode.PolicyViolation)
      return
    }
    this.send({ jsonrpc: '2.0', id: null, error: { code, message } })
  }

  dispose(): void {
    this.close('disposed')
  }

  private readonly onFrame = (data: RawData, isBinary: boolean): void => {
    if (this.disconnected) return
    if (isBinary) {
      this.refuse(ErrorCode.InvalidRequest, 'invalid request: binary frames are not accepted')
      return
    }
    const bytes = rawToBuffer(data)
    if (this.preAuthBudget !== null && bytes.length > (this.options.preAuthFrameMaxBytes ?? 0)) {
      this.refuseUnauthenticated('first frame too large')
      return
    }
    const shape = checkJsonShape(bytes)
    if (shape !== 'ok') {
      const why = shape === 'too-deep' ? 'nested too deeply' : 'too many values'
      this.refuse(ErrorCode.InvalidRequest, `invalid request: ${why}`)
      return
    }
    let value: unknown
    try {
      value = JSON.parse(bytes.toString('utf8'))
    } catch {
      this.refuse(ErrorCode.ParseError, 'parse error')
      return
    }
    this.messages.fire(value)
  }

  private readonly afterWrite = (): void => {
    if (this.blocked && !this.disconnected && this.socket.bufferedAmount <= this.lowWaterBytes) {
      this.blocked = false
      this.drains.fire()
    }
  }

  private readonly onClose = (): void => {
    this.markDisconnected()
  }

  private markDisconnected(): void {
    if (this.disconnected) return
    this.disconnected = true
    this.socket.off('message', this.onFrame)
    this.options.rawSocket?.off('data', this.countPreAuthBytes)
    this.disconnects.fire()
    this.emitters.dispose()
  }
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

/** A close reason is at most 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1)
  return out
}
