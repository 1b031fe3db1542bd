import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { repoRoot } from '../lib/env.js'
import { median } from '../lib/stats.js'

/**
 * Headless hub start-up: spawn `node out/main/headless.js --port 0 --data-dir <tmp>`
 * and time until it prints its ready line (listening, built-in agents running).
 */

export interface StartupResult {
  runs: number
  readyMs: number
  minMs: number
  maxMs: number
  /** Agents `agents.list` reported running right after the ready line (every run). */
  agentsRunning: number[]
}

const READY = /hub ready on (ws:\/\/\S+)/

function withoutToken(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env }
  delete copy.CARHOST_TOKEN
  return copy
}

/** Asks a freshly started hub which agents run. */
async function runningAgents(url: string, token: string): Promise<number> {
  const ws = new WebSocket(url)
  try {
    await once(ws, 'open')
    const replies: Array<{ id: number; result?: { agents?: Array<{ status: string }> } }> = []
    ws.on('message', (data) => replies.push(JSON.parse(data.toString())))
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session.auth', params: { host_token: token } }))
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'agents.list' }))
    const deadline = Date.now() + 10_000
    while (!replies.some((r) => r.id === 2)) {
      if (Date.now() > deadline) throw new Error('no answer to agents.list')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return replies.find((r) => r.id === 2)!.result?.agents?.filter((a) => a.status === 'running').length ?? 0
  } finally {
    ws.close()
  }
}

async function startOnce(): Promise<{ ms: number; running: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carhost-bench-'))
  const t0 = performance.now()
  const child = spawn(process.execPath, [join(repoRoot, 'out/main/headless.js'), '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: withoutToken(process.env),
  })
  try {
    const { ms, url } = await new Promise<{ ms: number; url: string }>((resolve, reject) => {
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        const match = READY.exec(out)
        if (match) resolve({ ms: performance.now() - t0, url: match[1]! })
      })
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
      child.once('exit', (code) => reject(new Error(`the hub exited (${code}) before it was ready: ${err.slice(-500)}`)))
    })
    // The hub generated its token into the data directory (PROTOCOL.md §2).
    const token = (await readFile(join(dataDir, 'hub-token'), 'utf8')).trim()
    return { ms, running: await runningAgents(url, token) }
  } finally {
    if (child.exitCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    await rm(dataDir, { recursive: true, force: true })
  }
}

export async function runStartup(runs: number, log: (line: string) => void): Promise<StartupResult> {
  if (!existsSync(join(repoRoot, 'out/main/headless.js'))) throw new Error('out/main/headless.js is missing: run `npm run build` first')
  await startOnce() // warm-up (file cache)
  const times: number[] = []
  const running: number[] = []
  for (let i = 0; i < runs; i++) {
    const run = await startOnce()
    times.push(run.ms)
    running.push(run.running)
    log(`  startup: iteration ${i + 1}/${runs}`)
  }
  return { runs, readyMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), agentsRunning: running }
}
