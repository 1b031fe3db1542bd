/**
 * `npm run bench`: every scenario, one table, one JSON file under bench/results/.
 *
 *   node --expose-gc --import tsx bench/run.ts [--runs 5] [--only throughput,latency,window,isolation,scale,startup,conversations,ui]
 *   node --expose-gc --import tsx bench/run.ts --profile in-process|websocket[:4x8][:recorded]   (CPU profile of the hub process)
 *
 * Every figure is the median of `--runs` runs after a warm-up; the raw baseline is
 * measured in the same iterations as the paths it is compared with.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { machineInfo, repoRoot } from './lib/env.js'
import { openConversationStore } from '../src/platform/node/sqlite-conversation-store.js'
import { HubRig } from './lib/hub-rig.js'
import { profile } from './lib/profile.js'
import { fmt } from './lib/stats.js'
import { conversationStoreConfig, runConversationStore, type ConversationStoreResult } from './scenarios/conversation-store.js'
import { isolationConfig, runIsolation, type IsolationResult } from './scenarios/isolation.js'
import { latencyConfig, runLatency, type LatencyResult } from './scenarios/latency.js'
import { runScale, scaleConfig, type ScaleResult } from './scenarios/scale.js'
import { runStartup, type StartupResult } from './scenarios/startup.js'
import { runThroughput, shapes, type ThroughputResult } from './scenarios/throughput.js'
import { runUi, uiConfig, type UiResult } from './scenarios/ui.js'
import { runWindow, type WindowResult } from './scenarios/window.js'

const SCENARIOS = ['throughput', 'latency', 'window', 'isolation', 'scale', 'startup', 'conversations', 'ui'] as const
type Scenario = (typeof SCENARIOS)[number]

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
})
const runs = Math.max(1, Number(values.runs))
const only = new Set<Scenario>(values.only ? (values.only.split(',') as Scenario[]) : SCENARIOS)
const resultsDir = join(repoRoot, 'bench/results')
const log = (line: string) => process.stderr.write(`${line}\n`)

interface Results {
  startedAt: string
  machine: ReturnType<typeof machineInfo> & { loadavgAtEnd?: number[] }
  runs: number
  durationSec?: number
  throughput?: ThroughputResult[]
  latency?: LatencyResult
  window?: WindowResult
  isolation?: IsolationResult[]
  scale?: ScaleResult
  startup?: StartupResult
  conversations?: ConversationStoreResult
  ui?: UiResult
}

async function main(): Promise<void> {
  await mkdir(resultsDir, { recursive: true })
  if (values.profile) return profileHub(values.profile)
  const t0 = performance.now()
  const results: Results = { startedAt: new Date().toISOString(), machine: machineInfo(), runs }
  log(`CarHost bench: ${runs} runs per figure, ${results.machine.cpus} CPUs, load ${results.machine.loadavgAtStart.join(' ')}`)
  if (only.has('throughput')) {
    results.throughput = []
    for (const shape of shapes) results.throughput.push(await runThroughput(shape, runs, log))
  }
  if (only.has('latency')) results.latency = await runLatency(latencyConfig, runs, log)
  if (only.has('window')) results.window = await runWindow(runs, log)
  if (only.has('isolation')) {
    results.isolation = [
      await runIsolation('in-process', isolationConfig, runs, log),
      await runIsolation('websocket', isolationConfig, runs, log),
    ]
  }
  if (only.has('scale')) results.scale = await runScale(scaleConfig, runs, log)
  if (only.has('startup')) results.startup = await runStartup(runs, log)
  if (only.has('conversations')) results.conversations = await runConversationStore(conversationStoreConfig, runs, log)
  if (only.has('ui')) results.ui = await runUi(uiConfig, Math.min(runs, 3), log)
  results.machine.loadavgAtEnd = loadavg().map((n) => Math.round(n * 100) / 100)
  results.durationSec = Math.round((performance.now() - t0) / 1000)

  const table = render(results)
  process.stdout.write(table)
  const stamp = results.startedAt.replace(/[:.]/g, '-')
  const file = join(resultsDir, `bench-${stamp}.json`)
  await writeFile(file, JSON.stringify(results, null, 2))
  await writeFile(join(resultsDir, 'latest.json'), JSON.stringify(results, null, 2))
  log(`\nresults: ${file} (${results.durationSec} s)`)
}

function render(r: Results): string {
  const lines: string[] = []
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`)
  const head = (...cells: string[]) => {
    lines.push('')
    row(...cells)
    row(...cells.map(() => '---'))
  }
  lines.push(
    `CarHost bench — ${r.startedAt}, node ${r.machine.node}, ${r.machine.cpus}× ${r.machine.cpuModel}, ` +
      `load ${r.machine.loadavgAtStart.join('/')} → ${r.machine.loadavgAtEnd?.join('/')}, median of ${r.runs} runs`,
  )
  if (r.throughput) {
    head('throughput', 'path', 'msgs/s', 'text B/s', 'merged', 'msgs ÷ raw', 'text ÷ raw')
    for (const t of r.throughput) {
      for (const [path, f] of Object.entries(t.paths)) {
        row(t.shape.name, path, fmt(f.messagesPerSec), fmt(f.textBytesPerSec), fmt(f.merged), fmt(f.messagesRatio, 2), fmt(f.textBytesRatio, 2))
      }
    }
    head('recorded throughput', 'path', 'ephemeral text B/s', 'recorded text B/s', 'recorded ÷ ephemeral', 'target')
    for (const t of r.throughput) {
      for (const [path, ratio] of Object.entries(t.recordedRatio)) {
        const ephemeral = t.paths[path as keyof typeof t.paths]
        const recorded = t.paths[`${path} recorded` as keyof typeof t.paths]
        row(t.shape.name, path, fmt(ephemeral.textBytesPerSec), fmt(recorded.textBytesPerSec), fmt(ratio, 2), '≥ 0.8')
      }
    }
  }
  if (r.latency) {
    const c = r.latency.config
    head(`latency @ ${fmt(c.rate)}/s, ${c.sessions} sessions`, 'path', 'p50 ms', 'p99 ms', 'max ms', 'achieved/s', 'samples')
    for (const [path, f] of Object.entries(r.latency.paths)) {
      row('emit → receive', path, fmt(f.p50, 3), fmt(f.p99, 3), fmt(f.max, 2), fmt(f.achievedRate), fmt(f.samples))
    }
    head(`recorded latency @ ${fmt(c.rate)}/s, ${c.sessions} sessions`, 'path', 'ephemeral p99 ms', 'recorded p99 ms', 'recorded ÷ ephemeral', 'target')
    for (const { ephemeral, recorded, p99Ratio } of r.latency.recorded) {
      row('emit → receive', recorded, fmt(r.latency.paths[ephemeral].p99, 3), fmt(r.latency.paths[recorded].p99, 3), fmt(p99Ratio, 2), '≤ 1.2')
    }
  }
  if (r.window) {
    head('window (MessagePort)', 'path', 'msgs/s', 'text B/s', 'merged', 'msgs ÷ raw', 'text ÷ raw')
    for (const t of r.window.throughput) {
      for (const [path, f] of Object.entries(t.paths)) {
        row(t.shape.name, path, fmt(f.messagesPerSec), fmt(f.textBytesPerSec), fmt(f.merged), fmt(f.messagesRatio, 2), fmt(f.textBytesRatio, 2))
      }
    }
    const c = r.window.latency.config
    head(`window latency @ ${fmt(c.rate)}/s, ${c.sessions} sessions`, 'path', 'p50 ms', 'p99 ms', 'max ms', 'achieved/s', 'samples')
    for (const [path, f] of Object.entries(r.window.latency.paths)) {
      row('emit → receive', path, fmt(f.p50, 3), fmt(f.p99, 3), fmt(f.max, 2), fmt(f.achievedRate), fmt(f.samples))
    }
  }
  if (r.isolation) {
    head('isolation', 'healthy host', 'text B/s', '÷ alone', 'p99 ms', '÷ alone', 'peak RSS +MiB', 'flood text intact', 'merged')
    for (const i of r.isolation) {
      for (const [variant, f] of Object.entries(i.variants)) {
        row(
          i.transport,
          variant,
          fmt(f.healthyTextBytesPerSec),
          fmt(f.throughputVsAlone, 2),
          fmt(f.healthyP99, 3),
          fmt(f.p99VsAlone, 2),
          fmt(f.peakRssGrowthMiB, 1),
          variant === 'alone' ? '—' : `${f.floodTextIntact ? 'yes' : 'NO'} (${fmt(f.floodTextBytes / 2 ** 20, 2)} MiB)`,
          fmt(f.merged),
        )
      }
    }
  }
  if (r.scale) {
    const f = r.scale.figures
    head(`scale: ${fmt(r.scale.config.sessions)} sessions (in-process)`, 'figure')
    row('create (agents.chat → ack → result)', `${fmt(f.createMicrosPerSession, 2)} µs/session`)
    row('route one token', `${fmt(f.routeMicrosPerEvent, 2)} µs/event`)
    row('end (done)', `${fmt(f.endMicrosPerSession, 2)} µs/session`)
    row('sweeper pass', `${fmt(f.sweepMsPerPass, 2)} ms (${fmt(f.sweepNanosPerSession, 1)} ns/session)`)
    row('memory', `${fmt(f.heapBytesPerSession)} B heap/session; RSS ${fmt(f.rssMiBWithAllOpen)} MiB with all open`)
  }
  if (r.startup) {
    head('startup', 'ready ms (median)', 'min', 'max', 'agents running at ready')
    row('headless hub', fmt(r.startup.readyMs), fmt(r.startup.minMs), fmt(r.startup.maxMs), r.startup.agentsRunning.join(','))
  }
  if (r.conversations) {
    const c = r.conversations
    head(`conversations.db: ${fmt(c.config.conversations)} conversations, ${fmt(c.config.messages)} messages`, 'median ms', 'target')
    row('`conversations.list` first page (50)', fmt(c.listMs, 2), '< 20')
    row(`\`conversations.get\` of ${fmt(c.config.longConversation)} messages`, fmt(c.getMs, 2), '< 50')
    row(`\`conversations.search\` (2 words, ${c.searchHits} results)`, fmt(c.searchMs, 2), '< 50')
    row('open the store (+ interrupt sweep), full', fmt(c.openMs, 2), '—')
    row('open the store, empty', fmt(c.openEmptyMs, 2), '—')
    row('hub start → first `conversations.list` answered, full', fmt(c.hubStartMs, 2), '—')
    row('hub start → first `conversations.list` answered, empty', fmt(c.hubStartEmptyMs, 2), '—')
    row('file size', `${fmt(c.fileMiB, 0)} MiB = ${fmt(c.miBPerMillionTokens, 2)} MiB per million tokens`, '—')
  }
  if (r.ui) {
    const u = r.ui
    head(`window vs terminal: echo streams ${fmt(u.promptBytes / 1024)} KB of Markdown (${u.echoDelayMs} ms/word), median of ${u.runs}`, 'figure', 'target')
    row('`carhost chat echo` (spawn → exit)', `${fmt(u.cliMs)} ms`, '—')
    row('Chromium tab (Send → done)', `${fmt(u.uiMs)} ms = ${fmt(u.ratio, 2)}× the terminal`, '≤ 1.2×')
    row('longest task while streaming', `${fmt(u.longestStreamingTaskMs)} ms (worst run ${fmt(u.worstStreamingTaskMs)})`, '≤ 50 ms')
    row('longest task at the finish', `${fmt(u.finishFreezeMs)} ms (worst run ${fmt(u.worstFinishFreezeMs)})`, '≤ 100 ms')
    row('long tasks per run', fmt(u.longTasksPerRun), '—')
  }
  return `${lines.join('\n')}\n`
}

/**
 * One large flood through the hub, profiled in the hub process: `in-process` or `websocket`,
 * optionally `:AGENTSxHOSTS`, optionally `:recorded` (each stream a fresh conversation, §11,
 * on a `conversations.db` in a temp dir).
 */
async function profileHub(arg: string): Promise<void> {
  const [path, shape = '1x1', mode] = arg.split(':')
  const [agents, hosts] = shape.split('x').map(Number) as [number, number]
  if ((path !== 'in-process' && path !== 'websocket') || !(agents >= 1) || !(hosts >= 1) || (mode !== undefined && mode !== 'recorded')) {
    throw new Error('--profile in-process|websocket[:AGENTSxHOSTS][:recorded]')
  }
  const recorded = mode === 'recorded'
  const dataDir = mkdtempSync(join(tmpdir(), 'carhost-bench-profile-'))
  const store = openConversationStore(dataDir)
  const rig = await HubRig.start(agents, { conversations: store })
  const group = path === 'in-process' ? rig.inProcessHosts(hosts) : await rig.webSocketHosts(hosts)
  const total = 300_000
  const plans = (tag: string, count: number) =>
    Array.from({ length: hosts }, (_, h) => ({
      host: h,
      agent: h % agents,
      sessionId: `${tag}-${h}`,
      spec: { mode: 'flood' as const, count, delta: 'hello ' },
      ...(recorded ? { conversationId: `${tag}-${h}` } : {}),
    }))
  await group.run(plans('warm', Math.ceil(50_000 / hosts)))
  const file = join(tmpdir(), `carhost-hub-${path}-${shape}${recorded ? '-recorded' : ''}-${process.pid}.cpuprofile`)
  let elapsed = 0
  const { top, areas } = await profile(async () => {
    const { outcomes } = await group.run(plans('profiled', Math.ceil(total / hosts)))
    elapsed = Math.max(...outcomes.map((o) => o.endMs)) - Math.min(...outcomes.map((o) => o.startMs))
  }, file)
  await group.close()
  await rig.stop()
  store.close()
  rmSync(dataDir, { recursive: true, force: true })
  process.stdout.write(`hub process, ${path}${recorded ? ' recorded' : ''}, ${agents} agents → ${hosts} hosts, ${fmt(total)} tokens in ${fmt(elapsed)} ms (${fmt((total / elapsed) * 1000)}/s)\n`)
  process.stdout.write('| self ms | % | function | where |\n| --- | --- | --- | --- |\n')
  for (const t of top) process.stdout.write(`| ${fmt(t.selfMs, 1)} | ${fmt(t.percent, 1)} | ${t.fn} | ${t.where} |\n`)
  process.stdout.write('\n| % self | area |\n| --- | --- |\n')
  for (const a of areas.slice(0, 20)) process.stdout.write(`| ${fmt(a.percent, 1)} | ${a.area} |\n`)
  process.stdout.write(`profile: ${file}\n`)
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error))
  process.exit(1)
})
