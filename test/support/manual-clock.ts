import type { Clock } from '../../src/base/clock.js'
import type { Disposable } from '../../src/base/lifecycle.js'

/** A clock that only moves when told to. For tests and benchmarks. */
export class ManualClock implements Clock {
  private time: number
  private seq = 0
  private readonly timers = new Map<number, { due: number; fn: () => void; every?: number }>()

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): Disposable {
    const id = ++this.seq
    this.timers.set(id, { due: this.time + Math.max(0, ms), fn })
    return { dispose: () => this.timers.delete(id) }
  }

  setInterval(fn: () => void, ms: number): Disposable {
    const id = ++this.seq
    const every = Math.max(1, ms)
    this.timers.set(id, { due: this.time + every, fn, every })
    return { dispose: () => this.timers.delete(id) }
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.time + ms
    for (;;) {
      let nextId = -1
      let next: { due: number; fn: () => void; every?: number } | undefined
      for (const [id, timer] of this.timers) {
        if (timer.due <= target && (!next || timer.due < next.due)) {
          next = timer
          nextId = id
        }
      }
      if (!next) break
      this.time = Math.max(this.time, next.due)
      if (next.every) next.due += next.every
      else this.timers.delete(nextId)
      next.fn()
    }
    this.time = target
  }

  get pendingTimers(): number {
    return this.timers.size
  }
}
