import { app, utilityProcess, type Details, type UtilityProcess } from 'electron'
import type { Disposable } from '../../base/lifecycle.js'
import type { Logger } from '../../hub/logger.js'
import { silentLogger } from '../../hub/logger.js'
import { AgentProcessBase, type AgentProcess, type AgentProcessSpec, type ProcessLauncher } from '../../hub/process-launcher.js'
import { ProcessTree, reapPendingTrees, type ProcessTreeOptions, type StopSignal } from '../node/process-tree.js'

export interface UtilityProcessLauncherOptions {
  logger?: Logger
  /** Sends a signal to a pid; `process.kill` unless a test replaces it. */
  killPid?: (pid: number, signal: NodeJS.Signals) => void
  /** How an agent's own child processes are found and stopped with it (PROTOCOL.md §6). */
  tree?: Omit<ProcessTreeOptions, 'killPid'>
}

/** The `serviceName` an agent's utility process runs under (PROTOCOL.md §6). */
export function agentServiceName(agentId: string): string {
  return `agent-${agentId}`
}

/**
 * Starts agents as Electron utility processes (PROTOCOL.md §6). Must be used after
 * `app` is ready. `app`'s `child-process-gone` is matched to a live agent by the
 * `serviceName` it was forked with, to record why it died, and to end an agent
 * whose launch failed without an `exit` event.
 */
export class UtilityProcessLauncher implements ProcessLauncher, Disposable {
  private readonly live = new Map<string, UtilityAgentProcess>()
  private readonly logger: Logger
  private readonly killPid: (pid: number, signal: NodeJS.Signals) => void
  private readonly tree: ProcessTreeOptions
  private readonly onChildGone = (_event: unknown, details: Details): void => this.childGone(details)

  constructor(options: UtilityProcessLauncherOptions = {}) {
    this.logger = options.logger ?? silentLogger
    this.killPid = options.killPid ?? ((pid, signal) => process.kill(pid, signal))
    this.tree = { ...options.tree, killPid: this.killPid }
    app.on('child-process-gone', this.onChildGone)
  }

  launch(spec: AgentProcessSpec): AgentProcess {
    const serviceName = agentServiceName(spec.id)
    const child = utilityProcess.fork(spec.module, spec.args, {
      serviceName,
      env: { ...process.env, ...spec.env },
      stdio: 'inherit',
    })
    const agent = new UtilityAgentProcess(child, this.killPid, this.tree, () => {
      if (this.live.get(serviceName) === agent) this.live.delete(serviceName)
    })
    // A fatal V8 error; `exit` follows. Unheard, the EventEmitter would throw it in main.
    child.on('error', (type: string, location: string) => {
      this.logger.error('agent process error', { service: serviceName, type, location })
    })
    this.live.set(serviceName, agent)
    return agent
  }

  dispose(): void {
    app.off('child-process-gone', this.onChildGone)
    // The app is about to exit: no time to list what each agent started (a clean quit stopped them through the hub).
    for (const agent of [...this.live.values()]) agent.killNow()
    this.live.clear()
    // Stopped agents' own children still waiting out their grace: no timer runs after app.exit.
    reapPendingTrees()
  }

  private childGone(details: Details): void {
    // Electron reports the fork's `serviceName` option as `details.name`; its
    // `details.serviceName` is the non-localized service type (node.mojom.NodeService).
    if (details.type !== 'Utility' || details.name === undefined) return
    const agent = this.live.get(details.name)
    if (!agent) return
    this.logger.warn('agent process gone', {
      service: details.name,
      reason: details.reason,
      exit_code: details.exitCode,
    })
    agent.gone(details)
  }
}

/** One agent's utility process as the hub sees it. */
class UtilityAgentProcess extends AgentProcessBase {
  private spawned = false
  private signalSent: NodeJS.Signals | null = null
  private tree: ProcessTree | null = null

  constructor(
    private readonly child: UtilityProcess,
    private readonly killPid: (pid: number, signal: NodeJS.Signals) => void,
    private readonly treeOptions: ProcessTreeOptions,
    private readonly onGone: () => void,
  ) {
    super()
    child.on('spawn', () => {
      if (this.hasExited) return
      this.spawned = true
      this.fireSpawn()
    })
    child.on('message', (message: unknown) => this.fireMessage(message))
    child.on('exit', (code: number) => this.finish(code))
  }

  get pid(): number | null {
    return this.hasExited ? null : (this.child.pid ?? null)
  }

  postMessage(message: object): void {
    if (this.hasExited) return
    try {
      this.child.postMessage(message)
    } catch {
      // the process died between its last event and this call; 'exit' follows
    }
  }

  kill(force = false): void {
    if (this.hasExited) return
    const pid = this.child.pid
    if (pid === undefined) {
      this.signalRoot(force ? 'SIGKILL' : 'SIGTERM')
      return
    }
    // The agent's own children go with it (PROTOCOL.md §6).
    this.tree ??= new ProcessTree(pid, (signal) => this.signalRoot(signal), this.treeOptions)
    void this.tree.signal(force ? 'SIGKILL' : 'SIGTERM')
  }

  /** Kills at once, synchronously, with whatever of its tree a stop already found. */
  killNow(): void {
    this.signalRoot('SIGKILL')
    this.tree?.dispose()
  }

  private signalRoot(signal: StopSignal): void {
    if (this.hasExited) return
    if (signal === 'SIGKILL' && this.child.pid !== undefined) {
      this.signalSent = 'SIGKILL'
      try {
        this.killPid(this.child.pid, 'SIGKILL')
        return
      } catch {
        // fall back to Electron's own kill
      }
    }
    this.signalSent ??= 'SIGTERM'
    this.child.kill()
  }

  /** `app`'s `child-process-gone` for this process. */
  gone(details: Details): void {
    // A process that never launched may get no 'exit'; end it here so the hub is not left waiting.
    if (details.reason === 'launch-failed' && !this.spawned) this.finish(details.exitCode)
  }

  private finish(code: number): void {
    if (this.hasExited) return
    this.tree?.rootExited()
    this.onGone()
    this.fireExit({ code, signal: this.signalSent })
  }
}
