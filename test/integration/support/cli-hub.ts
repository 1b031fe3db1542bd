import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { CARHOST_JS, cleanEnv, startHub, startProcess, type RunningHub, type TestProcess } from './headless-process.js'

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * A real headless hub for the `carhost` CLI tests of one file: the built-in agents
 * plus a manifest agent `gate` from `gateAgent` (a CommonJS module's source), and
 * every CLI process a test starts, killed after it.
 */
export class CliHub {
  root = ''
  dataDir = ''
  running!: RunningHub
  private readonly processes: TestProcess[] = []

  carhost(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): TestProcess {
    const proc = startProcess(CARHOST_JS, args, env)
    this.processes.push(proc)
    return proc
  }

  /** Runs the CLI to its exit with `stdin` as its whole standard input. */
  async run(args: string[], env?: NodeJS.ProcessEnv, stdin = ''): Promise<CliRun> {
    const proc = this.carhost(args, env)
    proc.child.stdin!.end(stdin)
    const exit = await proc.exited
    return { code: exit.code, stdout: proc.stdout, stderr: proc.stderr }
  }

  async start(prefix: string, gateAgent: string): Promise<void> {
    this.root = mkdtempSync(join(tmpdir(), prefix))
    this.dataDir = join(this.root, 'data')
    mkdirSync(join(this.root, 'agents'))
    writeFileSync(join(this.root, 'agents', 'gate.cjs'), gateAgent)
    const manifest = join(this.root, 'manifest.json')
    writeFileSync(manifest, JSON.stringify({ agents: [{ id: 'gate', name: 'Gate', module: 'agents/gate.cjs' }] }))
    this.running = await startHub(['--port', '0', '--data-dir', this.dataDir, '--agents', manifest])
  }

  async killProcesses(): Promise<void> {
    for (const proc of this.processes.splice(0)) {
      proc.kill('SIGKILL')
      await proc.exited
    }
  }

  async stop(): Promise<void> {
    this.running?.process.kill('SIGTERM')
    await this.running?.process.exited
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** Call inside a `describe`: the hub starts before its tests and stops after them. */
export function useCliHub(prefix: string, gateAgent: string): CliHub {
  const hub = new CliHub()
  beforeAll(() => hub.start(prefix, gateAgent))
  afterEach(() => hub.killProcesses())
  afterAll(() => hub.stop())
  return hub
}
