import { fork, type ChildProcess, type StdioOptions } from 'node:child_process'
import type { Disposable } from '../../base/lifecycle.js'
import {
  AgentProcessBase,
  type AgentExit,
  type AgentProcess,
  type AgentProcessSpec,
  type ProcessLauncher,
} from '../../hub/process-launcher.js'
import { ProcessTree, reapPendingTrees, type ProcessTreeOptions } from './process-tree.js'

export interface ChildProcessLauncherOptions {
  /** Node flags for agents; default none (an agent never inherits the hub's own flags). Tests pass `['--import', 'tsx']`. */
  execArgv?: string[]
  /** Must contain one 'ipc'. Default: no stdin, the hub's stdout and stderr. */
  stdio?: StdioOptions
  /** The environment agents start from; default the hub's own. */
  baseEnv?: NodeJS.ProcessEnv
  /** How long after its exit an agent's IPC channel may stay open (held by a grandchild) before it counts as gone. */
  closeGraceMs?: number
  /** How an agent's own child processes are found and stopped with it (PROTOCOL.md §6). */
  tree?: ProcessTreeOptions
}

/**
 * Starts agents with `child_process.fork` (PROTOCOL.md §6, headless). Stopping an
 * agent stops the processes it started too. Children still alive when the hub's
 * process exits are killed, so none is orphaned.
 */
export class ChildProcessLauncher implements ProcessLauncher, Disposable {
  private readonly children = new Set<ChildAgentProcess>()

  constructor(private readonly options: ChildProcessLauncherOptions = {}) {}

  /** Agent processes started by this launcher that have not exited yet. */
  get alive(): readonly AgentProcess[] {
    return [...this.children]
  }

  launch(spec: AgentProcessSpec): AgentProcess {
    const child = fork(spec.module, spec.args, {
      env: { ...(this.options.baseEnv ?? process.env), ...spec.env, CARHOST_AGENT_ID: spec.id },
      execArgv: this.options.execArgv ?? [],
      stdio: this.options.stdio ?? ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    })
    const agent = new ChildAgentProcess(child, this.options.closeGraceMs ?? 2_000, this.options.tree ?? {}, () => {
      this.children.delete(agent)
      untrack(agent)
    })
    this.children.add(agent)
    track(agent)
    return agent
  }

  /** Kills every agent this launcher started that is still alive, and what stopped agents left behind. */
  dispose(): void {
    for (const agent of [...this.children]) agent.killNow()
    reapPendingTrees()
  }
}

function ignoreSendError(): void {
  // A send racing the child's exit fails; the exit is reported through `onDidExit`.
}

class ChildAgentProcess extends AgentProcessBase {
  private exit: AgentExit | null = null
  private readonly tree: ProcessTree | null

  constructor(
    private readonly child: ChildProcess,
    closeGraceMs: number,
    treeOptions: ProcessTreeOptions,
    private readonly onGone: () => void,
  ) {
    super()
    this.tree = child.pid === undefined ? null : new ProcessTree(child.pid, (signal) => child.kill(signal), treeOptions)
    child.on('spawn', () => this.fireSpawn())
    child.on('message', (message) => this.fireMessage(message))
    child.on('error', () => {
      // Only a failed spawn ends the process here; a failed kill or send leaves it running.
      if (child.pid === undefined) this.finish({ code: null, signal: null })
    })
    child.once('exit', (code, signal) => {
      this.exit = { code, signal }
      this.tree?.rootExited()
      // 'close' follows once the IPC channel has been read to its end, so no message
      // sent before the exit is lost; a grandchild holding the channel open must not stall it.
      if (!this.hasExited) {
        const timer = setTimeout(() => {
          if (child.connected) child.disconnect()
          this.finish(this.exit!)
        }, closeGraceMs)
        timer.unref()
        child.once('close', () => clearTimeout(timer))
      }
    })
    child.once('close', (code, signal) => this.finish(this.exit ?? { code, signal }))
  }

  get pid(): number | null {
    return this.child.pid ?? null
  }

  postMessage(message: object): void {
    if (this.hasExited || this.exit !== null || !this.child.connected) return
    this.child.send(message, ignoreSendError)
  }

  kill(force = false): void {
    if (this.hasExited || this.exit !== null) return
    if (this.tree) void this.tree.signal(force ? 'SIGKILL' : 'SIGTERM')
    else this.child.kill(force ? 'SIGKILL' : 'SIGTERM')
  }

  /** For the exit hook: kill at once, synchronously, with whatever of its tree a stop already found. */
  killNow(): void {
    if (this.exit === null && this.child.pid !== undefined) this.child.kill('SIGKILL')
    this.tree?.dispose()
  }

  private finish(exit: AgentExit): void {
    if (this.hasExited) return
    this.onGone()
    this.fireExit(exit)
  }
}

// One `exit` hook for every launcher in the process: kill what is still alive.
const tracked = new Set<ChildAgentProcess>()
let exitHookInstalled = false

function killTracked(): void {
  for (const agent of tracked) agent.killNow()
}

function track(agent: ChildAgentProcess): void {
  tracked.add(agent)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', killTracked)
  }
}

function untrack(agent: ChildAgentProcess): void {
  tracked.delete(agent)
  if (tracked.size === 0 && exitHookInstalled) {
    exitHookInstalled = false
    process.off('exit', killTracked)
  }
}
