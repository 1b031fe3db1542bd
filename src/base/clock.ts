import type { Disposable } from './lifecycle.js'

/**
 * Time as the hub core sees it. The core never calls the global timer functions,
 * so tests drive it with a manual clock and the sweeper is deterministic.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** Runs `fn` once after `ms`; dispose to cancel. */
  setTimeout(fn: () => void, ms: number): Disposable
  /** Runs `fn` every `ms`; dispose to stop. */
  setInterval(fn: () => void, ms: number): Disposable
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms)
    // A pending timer must never keep a headless hub or a CLI alive on its own.
    ;(handle as { unref?: () => void }).unref?.()
    return { dispose: () => clearTimeout(handle) }
  },
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms)
    ;(handle as { unref?: () => void }).unref?.()
    return { dispose: () => clearInterval(handle) }
  },
}
