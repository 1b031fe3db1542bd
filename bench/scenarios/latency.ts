import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openConversationStore } from '../../src/platform/node/sqlite-conversation-store.js'
import type { StreamSpec } from '../lib/stream-spec.js'
import { HubRig, type ChatPlan, type HostGroup } from '../lib/hub-rig.js'
import { RawRig } from '../lib/raw.js'
import { median, summarizeLatencies, type LatencySummary } from '../lib/stats.js'

/**
 * Agent emit → host receive latency at a steady rate. The agent stamps each token's
 * delta with its wall clock (`performance.timeOrigin + performance.now()`); the host
 * (in the bench process, or the WebSocket client process) subtracts it from its own.
 * "recorded" paths carry a `conversation_id` (one fresh conversation per session) to
 * the same hub, whose store is a real `conversations.db` in a temp dir (PROTOCOL.md §11).
 * A diagnostic path records through a second hub whose store commits with
 * `synchronous = NORMAL` (no fsync per transaction), to show what the fsyncs cost.
 */

export interface LatencyConfig {
  rate: number
  sessions: number
  hosts: number
  durationMs: number
}

export const latencyConfig: LatencyConfig = { rate: 10_000, sessions: 50, hosts: 5, durationMs: 2_000 }

const NO_FSYNC = 'in-process recorded, synchronous=NORMAL'
type PathName = 'raw' | 'in-process' | 'in-process recorded' | typeof NO_FSYNC | 'websocket' | 'websocket recorded'
/** Each recorded path and the ephemeral path it is compared with. */
const RECORDED: Array<[ephemeral: PathName, recorded: PathName]> = [
  ['in-process', 'in-process recorded'],
  ['in-process', NO_FSYNC],
  ['websocket', 'websocket recorded'],
]

export interface LatencyFigures extends LatencySummary {
  /** Events per second actually delivered (should be the target rate). */
  achievedRate: number
}

export interface LatencyResult {
  config: LatencyConfig
  runs: number
  /** Median over runs of each run's p50 / p99 / max (ms). */
  paths: Record<PathName, LatencyFigures>
  /** Recorded p99 ÷ ephemeral p99, per iteration, median (target ≤ 1.2). */
  recorded: Array<{ ephemeral: PathName; recorded: PathName; p99Ratio: number }>
}

export async function runLatency(config: LatencyConfig, runs: number, log: (line: string) => void): Promise<LatencyResult> {
  const perSession = Math.round((config.rate * config.durationMs) / 1000 / config.sessions)
  const spec: StreamSpec = { mode: 'paced', count: perSession, rate: config.rate }
  const raw = await RawRig.start(1)
  const dataDir = mkdtempSync(join(tmpdir(), 'carhost-bench-lat-'))
  const store = openConversationStore(dataDir)
  const rig = await HubRig.start(1, { conversations: store })
  const noFsyncDir = mkdtempSync(join(tmpdir(), 'carhost-bench-lat-'))
  const noFsyncStore = openConversationStore(noFsyncDir, { synchronous: 'NORMAL' })
  const noFsyncRig = await HubRig.start(1, { conversations: noFsyncStore })
  const inProcess = rig.inProcessHosts(config.hosts)
  const websocket = await rig.webSocketHosts(config.hosts)
  const groups: Record<Exclude<PathName, 'raw'>, HostGroup> = {
    'in-process': inProcess,
    'in-process recorded': inProcess,
    [NO_FSYNC]: noFsyncRig.inProcessHosts(config.hosts),
    websocket,
    'websocket recorded': websocket,
  }
  const names: PathName[] = ['raw', 'in-process', 'in-process recorded', NO_FSYNC, 'websocket', 'websocket recorded']
  const recorded = new Set<PathName>(RECORDED.map(([, r]) => r))
  const samples = new Map<PathName, LatencyFigures[]>(names.map((name) => [name, []]))
  let tag = 0

  const runPath = async (name: PathName): Promise<LatencyFigures> => {
    const id = `lat${tag++}`
    if (name === 'raw') {
      const run = await raw.run(config.sessions, spec, id)
      return { ...summarizeLatencies(run.latencies!), achievedRate: (run.events / run.elapsedMs) * 1000 }
    }
    const plans: ChatPlan[] = Array.from({ length: config.sessions }, (_, s) => ({
      host: s % config.hosts,
      agent: 0,
      sessionId: `${id}-s${s}`,
      spec,
      ...(recorded.has(name) ? { conversationId: `${id}-s${s}` } : {}),
    }))
    const { outcomes, latencies } = await groups[name].run(plans)
    const start = Math.min(...outcomes.map((o) => o.startMs))
    const end = Math.max(...outcomes.map((o) => o.endMs))
    const events = outcomes.reduce((sum, o) => sum + o.events - 1, 0)
    if (latencies.length !== perSession * config.sessions) {
      throw new Error(`${name}: ${latencies.length} stamps arrived, ${perSession * config.sessions} sent`)
    }
    return { ...summarizeLatencies(latencies), achievedRate: (events / (end - start)) * 1000 }
  }

  try {
    for (const name of names) await runPath(name) // warm-up
    for (let i = 0; i < runs; i++) {
      const order = names.map((_, k) => names[(k + i) % names.length]!)
      for (const name of order) samples.get(name)!.push(await runPath(name))
      log(`  latency: iteration ${i + 1}/${runs}`)
    }
  } finally {
    for (const group of new Set(Object.values(groups))) await group.close()
    await rig.stop()
    await noFsyncRig.stop()
    store.close()
    noFsyncStore.close()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(noFsyncDir, { recursive: true, force: true })
    await raw.stop()
  }

  const paths = {} as Record<PathName, LatencyFigures>
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
  const ratios = RECORDED.map(([ephemeral, rec]) => {
    const base = samples.get(ephemeral)!
    return { ephemeral, recorded: rec, p99Ratio: median(samples.get(rec)!.map((s, i) => s.p99 / base[i]!.p99)) }
  })
  return { config, runs, paths, recorded: ratios }
}
