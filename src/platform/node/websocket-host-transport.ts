import type { RawData, WebSocket } from 'ws'
import { Emitter } from '../../base/event.js'
import type { Disposable } from '../../base/lifecycle.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { HostTransport } from '../../hub/host-transport.js'

export interface WebSocketHostTransportOptions {
  /** Bytes buffered in the socket at which the hub is told to hold back; default 1 MiB. */
  highWaterBytes?: number
  /** Bytes buffered at which `onDidDrain` fires again; default a quarter of the high water mark. */
  lowWaterBytes?: number
  /**
   * While this returns false, a frame the hub cannot even read (not JSON, binary)
   * ends the connection with -32001 instead of a JSON-RPC error (§2: the first
   * message must be `session.auth`). Omitted: always treated as authenticated.
   */
  isAuthenticated?: () => boolean
  /** Unread bytes past which a malformed frame ends the connection instead of being answered; default 16 MiB. */
  refusalBufferLimit?: number
  /** The connection's raw socket. When given, the frames of one tick are corked into one write. */
  rawSocket?: CorkableSocket
  /**
   * With `rawSocket`: after the first frame of a tick, report busy until
   * `setImmediate`, so the hub's outbox merges that tick's consecutive tokens of a
   * session (PROTOCOL.md §8) rather than paying a frame per token. Default true.
   */
  mergeWithinTick?: boolean
}

/** The part of a `net.Socket` used to batch writes. */
export interface CorkableSocket {
  cork(): void
  uncork(): void
}

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  PolicyViolation: 1008,
} as const

const OPEN = 1


/**
 * One `ws` WebSocket as a `HostTransport`: JSON text frames in and out, backpressure
 * from the socket's own write buffer (no polling), malformed frames answered here
 * because the hub core only ever sees parsed values.
 */
export class WebSocketHostTransport implements HostTransport, Disposable {
  private readonly messages = new Emitter<unknown>()
  private readonly drains = new Emitter<void>()
  private readonly disconnects = new Emitter<void>()
  private readonly highWaterBytes: number
  private readonly lowWaterBytes: number
  private blocked = false
  private disconnected = false
  private corked = false
  /** Between a tick's first frame and `setImmediate`: the rest of the tick is queued (and merged) by the hub. */
  private holding = false
  private releasing = false
  readonly onMessage = this.messages.event
  readonly onDidDrain = this.drains.event
  readonly onDidDisconnect = this.disconnects.event

  constructor(
    private readonly socket: WebSocket,
    private readonly options: WebSocketHostTransportOptions = {},
  ) {
    this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024
    this.lowWaterBytes = Math.min(options.lowWaterBytes ?? this.highWaterBytes / 4, this.highWaterBytes)
    socket.on('message', this.onFrame)
    socket.on('close', this.onClose)
    // 'error' is always followed by 'close'; listening keeps it from being thrown.
    socket.on('error', () => {})
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

  private batchThisTick(raw: CorkableSocket): void {
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

  /** Answers with a JSON-RPC error the hub never sees the request of. */
  private refuse(code: number, message: string): void {
    if (this.options.isAuthenticated && !this.options.isAuthenticated()) {
      this.send({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.NotAuthenticated, message: 'not authenticated' } })
      this.close('not authenticated', CloseCode.PolicyViolation)
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
    let value: unknown
    try {
      value = JSON.parse(rawToString(data))
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
    this.disconnects.fire()
    this.messages.dispose()
    this.drains.dispose()
    this.disconnects.dispose()
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

/** A close reason is at most 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1)
  return out
}
