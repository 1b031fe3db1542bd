import type { StreamSpec } from '../lib/stream-spec.js'
import { HubRig, type ChatPlan, type HostGroup } from '../lib/hub-rig.js'
import { RawRig, type StreamRun } from '../lib/raw.js'
import { median } from '../lib/stats.js'

/**
 * Token throughput from agent processes to hosts through the hub, against the raw
 * baseline (the same agent process writing the same events to its parent over the
 * same fork IPC channel, no hub). Every iteration runs every path once, in rotating
 * order, so a noisy machine slows all of them alike; ratios are per iteration.
 */

export interface ThroughputShape {
  name: string
  agents: number
  hosts: number
  /** Tokens per stream; one stream per host. */
  count: number
}

export const shapes: ThroughputShape[] = [
  { name: '1 agent → 1 host', agents: 1, hosts: 1, count: 100_000 },
  { name: '4 agents → 8 hosts', agents: 4, hosts: 8, count: 25_000 },
]

const DELTA = 'hello '
const NO_LAG = 2 ** 30

type PathName = 'raw' | 'in-process' | 'in-process (keeps up)' | 'websocket' | 'websocket (keeps up)'

export interface PathFigures {
  /** Delivered messages (token events) per second. */
  messagesPerSec: number
  /** Delivered token text bytes per second. */
  textBytesPerSec: number
  /** Token events merged by the hub in this run (0 for a host that keeps up). */
  merged: number
  /** This path / raw, per iteration, median. */
  messagesRatio: number
  textBytesRatio: number
}

export interface ThroughputResult {
  shape: ThroughputShape
  runs: number
  paths: Record<PathName, PathFigures>
}

interface Sample {
  messagesPerSec: number
  textBytesPerSec: number
  merged: number
}

function rate(run: StreamRun): Sample {
  return { messagesPerSec: (run.events / run.elapsedMs) * 1000, textBytesPerSec: (run.textBytes / run.elapsedMs) * 1000, merged: 0 }
}

export async function runThroughput(shape: ThroughputShape, runs: number, log: (line: string) => void): Promise<ThroughputResult> {
  const spec: StreamSpec = { mode: 'flood', count: shape.count, delta: DELTA }
  const streamsPerAgent = shape.hosts / shape.agents
  const raw = await RawRig.start(shape.agents)
  const rig = await HubRig.start(shape.agents)
  const groups: Record<Exclude<PathName, 'raw'>, HostGroup> = {
    'in-process': rig.inProcessHosts(shape.hosts),
    'in-process (keeps up)': rig.inProcessHosts(shape.hosts, { highWaterBytes: NO_LAG }),
    websocket: await rig.webSocketHosts(shape.hosts),
    'websocket (keeps up)': await rig.webSocketHosts(shape.hosts, { highWaterBytes: NO_LAG, mergeWithinTick: false }),
  }
  const names: PathName[] = ['raw', 'in-process', 'in-process (keeps up)', 'websocket', 'websocket (keeps up)']
  const samples = new Map<PathName, Sample[]>(names.map((name) => [name, []]))
  let tag = 0

  const runPath = async (name: PathName): Promise<Sample> => {
    const id = `tp${tag++}`
    if (name === 'raw') return rate(await raw.run(streamsPerAgent, spec, id))
    const mergedBefore = rig.hub.stats().events_merged
    const plans: ChatPlan[] = Array.from({ length: shape.hosts }, (_, h) => ({
      host: h,
      agent: h % shape.agents,
      sessionId: `${id}-h${h}`,
      spec,
    }))
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

  try {
    // One warm-up iteration (JIT, sockets), not counted.
    for (const name of names) await runPath(name)
    for (let i = 0; i < runs; i++) {
      const order = names.map((_, k) => names[(k + i) % names.length]!)
      for (const name of order) samples.get(name)!.push(await runPath(name))
      log(`  throughput ${shape.name}: iteration ${i + 1}/${runs}`)
    }
  } finally {
    for (const group of Object.values(groups)) await group.close()
    await rig.stop()
    await raw.stop()
  }

  const rawSamples = samples.get('raw')!
  const paths = {} as Record<PathName, PathFigures>
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
  return { shape, runs, paths }
}
