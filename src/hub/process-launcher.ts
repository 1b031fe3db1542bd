import { Emitter, type Event } from '../base/event.js'

export interface AgentProcessSpec {
  /** The agent id; launchers pass it as `CARHOST_AGENT_ID` and use it for `serviceName`. */
  id: string
  /** Absolute path of the agent's entry module. */
  module: string
  args: string[]
  /** The manifest's env; the launcher adds the hub's own environment and `CARHOST_AGENT_ID`. */
  env: Record<string, string>
}

export interface AgentExit {
  code: number | null
  signal: string | null
}

/** A running agent process as the core sees it. */
export interface AgentProcess {
  readonly pid: number | null
  postMessage(message: object): void
  readonly onDidSpawn: Event<void>
  readonly onMessage: Event<unknown>
  /** Fires once, after which the process is gone and `postMessage` is a no-op. */
  readonly onDidExit: Event<AgentExit>
  /** Asks the process to stop; `force` kills it outright. */
  kill(force?: boolean): void
}

/** Starts agent processes: `utilityProcess.fork` in the app, `child_process.fork` headless. */
export interface ProcessLauncher {
  launch(spec: AgentProcessSpec): AgentProcess
}

/**
 * The event side every launcher's process shares: `onDidSpawn` and `onMessage`
 * until the process is gone, then `onDidExit` exactly once, after which every
 * listener is dropped.
 */
export abstract class AgentProcessBase implements AgentProcess {
  private readonly spawnEmitter = new Emitter<void>()
  private readonly messageEmitter = new Emitter<unknown>()
  private readonly exitEmitter = new Emitter<AgentExit>()
  readonly onDidSpawn = this.spawnEmitter.event
  readonly onMessage = this.messageEmitter.event
  readonly onDidExit = this.exitEmitter.event
  private exitFired = false

  abstract readonly pid: number | null
  abstract postMessage(message: object): void
  abstract kill(force?: boolean): void

  /** True once `onDidExit` has fired. */
  protected get hasExited(): boolean {
    return this.exitFired
  }

  protected fireSpawn(): void {
    if (!this.exitFired) this.spawnEmitter.fire()
  }

  protected fireMessage(message: unknown): void {
    if (!this.exitFired) this.messageEmitter.fire(message)
  }

  /** Reports the exit; false (and nothing fired) when it was reported already. */
  protected fireExit(exit: AgentExit): boolean {
    if (this.exitFired) return false
    this.exitFired = true
    this.exitEmitter.fire(exit)
    this.spawnEmitter.dispose()
    this.messageEmitter.dispose()
    this.exitEmitter.dispose()
    return true
  }
}
