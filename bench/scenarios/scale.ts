import { Hub } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import { ManifestAgentSchema } from '../../src/protocol/manifest.js'
import { gc, until } from '../lib/env.js'
import { FastLauncher } from '../lib/fast-agent.js'
import { median } from '../lib/stats.js'

/**
 * 100,000 sessions in the map at once: create (agents.chat, acknowledged), route one
 * token each, a sweeper pass over all of them, end (`done` each). In-process hosts
 * and an in-process agent (`FastAgent`), so the figures are the hub's own costs.
 */

export interface ScaleConfig {
  sessions: number
  hosts: number
  /** agents.chat calls a host keeps in flight at once. */
  window: number
}

export const scaleConfig: ScaleConfig = { sessions: 100_000, hosts: 100, window: 100 }

export interface ScaleFigures {
  createMicrosPerSession: number
  routeMicrosPerEvent: number
  endMicrosPerSession: number
  sweepMsPerPass: number
  sweepNanosPerSession: number
  /** heapUsed after gc with every session open, minus before, per session. */
  heapBytesPerSession: number
  rssMiBWithAllOpen: number
}

export interface ScaleResult {
  config: ScaleConfig
  runs: number
  figures: ScaleFigures
}

async function runOnce(config: ScaleConfig): Promise<ScaleFigures> {
  const launcher = new FastLauncher()
  const hub = new Hub({
    agents: [ManifestAgentSchema.parse({ id: 'fast', name: 'fast', module: '/in-process/fast' })],
    launcher,
    sweepIntervalMs: 3_600_000, // passes are timed by hand below
  })
  await hub.start()
  const agent = launcher.agents[0]!
  let tokens = 0
  let terminals = 0
  const hosts = Array.from({ length: config.hosts }, () => {
    const host = new InProcessHost({ highWaterBytes: 2 ** 30 })
    host.recordReceived = false
    host.onNotification(({ params }) => {
      const kind = (params as { kind: string }).kind
      if (kind === 'token') tokens++
      else terminals++
    })
    hub.connectHost(host.transport)
    return host
  })
  const perHost = config.sessions / config.hosts
  const ids = hosts.map((_, h) => Array.from({ length: perHost }, (_, i) => `scale-${h}-${i}`))
  gc()
  const heapBefore = process.memoryUsage().heapUsed

  let t0 = performance.now()
  await Promise.all(
    hosts.map(async (host, h) => {
      for (let i = 0; i < perHost; i += config.window) {
        await Promise.all(
          ids[h]!.slice(i, i + config.window).map((session_id) => host.client.call('agents.chat', { agent_id: 'fast', prompt: 'p', session_id })),
        )
      }
    }),
  )
  const createMs = performance.now() - t0
  if (hub.stats().sessions_active !== config.sessions) throw new Error(`${hub.stats().sessions_active} sessions open`)

  gc()
  const heapAll = process.memoryUsage().heapUsed
  const rssAll = process.memoryUsage().rss

  t0 = performance.now()
  for (const list of ids) for (const session_id of list) agent.emit({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id, kind: 'token', delta: 'x' } })
  await until(() => tokens === config.sessions, 60_000, 'every token to arrive')
  const routeMs = performance.now() - t0

  const sweeps: number[] = []
  for (let i = 0; i < 5; i++) {
    const s0 = performance.now()
    const expired = hub.router.sweep()
    sweeps.push(performance.now() - s0)
    if (expired !== 0) throw new Error('the sweeper ended live sessions')
  }

  t0 = performance.now()
  for (const list of ids) {
    for (const session_id of list) agent.emit({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id, kind: 'done', finish_reason: 'stop' } })
  }
  await until(() => terminals === config.sessions, 60_000, 'every done to arrive')
  const endMs = performance.now() - t0
  if (hub.stats().sessions_active !== 0) throw new Error('sessions left after their done')

  for (const host of hosts) host.dispose()
  await hub.shutdown()
  const sweepMs = median(sweeps)
  return {
    createMicrosPerSession: (createMs * 1000) / config.sessions,
    routeMicrosPerEvent: (routeMs * 1000) / config.sessions,
    endMicrosPerSession: (endMs * 1000) / config.sessions,
    sweepMsPerPass: sweepMs,
    sweepNanosPerSession: (sweepMs * 1e6) / config.sessions,
    heapBytesPerSession: (heapAll - heapBefore) / config.sessions,
    rssMiBWithAllOpen: rssAll / 2 ** 20,
  }
}

export async function runScale(config: ScaleConfig, runs: number, log: (line: string) => void): Promise<ScaleResult> {
  const list: ScaleFigures[] = []
  await runOnce({ ...config, sessions: config.sessions / 10 }) // warm-up
  for (let i = 0; i < runs; i++) {
    list.push(await runOnce(config))
    log(`  scale: iteration ${i + 1}/${runs}`)
  }
  const figures = {} as ScaleFigures
  for (const key of Object.keys(list[0]!) as Array<keyof ScaleFigures>) figures[key] = median(list.map((f) => f[key]))
  return { config, runs, figures }
}
