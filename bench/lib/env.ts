import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const floodAgentPath = fileURLToPath(new URL('../agents/flood-agent.ts', import.meta.url))
export const wsClientPath = fileURLToPath(new URL('../agents/ws-client.ts', import.meta.url))

/** Agents are TypeScript run through tsx, exactly as the launcher is told to run them. */
export const agentExecArgv = ['--import', 'tsx']

/**
 * Forks a bench agent the way `ChildProcessLauncher` does (same execArgv, JSON
 * serialization, IPC channel) but with no hub: the raw baseline's parent end.
 */
export async function forkRawAgent(id: string): Promise<ChildProcess> {
  const child = fork(floodAgentPath, [], {
    env: { ...process.env, CARHOST_AGENT_ID: id },
    execArgv: agentExecArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  })
  await once(child, 'spawn')
  return child
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

export interface MachineInfo {
  node: string
  cpus: number
  cpuModel: string
  totalMemMiB: number
  loadavgAtStart: number[]
}

export function machineInfo(): MachineInfo {
  const list = cpus()
  return {
    node: process.version,
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    totalMemMiB: Math.round(totalmem() / 2 ** 20),
    loadavgAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
  }
}

/** Collects garbage when the bench runs with --expose-gc (npm run bench does). */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect) {
    collect()
    collect()
  }
}

/** Resolves when `check` holds; polls on macrotasks, fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
