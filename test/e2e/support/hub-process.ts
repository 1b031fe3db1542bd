import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../../..')
export const HEADLESS_JS = join(ROOT, 'out/main/headless.js')

const READY_TIMEOUT_MS = 20_000
const EXIT_TIMEOUT_MS = 10_000

/** `CarHost hub ready on ws://HOST:PORT - open http://HOST:PORT/#token=TOKEN` */
const READY_LINE = /(ws:\/\/\S+:(\d+))\/?\s.*?(http:\/\/\S+?)#token=(\S+)/

export interface HubExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** The real headless hub (`node out/main/headless.js`) as a child process. */
export interface HeadlessHub {
  /** `ws://HOST:PORT` */
  readonly wsUrl: string
  /** `http://HOST:PORT/` */
  readonly httpUrl: string
  /** `http://HOST:PORT`: the only origin allowed to open a WebSocket. */
  readonly origin: string
  /** The link the hub prints, with `#token=`. */
  readonly pageUrl: string
  readonly token: string
  readonly pid: number
  /** Everything the hub wrote to stderr so far (its log). */
  stderr(): string
  /** SIGINT, then waits for the exit (SIGKILL after 10 s, reported as an error). */
  stop(): Promise<HubExit>
}

export interface HubStartOptions {
  /** Files written into the fresh data directory before the hub starts (e.g. `mcp.json`), by name. */
  files?: Record<string, string>
}

/**
 * Starts the hub on a free port with a fresh data directory and resolves once it
 * printed its ready line. `env` is added to this process's environment; the hub
 * passes its environment on to its agents.
 */
export async function startHeadlessHub(env: Record<string, string> = {}, options: HubStartOptions = {}): Promise<HeadlessHub> {
  if (!existsSync(HEADLESS_JS)) {
    throw new Error(`${HEADLESS_JS} is missing: build first (npx electron-vite build; npm test does it)`)
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'carhost-e2e-'))
  for (const [name, text] of Object.entries(options.files ?? {})) await writeFile(join(dataDir, name), text)
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  delete childEnv.CARHOST_TOKEN
  delete childEnv.NODE_OPTIONS
  const child = spawn(process.execPath, [HEADLESS_JS, '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<HubExit>((done) => child.once('exit', (code, signal) => done({ code, signal })))

  const cleanup = async () => {
    await rm(dataDir, { recursive: true, force: true })
  }

  let match: RegExpMatchArray
  try {
    match = await new Promise<RegExpMatchArray>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`no ready line from the hub within ${READY_TIMEOUT_MS} ms; stdout: ${stdout}; stderr: ${stderr}`)),
        READY_TIMEOUT_MS,
      )
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk
        const found = stdout.match(READY_LINE)
        if (found) {
          clearTimeout(timer)
          done(found)
        }
      })
      void exited.then((exit) => {
        clearTimeout(timer)
        fail(new Error(`the hub exited (${JSON.stringify(exit)}) before it was ready; stdout: ${stdout}; stderr: ${stderr}`))
      })
    })
  } catch (error) {
    await terminate(child, exited)
    await cleanup()
    throw error
  }

  const httpUrl = `${match[3]!.replace(/\/$/, '')}/`
  let stopped: Promise<HubExit> | undefined
  return {
    wsUrl: match[1]!,
    httpUrl,
    origin: new URL(httpUrl).origin,
    pageUrl: `${httpUrl}#token=${match[4]!}`,
    token: decodeURIComponent(match[4]!),
    pid: child.pid!,
    stderr: () => stderr,
    stop: () =>
      (stopped ??= (async () => {
        try {
          return await terminate(child, exited)
        } finally {
          await cleanup()
        }
      })()),
  }
}

async function terminate(child: ChildProcess, exited: Promise<HubExit>): Promise<HubExit> {
  if (child.exitCode !== null || child.signalCode !== null) return exited
  child.kill('SIGINT')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((done) => (timer = setTimeout(() => done('late'), EXIT_TIMEOUT_MS)))
  const outcome = await Promise.race([exited, late])
  clearTimeout(timer)
  if (outcome !== 'late') return outcome
  child.kill('SIGKILL')
  await exited
  throw new Error(`the hub did not exit within ${EXIT_TIMEOUT_MS} ms of SIGINT (killed)`)
}
