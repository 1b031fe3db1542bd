import type { Event } from '../base/event.js'

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
