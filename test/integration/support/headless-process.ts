import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'

export const HEADLESS_JS = resolve('out/main/headless.js')
export const CARHOST_JS = resolve('bin/carhost.js')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A process under test: its output as it arrives, and its exit. */
export class TestProcess {
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>
  private waiters: Array<() => void> = []
  private exit: Exit | null = null

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
      this.wake()
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
      this.wake()
    })
    this.exited = new Promise((done) =>
      child.once('close', (code, signal) => {
        this.exit = { code, signal }
        this.wake()
        done(this.exit)
      }),
    )
  }

  /** Resolves with the first match of `pattern` in stdout (or stderr), once it appears. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    for (;;) {
      const match = this[stream].match(pattern)
      if (match) return match
      if (this.exit) {
        throw new Error(`exited (${JSON.stringify(this.exit)}) before ${pattern}; stdout: ${this.stdout}; stderr: ${this.stderr}`)
      }
      await new Promise<void>((done) => this.waiters.push(done))
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exit) this.child.kill(signal)
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter()
  }
}

/** Environment for processes under test: no token or URL leaking in from the outside. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.CARHOST_TOKEN
  delete env.CARHOST_URL
  delete env.NODE_OPTIONS
  return { ...env, CARHOST_ECHO_DELAY_MS: '0', CARHOST_TOOLBOX_DELAY_MS: '0', ...extra }
}

export function startProcess(script: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): TestProcess {
  return new TestProcess(spawn(process.execPath, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }))
}

export interface RunningHub {
  process: TestProcess
  url: string
  browserUrl: string
  token: string
  port: number
}

/** Starts `node out/main/headless.js` and waits for its ready line. */
export async function startHub(args: string[], env?: NodeJS.ProcessEnv): Promise<RunningHub> {
  const proc = startProcess(HEADLESS_JS, args, env)
  const match = await proc.waitFor(/(ws:\/\/[^\s]+:(\d+)).*(http:\/\/[^\s]+#token=([^\s]+))\n/)
  return {
    process: proc,
    url: match[1]!,
    port: Number(match[2]),
    browserUrl: match[3]!,
    token: decodeURIComponent(match[4]!),
  }
}

/** True while `pid` is a live (not zombie) process. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return true
  try {
    const state = readFileSync(stat, 'utf8').replace(/^.*\) /s, '')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

export function builtOutputExists(): boolean {
  return existsSync(HEADLESS_JS) && existsSync(resolve('out/main/carhost.js'))
}
