import type { StreamSpec } from '../lib/stream-spec.js'
import { HubRig, type ChatPlan, type HostGroup } from '../lib/hub-rig.js'
import { RawRig } from '../lib/raw.js'
import { median, summarizeLatencies } from '../lib/stats.js'
import { latencyConfig, type LatencyConfig, type LatencyFigures } from './latency.js'
import { shapes, type PathFigures, type ThroughputShape } from './throughput.js'

/**
 * The desktop path: windows over the MessagePort transport and the preload's
 * client (`HubRig.windowHosts`, Node's `MessageChannel` standing in for
 * `MessageChannelMain`), measured as the throughput and latency scenarios measure
 * the other paths: same agents, same raw baseline in the same iterations.
 */

const DELTA = 'hello '
const NO_LAG = 2 ** 30

type ThroughputPath = 'raw' | 'window' | 'window (keeps up)'
type LatencyPath = 'raw' | 'window'

export interface WindowResult {
  runs: number
  throughput: Array<{ shape: ThroughputShape; paths: Record<ThroughputPath, PathFigures> }>
  latency: { config: LatencyConfig; paths: Record<LatencyPath, LatencyFigures> }
}

interface Sample {
  messagesPerSec: number
  textBytesPerSec: number
  merged: number
}

async function measure<P extends string, S>(names: P[], runs: number, runPath: (name: P) => Promise<S>, progress: (i: number) => void) {
  const samples = new Map<P, S[]>(names.map((name) => [name, []]))
  for (const name of names) await runPath(name) // warm-up
  for (let i = 0; i < runs; i++) {
    const order = names.map((_, k) => names[(k + i) % names.length]!)
    for (const name of order) samples.get(name)!.push(await runPath(name))
    progress(i)
  }
  return samples
}

async function windowThroughput(shape: ThroughputShape, runs: number, log: (line: string) => void) {
  const spec: StreamSpec = { mode: 'flood', count: shape.count, delta: DELTA }
  const raw = await RawRig.start(shape.agents)
  const rig = await HubRig.start(shape.agents)
  const groups: Record<Exclude<ThroughputPath, 'raw'>, HostGroup> = {
    window: rig.windowHosts(shape.hosts),
    'window (keeps up)': rig.windowHosts(shape.hosts, { highWaterBytes: NO_LAG, highWaterMessages: 2 ** 20, mergeWithinTick: false }),
  }
  let tag = 0
  const runPath = async (name: ThroughputPath): Promise<Sample> => {
    const id = `win${tag++}`
    if (name === 'raw') {
      const run = await raw.run(shape.hosts / shape.agents, spec, id)
      return { messagesPerSec: (run.events / run.elapsedMs) * 1000, textBytesPerSec: (run.textBytes / run.elapsedMs) * 1000, merged: 0 }
    }
    const mergedBefore = rig.hub.stats().events_merged
    const plans: ChatPlan[] = Array.from({ length: shape.hosts }, (_, h) => ({ host: h, agent: h % shape.agents, sessionId: `${id}-h${h}`, spec }))
    const { outcomes } = await groups[name].run(plans)
    const start = Math.min(...outcomes.map((o) => o.startMs))
    const end = Math.max(...outcomes.map((o) => o.endMs))
    const events = outcomes.reduce((sum, o) => sum + o.events - 1, 0)
    const textBytes = outcomes.reduce((sum, o) => sum + o.textBytes, 0)
    const expected = shape.hosts * shape.count * DELTA.length
    if (textBytes !== expected) throw new Error(`${name}: ${textBytes} text bytes delivered, ${expected} sent`)
    for (const o of outcomes) if (o.terminal !== 'stop') throw new Error(`${name}: a stream ended with ${o.terminal}`)
    return {
      messagesPerSec: (events / (end - start)) * 1000,
      textBytesPerSec: (textBytes / (end - start)) * 1000,
      merged: rig.hub.stats().events_merged - mergedBefore,
    }
  }
  const names: ThroughputPath[] = ['raw', 'window', 'window (keeps up)']
  let samples: Map<ThroughputPath, Sample[]>
  try {
    samples = await measure(names, runs, runPath, (i) => log(`  window throughput ${shape.name}: iteration ${i + 1}/${runs}`))
  } finally {
    for (const group of Object.values(groups)) await group.close()
    await rig.stop()
    await raw.stop()
  }
  const rawSamples = samples.get('raw')!
  const paths = {} as Record<ThroughputPath, PathFigures>
  for (const name of names) {
    const list = samples.get(name)!
    paths[name] = {
      messagesPerSec: median(list.map((s) => s.messagesPerSec)),
      textBytesPerSec: median(list.map((s) => s.textBytesPerSec)),
      merged: median(list.map((s) => s.merged)),
      messagesRatio: median(list.map((s, i) => s.messagesPerSec / rawSamples[i]!.messagesPerSec)),
      textBytesRatio: median(list.map((s, i) => s.textBytesPerSec / rawSamples[i]!.textBytesPerSec)),
    }
  }
  return { shape, paths }
}

async function windowLatency(config: LatencyConfig, runs: number, log: (line: string) => void) {
  const perSession = Math.round((config.rate * config.durationMs) / 1000 / config.sessions)
  const spec: StreamSpec = { mode: 'paced', count: perSession, rate: config.rate }
  const raw = await RawRig.start(1)
  const rig = await HubRig.start(1)
  const group = rig.windowHosts(config.hosts)
  let tag = 0
  const runPath = async (name: LatencyPath): Promise<LatencyFigures> => {
    const id = `winlat${tag++}`
    if (name === 'raw') {
      const run = await raw.run(config.sessions, spec, id)
      return { ...summarizeLatencies(run.latencies!), achievedRate: (run.events / run.elapsedMs) * 1000 }
    }
    const plans: ChatPlan[] = Array.from({ length: config.sessions }, (_, s) => ({ host: s % config.hosts, agent: 0, sessionId: `${id}-s${s}`, spec }))
    const { outcomes, latencies } = await group.run(plans)
    const start = Math.min(...outcomes.map((o) => o.startMs))
    const end = Math.max(...outcomes.map((o) => o.endMs))
    const events = outcomes.reduce((sum, o) => sum + o.events - 1, 0)
    if (latencies.length !== perSession * config.sessions) {
      throw new Error(`${name}: ${latencies.length} stamps arrived, ${perSession * config.sessions} sent`)
    }
    return { ...summarizeLatencies(latencies), achievedRate: (events / (end - start)) * 1000 }
  }
  const names: LatencyPath[] = ['raw', 'window']
  let samples: Map<LatencyPath, LatencyFigures[]>
  try {
    samples = await measure(names, runs, runPath, (i) => log(`  window latency: iteration ${i + 1}/${runs}`))
  } finally {
    await group.close()
    await rig.stop()
    await raw.stop()
  }
  const paths = {} as Record<LatencyPath, LatencyFigures>
  for (const name of names) {
    const list = samples.get(name)!
    paths[name] = {
      samples: median(list.map((s) => s.samples)),
      p50: median(list.map((s) => s.p50)),
      p99: median(list.map((s) => s.p99)),
      max: median(list.map((s) => s.max)),
      achievedRate: median(list.map((s) => s.achievedRate)),
    }
  }
  return { config, paths }
}

export async function runWindow(runs: number, log: (line: string) => void): Promise<WindowResult> {
  const throughput = []
  for (const shape of shapes) throughput.push(await windowThroughput(shape, runs, log))
  return { runs, throughput, latency: await windowLatency(latencyConfig, runs, log) }
}
