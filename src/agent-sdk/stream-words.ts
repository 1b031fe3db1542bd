import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises'
import type { Turn } from './turn.js'

/** Words with the whitespace after them; leading whitespace stays with the first. They concatenate to `text`. */
export function splitWords(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === '' ? [] : [text])
}

/**
 * Streams `text` as one token per word, pausing `delayMs` between words (or just
 * yielding, so a cancel from the hub is seen between words). Rejects with the
 * abort reason once the turn is cancelled.
 */
export async function streamWords(turn: Turn, text: string, delayMs = 0): Promise<void> {
  const { signal } = turn
  const words = splitWords(text)
  for (let i = 0; i < words.length; i++) {
    signal.throwIfAborted()
    turn.token(words[i]!)
    if (delayMs > 0) await delay(delayMs, undefined, { signal })
    else await nextTurn(undefined, { signal })
  }
}

/** A non-negative delay in ms from an env var, else `fallback`. */
export function delayFromEnv(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  return Number.isFinite(value) && value >= 0 ? Math.min(value, 10_000) : fallback
}
