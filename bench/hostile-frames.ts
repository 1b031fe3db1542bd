/**
 * How long a second host waits while the hub handles one hostile frame (PROTOCOL.md §2:
 * about 100 ms at most). The hub and the attacker each run in a child process (so that
 * building and masking 16 MiB costs neither the hub nor the measurer); this process holds
 * a bystander that round-trips `hub.stats` back to back. The
 * figure is the bystander's longest round trip while the frame is handled, next to its
 * longest with no attack, and the hub's peak RSS.
 *
 *   node --import tsx bench/hostile-frames.ts
 */
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { Hub } from '../src/hub/hub.js'
import { HubServer } from '../src/platform/node/hub-server.js'

const TOKEN = 'bench-token'
const MiB = 1024 * 1024

const CASES: Record<string, { authed: boolean; make: () => string }> = {
  'unauthenticated 8 M "[" + 8 M "]"': { authed: false, make: () => '['.repeat(8 * MiB) + ']'.repeat(8 * MiB) },
  'unauthenticated 16 MiB padded session.auth': { authed: false, make: () => padded(16 * MiB - 1) },
  'authenticated 8 M "[" + 8 M "]"': { authed: true, make: () => '['.repeat(8 * MiB) + ']'.repeat(8 * MiB) },
  'authenticated flat array, 8 M numbers': { authed: true, make: () => `[${'1,'.repeat(8 * MiB - 2)}1]` },
  'authenticated 16 MiB prompt (legitimate size, parsed)': { authed: true, make: () => bigPrompt(16 * MiB) },
}

if (process.argv.includes('--attack')) {
  const [url, name] = process.argv.slice(process.argv.indexOf('--attack') + 1) as [string, string]
  const { authed, make } = CASES[name]!
  const frame = make()
  const attacker = await open(url, authed)
  process.send?.('ready')
  await new Promise((resolve) => process.once('message', resolve))
  const handled = new Promise((resolve) => {
    attacker.once('message', resolve)
    attacker.once('close', resolve)
  })
  attacker.send(frame)
  await handled
  process.send?.('handled')
  attacker.terminate()
  process.disconnect()
} else if (process.argv.includes('--hub')) {
  const hub = new Hub({ agents: [], launcher: { launch: () => Promise.reject(new Error('no agents')) } as never })
  await hub.start()
  const server = await HubServer.listen({ hub, token: TOKEN, port: 0 })
  process.send?.(server.wsUrl)
} else {
  await main()
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--hub'], { execArgv: ['--import', 'tsx'] })
  const url = await new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))))
  const peakRss = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

  const bystander = await open(url, true)
  const quiet = await worstRoundTrip(bystander, new Promise((r) => setTimeout(r, 1000)))
  console.log(`no attack: bystander's longest round trip ${quiet.toFixed(1)} ms (hub peak RSS ${peakRss().toFixed(0)} MiB)`)

  for (const name of Object.keys(CASES)) {
    const attacker = fork(fileURLToPath(import.meta.url), ['--attack', url, name], { execArgv: ['--import', 'tsx'] })
    await new Promise((resolve) => attacker.once('message', resolve))
    const handled = new Promise((resolve) => attacker.once('message', resolve))
    const worst = worstRoundTrip(bystander, handled)
    attacker.send('go')
    console.log(`${name}: bystander's longest round trip ${(await worst).toFixed(1)} ms (hub peak RSS ${peakRss().toFixed(0)} MiB)`)
  }
  bystander.terminate()
  child.kill()
}

function padded(size: number): string {
  const auth = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session.auth', params: { host_token: TOKEN } })
  return auth + ' '.repeat(size - auth.length)
}

function bigPrompt(size: number): string {
  const head = '{"jsonrpc":"2.0","id":"big","method":"agents.chat","params":{"agent_id":"none","prompt":"'
  const tail = '"}}'
  return head + 'p'.repeat(size - head.length - tail.length) + tail
}

async function open(url: string, authenticate: boolean): Promise<WebSocket> {
  const ws = new WebSocket(url, { maxPayload: 64 * MiB })
  ws.on('error', () => {})
  await new Promise((resolve) => ws.once('open', resolve))
  if (authenticate) {
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'auth', method: 'session.auth', params: { host_token: TOKEN } }))
    await new Promise((resolve) => ws.once('message', resolve))
  }
  return ws
}

/** Round-trips hub.stats back to back until `until` settles (and the trip in flight ends); the longest, in ms. */
async function worstRoundTrip(ws: WebSocket, until: Promise<unknown>): Promise<number> {
  let done = false
  void until.then(() => (done = true))
  let worst = 0
  let id = 0
  while (!done) {
    const started = performance.now()
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: `p${++id}`, method: 'hub.stats' }))
    await new Promise((resolve) => ws.once('message', resolve))
    worst = Math.max(worst, performance.now() - started)
  }
  return worst
}
