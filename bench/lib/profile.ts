import { Session } from 'node:inspector/promises'
import { writeFile } from 'node:fs/promises'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
}

export interface SelfTime {
  fn: string
  where: string
  selfMs: number
  percent: number
}

/** Runs `body` under V8's sampling profiler (this process only) and saves the .cpuprofile. */
export async function profile(body: () => Promise<void>, file: string): Promise<{ top: SelfTime[]; areas: Array<{ area: string; percent: number }> }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  try {
    await body()
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as { profile: Profile }
    session.disconnect()
    await writeFile(file, JSON.stringify(profile))
    return { top: topSelfTime(profile), areas: selfTimeByArea(profile) }
  }
}

/** Self time per function (summed over call sites), highest first. */
export function topSelfTime(profile: Profile, limit = 25): SelfTime[] {
  const totalHits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0)
  const totalMs = (profile.endTime - profile.startTime) / 1000
  const byFn = new Map<string, { fn: string; where: string; hits: number }>()
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const fn = functionName || '(anonymous)'
    const where = url ? `${url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}` : ''
    const key = `${fn}@${where}`
    const entry = byFn.get(key) ?? { fn, where, hits: 0 }
    entry.hits += node.hitCount ?? 0
    byFn.set(key, entry)
  }
  return [...byFn.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, limit)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: (e.hits / Math.max(1, totalHits)) * totalMs, percent: (100 * e.hits) / Math.max(1, totalHits) }))
}

/** Self time grouped by where the code lives (node internals, zod, hub core, host side, ...). */
export function selfTimeByArea(profile: Profile): Array<{ area: string; percent: number }> {
  const totalHits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0)
  const areas = new Map<string, number>()
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame
    let area: string
    if (!url) area = functionName.startsWith('(') ? functionName : `native ${functionName}`
    else if (url.startsWith('node:')) area = url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/')
    else {
      const m = /\/(node_modules\/[^/]+|src\/[^/]+(?:\/[^/]+)?|bench\/[^/]+)/.exec(url)
      area = m ? m[1]!.replace(/\.ts$/, '') : url
    }
    areas.set(area, (areas.get(area) ?? 0) + (node.hitCount ?? 0))
  }
  return [...areas.entries()]
    .map(([area, hits]) => ({ area, percent: (100 * hits) / Math.max(1, totalHits) }))
    .sort((a, b) => b.percent - a.percent)
}
