import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openConversationStore } from '../../src/platform/node/sqlite-conversation-store.js'
import type { StreamSpec } from '../lib/stream-spec.js'
import { HubRig, type ChatPlan, type HostGroup } from '../lib/hub-rig.js'
import { RawRig, type StreamRun } from '../lib/raw.js'
import { median } from '../lib/stats.js'

/**
 * Token throughput from agent processes to hosts through the hub, against the raw
 * baseline (the same agent process writing the same events to its parent over the
 * same fork IPC channel, no hub). Every iteration runs every path once, in rotating
 * order, so a noisy machine slows all of them alike; ratios are per iteration.
 *
 * "recorded" paths are the default paths with a `conversation_id` (PROTOCOL.md §11): the
 * same hub, whose store is a real `conversations.db` in a temp dir, records the turn (one
 * fresh conversation per stream, so no turn waits and no history is read).
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

type PathName = 'raw' | 'in-process' | 'in-process (keeps up)' | 'in-process recorded' | 'websocket' | 'websocket (keeps up)' | 'websocket recorded'
type RecordedPath = 'in-process' | 'websocket'
const RECORDED: Record<RecordedPath, PathName> = { 'in-process': 'in-process recorded', websocket: 'websocket recorded' }

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
  /** Recorded ÷ ephemeral delivered text bytes/s, per iteration, median (target ≥ 0.8). */
  recordedRatio: Record<RecordedPath, number>
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
  const dataDir = mkdtempSync(join(tmpdir(), 'carhost-bench-tp-'))
  const store = openConversationStore(dataDir)
  const rig = await HubRig.start(shape.agents, { conversations: store })
  const inProcess = rig.inProcessHosts(shape.hosts)
  const websocket = await rig.webSocketHosts(shape.hosts)
  const groups: Record<Exclude<PathName, 'raw'>, HostGroup> = {
    'in-process': inProcess,
    'in-process (keeps up)': rig.inProcessHosts(shape.hosts, { highWaterBytes: NO_LAG }),
    'in-process recorded': inProcess,
    websocket,
    'websocket (keeps up)': await rig.webSocketHosts(shape.hosts, { highWaterBytes: NO_LAG, mergeWithinTick: false }),
    'websocket recorded': websocket,
  }
  const names: PathName[] = ['raw', 'in-process', 'in-process (keeps up)', 'in-process recorded', 'websocket', 'websocket (keeps up)', 'websocket recorded']
  const recorded = new Set<PathName>(Object.values(RECORDED))
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
      ...(recorded.has(name) ? { conversationId: `${id}-h${h}` } : {}),
    }))
    const { outcomes } = await groups[name].run(plans)
    const start = Math.min(...outcomes.map((o) => o.startMs))
    const end = Math.max(...outcomes.map((o) => o.endMs))
    const events = outcomes.reduce((sum, o) => sum + o.events - 1, 0)
    const textBytes = outcomes.reduce((sum, o) => sum + o.textBytes, 0)
    const expected = shape.hosts * shape.count * DELTA.length
    if (textBytes !== expected) throw new Error(`${name}: ${textBytes} text bytes delivered, ${expected} sent`)
    for (const o of outcomes) if (o.terminal !== 'stop') throw new Error(`${name}: a stream ended with ${o.terminal}`)
    if (recorded.has(name)) {
      // The terminal event is recorded (and written) before it is handed on (§11 rule 6).
      for (const plan of plans) {
        const answer = rig.hub.conversations.get(plan.conversationId!)?.messages.find((m) => m.role === 'assistant')
        if (answer?.state !== 'done' || answer.text.length !== shape.count * DELTA.length) {
          throw new Error(`${name}: conversation ${plan.conversationId} holds ${answer?.text.length} chars (${answer?.state})`)
        }
      }
    }
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
    for (const group of new Set(Object.values(groups))) await group.close()
    await rig.stop()
    store.close()
    rmSync(dataDir, { recursive: true, force: true })
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
  const recordedRatio = {} as Record<RecordedPath, number>
  for (const [ephemeral, rec] of Object.entries(RECORDED) as Array<[RecordedPath, PathName]>) {
    const base = samples.get(ephemeral)!
    recordedRatio[ephemeral] = median(samples.get(rec)!.map((s, i) => s.textBytesPerSec / base[i]!.textBytesPerSec))
  }
  return { shape, runs, paths, recordedRatio }
}
