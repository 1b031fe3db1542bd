/** Small statistics helpers: every reported figure is the median of several runs. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile of an already sorted array (`p` in 0..100). */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export interface LatencySummary {
  samples: number
  p50: number
  p99: number
  max: number
}

export function summarizeLatencies(samples: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort()
  return {
    samples: sorted.length,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  }
}

/** Median of each numeric field over runs. */
export function medianOf<T extends Record<string, number>>(runs: readonly T[]): T {
  const out: Record<string, number> = {}
  for (const key of Object.keys(runs[0] ?? {})) out[key] = median(runs.map((run) => run[key]!))
  return out as T
}

/** Wall-clock ms with sub-ms precision, comparable between processes on one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now()
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}
