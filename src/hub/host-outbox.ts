import type { Disposable } from '../base/lifecycle.js'
import type { HostTransport } from './host-transport.js'

/** Per session: the token message still queued for it that later tokens may be merged into. */
export interface MergeSlot {
  tail: QueuedMessage | null
}

interface TokenMessage {
  params: { delta: string }
}

interface QueuedMessage {
  message: object
  size: number
  slot: MergeSlot | null
}

export interface OutboxOptions {
  /** Hard cap on bytes held for this host (queued here plus buffered in the transport). */
  hardCapBytes: number
  /** Called once when the cap is passed; the hub then disconnects the host. */
  onOverflow(): void
  /** Called for each token folded into an earlier one. */
  onMerged(): void
}

/** Bytes a queued token message costs beyond its delta. */
export const TOKEN_OVERHEAD = 96

/**
 * A host's outbound queue (PROTOCOL.md §8). While the transport is writable and
 * nothing waits, messages go straight through. Once the host lags, messages wait
 * here in order, consecutive tokens of a session are merged into one, and past the
 * hard cap the host is given up.
 */
export class HostOutbox implements Disposable {
  private queue: QueuedMessage[] = []
  private head = 0
  private queuedBytes = 0
  /** Bytes of events held for this host's sessions before their results went out (§8). */
  private heldBytes = 0
  private overflowed = false
  private readonly drainSubscription: Disposable

  constructor(
    private readonly transport: HostTransport,
    private readonly options: OutboxOptions,
  ) {
    this.drainSubscription = transport.onDidDrain(() => this.flush())
  }

  get pendingMessages(): number {
    return this.queue.length - this.head
  }

  get pendingBytes(): number {
    return this.queuedBytes
  }

  get heldPendingBytes(): number {
    return this.heldBytes
  }

  /** Queues any message that is never merged. */
  push(message: object, size: number): void {
    if (this.overflowed) return
    if (this.head === this.queue.length && this.transport.writable) {
      this.transport.send(message, size)
      return
    }
    this.enqueue({ message, size, slot: null })
  }

  /** Queues a non-token chat event of a session: later tokens must not merge across it. */
  pushEvent(slot: MergeSlot, message: object, size: number): void {
    slot.tail = null
    this.push(message, size)
  }

  /**
   * Queues a token event. `message.params.delta` may be extended in place while it
   * waits here, so the caller hands over a message object it does not reuse.
   */
  pushToken(slot: MergeSlot, message: TokenMessage, delta: string): void {
    if (this.overflowed) return
    const size = delta.length + TOKEN_OVERHEAD
    const tail = slot.tail
    if (tail !== null) {
      ;(tail.message as TokenMessage).params.delta += delta
      tail.size += delta.length
      this.queuedBytes += delta.length
      this.options.onMerged()
      this.checkCap()
      return
    }
    if (this.head === this.queue.length && this.transport.writable) {
      this.transport.send(message, size)
      return
    }
    const entry: QueuedMessage = { message, size, slot }
    slot.tail = entry
    this.enqueue(entry)
  }

  /** Counts bytes held elsewhere for this host (events awaiting their session's result) towards the hard cap. */
  hold(bytes: number): void {
    if (this.overflowed) return
    this.heldBytes += bytes
    this.checkCap()
  }

  /** Held bytes that were handed to the queue or discarded. */
  releaseHeld(bytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes)
  }

  dispose(): void {
    this.drainSubscription.dispose()
    this.heldBytes = 0
    for (let i = this.head; i < this.queue.length; i++) {
      const slot = this.queue[i]!.slot
      if (slot) slot.tail = null
    }
    this.queue = []
    this.head = 0
    this.queuedBytes = 0
  }

  private enqueue(entry: QueuedMessage): void {
    this.queue.push(entry)
    this.queuedBytes += entry.size
    this.checkCap()
  }

  private checkCap(): void {
    if (this.overflowed) return
    if (this.queuedBytes + this.heldBytes + this.transport.bufferedBytes > this.options.hardCapBytes) {
      this.overflowed = true
      this.options.onOverflow()
    }
  }

  private flush(): void {
    while (this.head < this.queue.length && this.transport.writable && !this.overflowed) {
      const entry = this.queue[this.head]!
      this.queue[this.head++] = undefined as unknown as QueuedMessage
      this.queuedBytes -= entry.size
      if (entry.slot !== null && entry.slot.tail === entry) entry.slot.tail = null
      this.transport.send(entry.message, entry.size)
    }
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}
