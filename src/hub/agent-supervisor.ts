import type { Clock } from '../base/clock.js'
import { Emitter } from '../base/event.js'
import { DisposableStore, type Disposable } from '../base/lifecycle.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import type { AgentInfo, AgentStatus } from '../protocol/agent-info.js'
import type { AgentSpec } from '../protocol/manifest.js'
import { RpcPeer } from '../protocol/rpc-peer.js'
import type { Logger } from './logger.js'
import type { AgentExit, AgentProcess, ProcessLauncher } from './process-launcher.js'

/** One agent the hub knows, and its process while it runs. */
export class AgentRecord {
  status: AgentStatus = 'stopped'
  process: AgentProcess | null = null
  /** Requests to the running process; replaced with every process. */
  peer: RpcPeer | null = null
  pid: number | null = null
  restartCount = 0
  lastExitCode: number | null = null
  /** Crashes since the agent last ran stably; drives the backoff and the restart limit. */
  failures = 0
  stopRequested = false
  startedAtMs = 0
  processStore = new DisposableStore()
  backoffTimer: Disposable | null = null
  exited: Promise<void> = Promise.resolve()

  constructor(readonly spec: AgentSpec) {}

  get id(): string {
    return this.spec.id
  }
}

export interface StatusChange {
  agent: AgentRecord
  previous: AgentStatus
}

export interface SupervisorOptions {
  launcher: ProcessLauncher
  clock: Clock
  logger: Logger
  /** First restart delay; doubles per consecutive failure up to `backoffMaxMs`. */
  backoffInitialMs: number
  backoffMaxMs: number
  /** A process that ran this long resets the failure count. */
  stableAfterMs: number
  /** Time a process gets to exit after being asked before it is killed. */
  stopTimeoutMs: number
  /** How long `start` waits for a process to spawn before it answers with the status it has. */
  startTimeoutMs: number
  /** Every message from any agent process, unvalidated. Hot path: no wrapper objects. */
  onMessage(agent: AgentRecord, message: unknown): void
  /** A process exited (after its peer failed every pending request). */
  onExit(agent: AgentRecord, exit: AgentExit): void
  sessionsActive(agentId: string): number
}

/**
 * Starts, stops and restarts agent processes through a launcher, and tracks their
 * status (PROTOCOL.md §4). Knows nothing of sessions except their count.
 */
export class AgentSupervisor implements Disposable {
  private readonly agents = new Map<string, AgentRecord>()
  private readonly statusEmitter = new Emitter<StatusChange>()
  private readonly registerEmitter = new Emitter<AgentRecord>()
  private readonly unregisterEmitter = new Emitter<AgentRecord>()
  private readonly runningWaiters = new Map<AgentRecord, Set<() => void>>()
  readonly onDidChangeStatus = this.statusEmitter.event
  readonly onDidRegister = this.registerEmitter.event
  readonly onDidUnregister = this.unregisterEmitter.event

  constructor(private readonly options: SupervisorOptions) {}

  get(agentId: string): AgentRecord | undefined {
    return this.agents.get(agentId)
  }

  all(): IterableIterator<AgentRecord> {
    return this.agents.values()
  }

  get runningCount(): number {
    let count = 0
    for (const agent of this.agents.values()) if (agent.status === 'running') count++
    return count
  }

  register(spec: AgentSpec): AgentRecord {
    if (this.agents.has(spec.id)) throw new Error(`agent '${spec.id}' is registered twice`)
    const agent = new AgentRecord(spec)
    this.agents.set(spec.id, agent)
    this.registerEmitter.fire(agent)
    return agent
  }

  async unregister(agentId: string): Promise<void> {
    const agent = this.agents.get(agentId)
    if (!agent) return
    await this.stop(agent)
    this.agents.delete(agentId)
    this.unregisterEmitter.fire(agent)
  }

  info(agent: AgentRecord): AgentInfo {
    return {
      id: agent.id,
      name: agent.spec.name,
      description: agent.spec.description,
      capabilities: [...agent.spec.capabilities],
      status: agent.status,
      pid: agent.pid,
      restart_count: agent.restartCount,
      sessions_active: this.options.sessionsActive(agent.id),
      last_exit_code: agent.lastExitCode,
    }
  }

  list(): AgentInfo[] {
    return [...this.agents.values()].map((agent) => this.info(agent))
  }

  /** Starts the agent if it is not running; resolves once it runs, or once it failed to. */
  async start(agent: AgentRecord): Promise<AgentInfo> {
    if (agent.status === 'running' || agent.status === 'starting') {
      await this.whenRunning(agent, this.options.startTimeoutMs)
      return this.info(agent)
    }
    agent.failures = 0
    agent.backoffTimer?.dispose()
    agent.backoffTimer = null
    this.spawn(agent)
    await this.whenRunning(agent, this.options.startTimeoutMs)
    return this.info(agent)
  }

  /** Stops the agent; resolves once its process is gone. */
  async stop(agent: AgentRecord): Promise<AgentInfo> {
    agent.backoffTimer?.dispose()
    agent.backoffTimer = null
    const process = agent.process
    if (!process) {
      if (agent.status !== 'stopped' && agent.status !== 'errored') this.setStatus(agent, 'stopped')
      return this.info(agent)
    }
    agent.stopRequested = true
    process.kill()
    const killTimer = this.options.clock.setTimeout(() => process.kill(true), this.options.stopTimeoutMs)
    try {
      await agent.exited
    } finally {
      killTimer.dispose()
    }
    return this.info(agent)
  }

  async restart(agent: AgentRecord): Promise<AgentInfo> {
    await this.stop(agent)
    agent.restartCount++
    return this.start(agent)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => this.stop(agent)))
  }

  /** Resolves true once the agent runs, false if it does not within `timeoutMs` or stops trying. */
  whenRunning(agent: AgentRecord, timeoutMs: number): Promise<boolean> {
    if (agent.status === 'running') return Promise.resolve(true)
    if (agent.status !== 'starting') return Promise.resolve(false)
    return new Promise((resolve) => {
      let waiters = this.runningWaiters.get(agent)
      if (!waiters) this.runningWaiters.set(agent, (waiters = new Set()))
      const done = () => {
        timer.dispose()
        waiters.delete(done)
        resolve(agent.status === 'running')
      }
      const timer = this.options.clock.setTimeout(done, timeoutMs)
      waiters.add(done)
    })
  }

  dispose(): void {
    for (const agent of this.agents.values()) {
      agent.backoffTimer?.dispose()
      agent.process?.kill(true)
      agent.processStore.dispose()
    }
    this.statusEmitter.dispose()
    this.registerEmitter.dispose()
    this.unregisterEmitter.dispose()
  }

  private spawn(agent: AgentRecord): void {
    agent.stopRequested = false
    this.setStatus(agent, 'starting')
    let process: AgentProcess
    try {
      process = this.options.launcher.launch({
        id: agent.id,
        module: agent.spec.module,
        args: agent.spec.args,
        env: { ...agent.spec.env, CARHOST_AGENT_ID: agent.id },
      })
    } catch (error) {
      this.options.logger.error('agent failed to launch', { agent: agent.id, error: String(error) })
      this.afterExit(agent, { code: null, signal: null })
      return
    }
    let markExited!: () => void
    agent.exited = new Promise((resolve) => (markExited = resolve))
    agent.process = process
    const peer = new RpcPeer({
      send: (message) => {
        // A process can die before its exit event arrives; its requests then fail on exit.
        try {
          process.postMessage(message)
        } catch (error) {
          this.options.logger.debug('message to a dying agent lost', { agent: agent.id, error: String(error) })
        }
      },
      clock: this.options.clock,
    })
    agent.peer = peer
    const store = (agent.processStore = new DisposableStore())
    store.add(
      process.onDidSpawn(() => {
        if (agent.process !== process) return
        agent.pid = process.pid
        agent.startedAtMs = this.options.clock.now()
        this.setStatus(agent, 'running')
      }),
    )
    store.add(process.onMessage((message) => this.options.onMessage(agent, message)))
    store.add(
      process.onDidExit((exit) => {
        if (agent.process !== process) return
        agent.process = null
        agent.peer = null
        agent.pid = null
        agent.lastExitCode = exit.code
        store.dispose()
        peer.dispose(`agent '${agent.id}' exited`)
        this.options.onExit(agent, exit)
        this.afterExit(agent, exit)
        markExited()
      }),
    )
  }

  private afterExit(agent: AgentRecord, exit: AgentExit): void {
    if (agent.stopRequested) {
      agent.stopRequested = false
      this.setStatus(agent, 'stopped')
      return
    }
    const ranStably = agent.startedAtMs > 0 && this.options.clock.now() - agent.startedAtMs >= this.options.stableAfterMs
    if (ranStably) agent.failures = 0
    const failed = exit.code !== 0
    const policy = agent.spec.restart
    const wantsRestart = policy === 'always' || (policy === 'on_failure' && failed)
    if (!wantsRestart) {
      this.setStatus(agent, failed ? 'errored' : 'stopped')
      return
    }
    if (agent.failures >= agent.spec.max_restarts) {
      this.options.logger.warn('agent gave up after too many restarts', { agent: agent.id, restarts: agent.failures })
      this.setStatus(agent, 'errored')
      return
    }
    const delay = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** agent.failures)
    agent.failures++
    this.setStatus(agent, 'backoff')
    agent.backoffTimer = this.options.clock.setTimeout(() => {
      agent.backoffTimer = null
      if (agent.status !== 'backoff') return
      agent.restartCount++
      this.spawn(agent)
    }, delay)
  }

  private setStatus(agent: AgentRecord, status: AgentStatus): void {
    const previous = agent.status
    if (previous === status) return
    agent.status = status
    this.statusEmitter.fire({ agent, previous })
    if (status !== 'starting') {
      const waiters = this.runningWaiters.get(agent)
      if (waiters) {
        this.runningWaiters.delete(agent)
        for (const done of waiters) done()
      }
    }
  }
}

export function agentUnavailable(agent: AgentRecord): RpcError {
  return new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' is ${agent.status}`)
}
