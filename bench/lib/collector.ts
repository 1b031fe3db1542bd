import { wallMs } from './stats.js'

/** What one chat delivered to its host. */
export interface ChatTally {
  events: number
  /** Token text characters delivered (all ASCII here, so bytes). */
  textBytes: number
  /** Wall-clock ms of the first and last event (`done`). */
  firstMs: number
  endMs: number
  terminal: string | null
}

/** What both host drivers report for one chat once it ended. */
export interface ChatResult {
  startMs: number
  endMs: number
  events: number
  textBytes: number
  terminal: string | null
  text?: string
}

export interface ChatEventLike {
  session_id: string
  kind: string
  delta?: unknown
  finish_reason?: unknown
  code?: unknown
}

/**
 * Counts what hosts receive, per session, and (for paced streams) the latency of
 * every token from the wall-clock stamps in its delta. The same code runs in the
 * bench process (in-process hosts), in the WebSocket client process, and for the
 * raw baseline, so every path is measured alike.
 */
export class Collector {
  private readonly tallies = new Map<string, ChatTally>()
  private readonly waiters = new Map<string, () => void>()
  latencies: Float64Array
  latencyCount = 0
  /** Sessions whose delta holds wall-clock stamps. */
  readonly stamped = new Set<string>()
  /** Keep the text of these sessions (for loss checks). */
  readonly keepText = new Set<string>()
  readonly texts = new Map<string, string[]>()

  constructor(latencyCapacity = 0) {
    this.latencies = new Float64Array(latencyCapacity)
  }

  expect(sessionId: string, options: { stamped?: boolean; keepText?: boolean } = {}): Promise<void> {
    this.tallies.set(sessionId, { events: 0, textBytes: 0, firstMs: 0, endMs: 0, terminal: null })
    if (options.stamped) this.stamped.add(sessionId)
    if (options.keepText) {
      this.keepText.add(sessionId)
      this.texts.set(sessionId, [])
    }
    return new Promise((resolve) => this.waiters.set(sessionId, resolve))
  }

  tally(sessionId: string): ChatTally | undefined {
    return this.tallies.get(sessionId)
  }

  text(sessionId: string): string {
    return (this.texts.get(sessionId) ?? []).join('')
  }

  /** The figures of an ended chat started at `startMs` (with its text if it was kept). */
  result(sessionId: string, startMs: number): ChatResult {
    const tally = this.tallies.get(sessionId)!
    return {
      startMs,
      endMs: tally.endMs,
      events: tally.events,
      textBytes: tally.textBytes,
      terminal: tally.terminal,
      ...(this.keepText.has(sessionId) ? { text: this.text(sessionId) } : {}),
    }
  }

  /** One `agents.chat.event` (or a raw agent event). Hot: no allocation for plain tokens. */
  onEvent(event: ChatEventLike): void {
    const tally = this.tallies.get(event.session_id)
    if (tally === undefined) return
    const now = wallMs()
    if (tally.events === 0) tally.firstMs = now
    tally.events++
    if (event.kind === 'token') {
      const delta = event.delta as string
      tally.textBytes += delta.length
      if (this.keepText.size > 0 && this.keepText.has(event.session_id)) this.texts.get(event.session_id)!.push(delta)
      if (this.stamped.size > 0 && this.stamped.has(event.session_id)) this.recordStamps(delta, now)
      return
    }
    if (event.kind === 'done' || event.kind === 'error') {
      tally.endMs = now
      tally.terminal = event.kind === 'done' ? String(event.finish_reason) : `error:${String(event.code)}`
      const resolve = this.waiters.get(event.session_id)
      this.waiters.delete(event.session_id)
      resolve?.()
    }
  }

  private recordStamps(delta: string, now: number): void {
    let start = 0
    for (;;) {
      const space = delta.indexOf(' ', start)
      if (space < 0) break
      const stamp = Number(delta.slice(start, space))
      start = space + 1
      if (this.latencyCount === this.latencies.length) {
        const grown = new Float64Array(Math.max(1024, this.latencies.length * 2))
        grown.set(this.latencies)
        this.latencies = grown
      }
      this.latencies[this.latencyCount++] = now - stamp
    }
  }

  takeLatencies(): Float64Array {
    const out = this.latencies.slice(0, this.latencyCount)
    this.latencyCount = 0
    return out
  }
}
