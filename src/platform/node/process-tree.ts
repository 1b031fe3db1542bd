import pidtree from 'pidtree'
import { systemClock, type Clock } from '../../base/clock.js'
import type { Disposable } from '../../base/lifecycle.js'

export type StopSignal = 'SIGTERM' | 'SIGKILL'

export interface ProcessTreeOptions {
  /** How long what the root started may outlive it before being killed; default 2000 (PROTOCOL.md §6 allows 5 s). */
  graceMs?: number
  clock?: Clock
  /** Every live descendant of a pid, at any depth; `pidtree` (ps on Unix, wmic or PowerShell on Windows) unless a test replaces it. */
  listDescendants?: (pid: number) => Promise<number[]>
  /** Sends a signal to a pid; `process.kill` unless a test replaces it. */
  killPid?: (pid: number, signal: StopSignal) => void
}

export const DEFAULT_TREE_GRACE_MS = 2_000

function listWithPidtree(pid: number): Promise<number[]> {
  return pidtree(pid)
}

function killWithProcess(pid: number, signal: StopSignal): void {
  process.kill(pid, signal)
}

/**
 * Stops a process together with everything it started, detached or not
 * (PROTOCOL.md §6: nothing an agent started outlives it by more than 5 s).
 *
 * Descendants are found by walking parent pids, which only works while the
 * root is alive: once it dies its children are re-parented and no longer
 * traceable. So the tree is collected before every signal to the root, and the
 * pids collected are remembered; whatever of them survives the root by the
 * grace period is killed outright.
 */
export class ProcessTree implements Disposable {
  private readonly descendants = new Set<number>()
  private readonly graceMs: number
  private readonly clock: Clock
  private readonly list: (pid: number) => Promise<number[]>
  private readonly killPid: (pid: number, signal: StopSignal) => void
  private queue: Promise<void> = Promise.resolve()
  private rootGone = false
  private reapTimer: Disposable | null = null

  constructor(
    private readonly rootPid: number,
    /** Signals the root itself (a launcher may prefer its own API to `process.kill`). */
    private readonly signalRoot: (signal: StopSignal) => void,
    options: ProcessTreeOptions = {},
  ) {
    this.graceMs = options.graceMs ?? DEFAULT_TREE_GRACE_MS
    this.clock = options.clock ?? systemClock
    this.list = options.listDescendants ?? listWithPidtree
    this.killPid = options.killPid ?? killWithProcess
  }

  /** Collects the root's descendants, then signals the root and each of them. Resolves once sent. */
  signal(signal: StopSignal): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (!this.rootGone) {
        // A failed listing (no `ps`) still stops the root; its descendants are then out of reach.
        for (const pid of await this.list(this.rootPid).catch(() => [])) this.descendants.add(pid)
      }
      if (!this.rootGone) this.signalRoot(signal)
      this.signalDescendants(signal)
    })
    return this.queue
  }

  /** The root has exited: its remembered descendants get the grace period, then SIGKILL. */
  rootExited(): void {
    if (this.rootGone) return
    this.rootGone = true
    void this.queue.then(() => {
      if (this.descendants.size === 0 || this.reapTimer) return
      pendingReaps.add(this)
      installExitHook()
      this.reapTimer = this.clock.setTimeout(() => this.dispose(), this.graceMs)
    })
  }

  /** Kills every remembered descendant now, synchronously (also run when the hub's process exits). */
  dispose(): void {
    this.reapTimer?.dispose()
    this.reapTimer = null
    this.signalDescendants('SIGKILL')
    this.descendants.clear()
    pendingReaps.delete(this)
    if (pendingReaps.size === 0) removeExitHook()
  }

  private signalDescendants(signal: StopSignal): void {
    for (const pid of this.descendants) {
      try {
        this.killPid(pid, signal)
      } catch {
        // ESRCH: gone already; EPERM: not ours (the pid was reused), leave it alone.
        this.descendants.delete(pid)
      }
    }
  }
}

// Trees whose root has exited and whose descendants still wait out their grace: a hub that
// exits meanwhile kills them on its way out, as no timer runs after `process.exit`.
const pendingReaps = new Set<ProcessTree>()
let exitHookInstalled = false

/** Kills now what stopped processes left behind, instead of at the end of their grace (a launcher's dispose). */
export function reapPendingTrees(): void {
  for (const tree of [...pendingReaps]) tree.dispose()
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', reapPendingTrees)
}

function removeExitHook(): void {
  if (!exitHookInstalled) return
  exitHookInstalled = false
  process.off('exit', reapPendingTrees)
}
