import { seqText, type StreamSpec } from '../lib/stream-spec.js'
import { gc, until } from '../lib/env.js'
import { HubRig, type ChatPlan, type HostGroup, type PlanResult } from '../lib/hub-rig.js'
import { median, summarizeLatencies } from '../lib/stats.js'

/**
 * A host that stops reading while its agent floods it must cost only itself
 * (PROTOCOL.md §8). A healthy host measures its throughput (a flood chat) and its
 * p99 (paced chats) alone, next to a stuck host, and next to a host that reads the
 * same flood (control: separates the flood's CPU cost from the stuck-ness). The
 * stuck host resumes afterwards and must receive every character, in order.
 */

export interface IsolationConfig {
  healthyFloodCount: number
  healthyPacedRate: number
  healthyPacedSessions: number
  healthyPacedMs: number
  stuckRate: number
  stuckWidth: number
  stuckMs: number
}

export const isolationConfig: IsolationConfig = {
  healthyFloodCount: 40_000,
  healthyPacedRate: 5_000,
  healthyPacedSessions: 10,
  healthyPacedMs: 1_000,
  stuckRate: 10_000,
  stuckWidth: 128,
  stuckMs: 2_000,
}

type Variant = 'alone' | 'next to a stuck host' | 'next to a reading host'

export interface IsolationFigures {
  healthyTextBytesPerSec: number
  healthyP50: number
  healthyP99: number
  /** Peak RSS of the hub process above its level before the variant, MiB. */
  peakRssGrowthMiB: number
  /** Text the flooded host received after resuming, vs what its agent sent. */
  floodTextIntact: boolean
  floodTextBytes: number
  merged: number
  /** Healthy figure / the same figure alone, per iteration, median. */
  throughputVsAlone: number
  p99VsAlone: number
}

export interface IsolationResult {
  transport: 'in-process' | 'websocket'
  config: IsolationConfig
  runs: number
  variants: Record<Variant, IsolationFigures>
}

type Sample = Omit<IsolationFigures, 'throughputVsAlone' | 'p99VsAlone'>

export async function runIsolation(
  transport: 'in-process' | 'websocket',
  config: IsolationConfig,
  runs: number,
  log: (line: string) => void,
): Promise<IsolationResult> {
  const rig = await HubRig.start(2)
  // Host 0 is flooded (stuck or reading); host 1 is the healthy one.
  const group: HostGroup = transport === 'in-process' ? rig.inProcessHosts(2) : await rig.webSocketHosts(2)
  const stuckCount = Math.round((config.stuckRate * config.stuckMs) / 1000)
  const stuckSpec: StreamSpec = { mode: 'paced', count: stuckCount, rate: config.stuckRate, payload: 'seq', width: config.stuckWidth }
  const expectedText = seqText(stuckCount, config.stuckWidth)
  const pacedPerSession = Math.round((config.healthyPacedRate * config.healthyPacedMs) / 1000 / config.healthyPacedSessions)
  let tag = 0

  const healthyPhase = async (id: string) => {
    const flood = await group.run([{ host: 1, agent: 1, sessionId: `${id}-flood`, spec: { mode: 'flood', count: config.healthyFloodCount } }])
    const o = flood.outcomes[0]!
    // Delivered text, not messages: merging (always allowed, §8) changes the message count.
    const textBytesPerSec = (o.textBytes / (o.endMs - o.startMs)) * 1000
    const pacedPlans: ChatPlan[] = Array.from({ length: config.healthyPacedSessions }, (_, s) => ({
      host: 1,
      agent: 1,
      sessionId: `${id}-paced${s}`,
      spec: { mode: 'paced', count: pacedPerSession, rate: config.healthyPacedRate },
    }))
    const paced = await group.run(pacedPlans)
    const latency = summarizeLatencies(paced.latencies)
    return { textBytesPerSec, p50: latency.p50, p99: latency.p99 }
  }

  const runVariant = async (variant: Variant): Promise<Sample> => {
    const id = `iso${tag++}`
    gc()
    const baseRss = process.memoryUsage().rss
    let peakRss = baseRss
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
    }, 10)
    const mergedBefore = rig.hub.stats().events_merged
    try {
      if (variant === 'alone') {
        const healthy = await healthyPhase(id)
        return {
          healthyTextBytesPerSec: healthy.textBytesPerSec,
          healthyP50: healthy.p50,
          healthyP99: healthy.p99,
          peakRssGrowthMiB: (peakRss - baseRss) / 2 ** 20,
          floodTextIntact: true,
          floodTextBytes: 0,
          merged: rig.hub.stats().events_merged - mergedBefore,
        }
      }
      const stuckId = `${id}-flooded`
      const flooded: Promise<PlanResult> = group.run([
        { host: 0, agent: 0, sessionId: stuckId, spec: stuckSpec, keepText: true, pauseAfterAck: variant === 'next to a stuck host' },
      ])
      await until(() => rig.hub.router.sessions.get(stuckId)?.phase === 'live', 10_000, 'the flooded chat to be accepted')
      const healthy = await healthyPhase(id)
      if (variant === 'next to a stuck host') {
        // Let the flood finish while the host is still stuck, then resume it.
        await until(() => rig.hub.router.sessions.get(stuckId) === undefined, 30_000, 'the flood to end')
        await group.resume(0)
      }
      const floodedResult = await flooded
      const text = floodedResult.outcomes[0]!.text ?? ''
      return {
        healthyTextBytesPerSec: healthy.textBytesPerSec,
        healthyP50: healthy.p50,
        healthyP99: healthy.p99,
        peakRssGrowthMiB: (peakRss - baseRss) / 2 ** 20,
        floodTextIntact: text === expectedText,
        floodTextBytes: text.length,
        merged: rig.hub.stats().events_merged - mergedBefore,
      }
    } finally {
      clearInterval(sampler)
    }
  }

  const variants: Variant[] = ['alone', 'next to a stuck host', 'next to a reading host']
  const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]))
  try {
    await runVariant('alone') // warm-up
    for (let i = 0; i < runs; i++) {
      const order = variants.map((_, k) => variants[(k + i) % variants.length]!)
      for (const variant of order) samples.get(variant)!.push(await runVariant(variant))
      log(`  isolation (${transport}): iteration ${i + 1}/${runs}`)
    }
  } finally {
    await group.close()
    await rig.stop()
  }

  const alone = samples.get('alone')!
  const out = {} as Record<Variant, IsolationFigures>
  for (const variant of variants) {
    const list = samples.get(variant)!
    out[variant] = {
      healthyTextBytesPerSec: median(list.map((s) => s.healthyTextBytesPerSec)),
      healthyP50: median(list.map((s) => s.healthyP50)),
      healthyP99: median(list.map((s) => s.healthyP99)),
      peakRssGrowthMiB: Math.max(...list.map((s) => s.peakRssGrowthMiB)),
      floodTextIntact: list.every((s) => s.floodTextIntact),
      floodTextBytes: median(list.map((s) => s.floodTextBytes)),
      merged: median(list.map((s) => s.merged)),
      throughputVsAlone: median(list.map((s, i) => s.healthyTextBytesPerSec / alone[i]!.healthyTextBytesPerSec)),
      p99VsAlone: median(list.map((s, i) => s.healthyP99 / alone[i]!.healthyP99)),
    }
  }
  return { transport, config, runs, variants: out }
}
