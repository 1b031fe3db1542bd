import type { Event } from '../base/event.js'

/**
 * One host's link to the hub, as the core sees it. Implementations: a window's
 * MessagePort (Electron), a WebSocket (Node), an in-process pair (tests, bench).
 */
export interface HostTransport {
  /** Hands one message to the host. `size` is the hub's estimate of its bytes. */
  send(message: object, size: number): void
  /** False while the host has fallen behind; the hub then queues (and merges) instead of sending. */
  readonly writable: boolean
  /** Estimated bytes handed to `send` that the host has not consumed yet. */
  readonly bufferedBytes: number
  /** Every message the host sent, not yet validated. */
  readonly onMessage: Event<unknown>
  /** Fires when `writable` turns true again. */
  readonly onDidDrain: Event<void>
  /** Fires once when the link is gone, whoever closed it. */
  readonly onDidDisconnect: Event<void>
  /** Closes the link after what was already sent; fires `onDidDisconnect`. */
  close(reason: string): void
}
