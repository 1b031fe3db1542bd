import type { Clock } from '../base/clock.js'
import { Emitter } from '../base/event.js'
import { DisposableStore, type Disposable } from '../base/lifecycle.js'
import { AgentMethod, type AgentControl, type AgentModel } from '../protocol/agent-api.js'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import type { AgentInfo, AgentStatus, McpServerInfo } from '../protocol/agent-info.js'
import type { AgentSpec } from '../protocol/manifest.js'
import { RpcPeer } from '../protocol/rpc-peer.js'
import type { Logger } from './logger.js'
import type { AgentExit, AgentProcess, ProcessLauncher } from './process-launcher.js'

/**
 * What the rest of the hub may see and do with one agent. Its process, peer and
 * restart bookkeeping stay private to the supervisor.
 */
export interface AgentHandle {
  readonly id: string
  readonly spec: AgentSpec
  readonly status: AgentStatus
  readonly pid: number | null
  readonly restartCount: number
  readonly lastExitCode: number | null
  /** Requests of the hub still waiting for this agent's answer. */
  readonly pendingRequests: number
  /** Sends a request to the running process; rejects with -32011 when there is none. */
  request(method: string, params: unknown, options: { timeoutMs: number }): Promise<unknown>
  /** Tells the running process to stop a session (`agent.chat.cancel`); a no-op when it is not running. */
  cancel(sessionId: string): void
  /** Resolves true once the agent runs, false if it does not within `timeoutMs` or stops trying. */
  whenReady(timeoutMs: number): Promise<boolean>
}

/** One agent the hub knows, and its process while it runs. Only the supervisor holds the record itself. */
class AgentRecord implements AgentHandle {
  status: AgentStatus = 'stopped'
  process: AgentProcess | null = null
  /** Requests to the running process; replaced with every process. */
  peer: RpcPeer | null = null
  pid: number | null = null
  restartCount = 0
  lastExitCode: number | null = null
  /** Consecutive failed starts and crashes (§10 v2); drives the backoff and the restart limit. */
  failures = 0
  stopRequested = false
  /** The process did not become ready in time: its exit is a failed start whatever its code. */
  readyTimedOut = false
  startedAtMs = 0
  processStore = new DisposableStore()
  backoffTimer: Disposable | null = null
  exited: Promise<void> = Promise.resolve()
  models: AgentModel[] = []
  defaultModel: string | null = null
  /** Its MCP servers as last announced (`agent.tools`); null until it does. Replaced whole, never changed in place. */
  mcpServers: McpServerInfo[] | null = null
  readonly runningWaiters = new Set<() => void>()

  constructor(
    readonly spec: AgentSpec,
    private readonly supervisor: AgentSupervisor,
  ) {}

  get id(): string {
    return this.spec.id
  }

  get pendingRequests(): number {
    return this.peer?.pendingRequests ?? 0
  }

  request(method: string, params: unknown, options: { timeoutMs: number }): Promise<unknown> {
    if (this.peer === null) return Promise.reject(agentUnavailable(this))
    return this.peer.request(method, params, options)
  }

  cancel(sessionId: string): void {
    this.peer?.notify(AgentMethod.cancel, { session_id: sessionId })
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    return this.supervisor.whenRunning(this, timeoutMs)
  }
}

export interface StatusChange {
  agent: AgentHandle
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
  /** §6 v2: a start that is not `running` this long after launch is stopped and counts as failed. */
  readyTimeoutMs: number
  /** Every message from any agent process, unvalidated. Hot path: no wrapper objects. */
  onMessage(agent: AgentHandle, message: unknown): void
  /** A process exited (after its peer failed every pending request). */
  onExit(agent: AgentHandle, exit: AgentExit): void
  sessionsActive(agentId: string): number
}

/**
 * Starts, stops and restarts agent processes through a launcher, and tracks their
 * status (PROTOCOL.md §4, §6, §10). Knows nothing of sessions except their count.
 */
export class AgentSupervisor implements Disposable {
  private readonly agents = new Map<string, AgentRecord>()
  /** Every emitter this object owns, disposed as one (STYLE.md). */
  private readonly emitters = new DisposableStore()
  private readonly statusEmitter = this.emitters.add(new Emitter<StatusChange>())
  private readonly registerEmitter = this.emitters.add(new Emitter<AgentHandle>())
  private readonly unregisterEmitter = this.emitters.add(new Emitter<AgentHandle>())
  private readonly updateEmitter = this.emitters.add(new Emitter<AgentHandle>())
  readonly onDidChangeStatus = this.statusEmitter.event
  readonly onDidRegister = this.registerEmitter.event
  readonly onDidUnregister = this.unregisterEmitter.event
  /** The agent's own description changed (its models, §6 v2, or its MCP servers). */
  readonly onDidUpdate = this.updateEmitter.event

  constructor(private readonly options: SupervisorOptions) {}

  get(agentId: string): AgentHandle | undefined {
    return this.agents.get(agentId)
  }

  all(): IterableIterator<AgentHandle> {
    return this.agents.values()
  }

  get runningCount(): number {
    let count = 0
    for (const agent of this.agents.values()) if (agent.status === 'running') count++
    return count
  }

  register(spec: AgentSpec): AgentHandle {
    if (this.agents.has(spec.id)) throw new Error(`agent '${spec.id}' is registered twice`)
    const agent = new AgentRecord(spec, this)
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

  info(handle: AgentHandle): AgentInfo {
    const agent = this.record(handle)
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
      models: agent.models.map((model) => ({ ...model })),
      default_model: agent.defaultModel,
      ...(agent.mcpServers !== null && { mcp_servers: agent.mcpServers }),
    }
  }

  list(): AgentInfo[] {
    return [...this.agents.values()].map((agent) => this.info(agent))
  }

  /** Starts the agent if it is not running; resolves once it runs, or once it failed to (§6 v2). */
  async start(handle: AgentHandle): Promise<AgentInfo> {
    const agent = this.record(handle)
    if (agent.status !== 'running' && agent.status !== 'starting') {
      agent.failures = 0
      agent.backoffTimer?.dispose()
      agent.backoffTimer = null
      this.spawn(agent)
    }
    // The ready timer ends every start, so this needs no timeout of its own.
    await this.whenRunning(agent, Number.POSITIVE_INFINITY)
    return this.info(agent)
  }

  /** Stops the agent; resolves once its process is gone. */
  async stop(handle: AgentHandle): Promise<AgentInfo> {
    const agent = this.record(handle)
    agent.backoffTimer?.dispose()
    agent.backoffTimer = null
    if (!agent.process) {
      if (agent.status !== 'stopped' && agent.status !== 'errored') this.setStatus(agent, 'stopped')
      return this.info(agent)
    }
    agent.stopRequested = true
    await this.terminate(agent)
    return this.info(agent)
  }

  async restart(handle: AgentHandle): Promise<AgentInfo> {
    const agent = this.record(handle)
    await this.stop(agent)
    agent.restartCount++
    return this.start(agent)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => this.stop(agent)))
  }

  /** Resolves true once the agent runs, false if it does not within `timeoutMs` or stops trying. */
  whenRunning(handle: AgentHandle, timeoutMs: number): Promise<boolean> {
    const agent = this.record(handle)
    if (agent.status === 'running') return Promise.resolve(true)
    if (agent.status !== 'starting') return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = () => {
        timer?.dispose()
        agent.runningWaiters.delete(done)
        resolve(agent.status === 'running')
      }
      const timer = Number.isFinite(timeoutMs) ? this.options.clock.setTimeout(done, timeoutMs) : null
      agent.runningWaiters.add(done)
    })
  }

  /** A message an agent sent about itself (§6): an answer to the hub, `agent.ready`, `agent.models` or `agent.tools`. */
  receive(handle: AgentHandle, message: AgentControl): void {
    const agent = this.record(handle)
    if (!('method' in message)) {
      agent.peer?.handleResponse(message)
      return
    }
    if (message.method === AgentMethod.ready) {
      if (agent.status === 'starting' && agent.process !== null) this.markRunning(agent, agent.process)
      return
    }
    if (message.method === AgentMethod.tools) {
      agent.mcpServers = message.params.servers
    } else {
      agent.models = message.params.models
      agent.defaultModel = message.params.default_model ?? null
    }
    this.updateEmitter.fire(agent)
  }

  dispose(): void {
    for (const agent of this.agents.values()) {
      agent.backoffTimer?.dispose()
      agent.process?.kill(true)
      agent.processStore.dispose()
    }
    this.emitters.dispose()
  }

  private record(handle: AgentHandle): AgentRecord {
    const agent = this.agents.get(handle.id)
    if (agent !== handle) throw new Error(`agent '${handle.id}' is not registered with this supervisor`)
    return agent
  }

  /** Asks the process to exit, kills it after the stop timeout, resolves once it is gone. */
  private async terminate(agent: AgentRecord): Promise<void> {
    const process = agent.process
    if (!process) return
    process.kill()
    const killTimer = this.options.clock.setTimeout(() => process.kill(true), this.options.stopTimeoutMs)
    try {
      await agent.exited
    } finally {
      killTimer.dispose()
    }
  }

  private spawn(agent: AgentRecord): void {
    agent.stopRequested = false
    agent.readyTimedOut = false
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
      this.options.clock.setTimeout(() => {
        if (agent.process !== process || agent.status !== 'starting') return
        this.options.logger.warn('agent did not become ready in time; stopping it', { agent: agent.id })
        agent.readyTimedOut = true
        void this.terminate(agent)
      }, this.options.readyTimeoutMs),
    )
    store.add(
      process.onDidSpawn(() => {
        if (agent.process !== process) return
        agent.pid = process.pid
        if (!agent.spec.ready_signal) this.markRunning(agent, process)
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

  private markRunning(agent: AgentRecord, process: AgentProcess): void {
    agent.pid = process.pid
    agent.startedAtMs = this.options.clock.now()
    this.setStatus(agent, 'running')
  }

  /** §10 v2: the restart policy, with `max_restarts` counting consecutive failed starts and crashes only. */
  private afterExit(agent: AgentRecord, exit: AgentExit): void {
    if (agent.stopRequested) {
      agent.stopRequested = false
      this.setStatus(agent, 'stopped')
      return
    }
    const ranStably = agent.startedAtMs > 0 && this.options.clock.now() - agent.startedAtMs >= this.options.stableAfterMs
    agent.startedAtMs = 0
    const failed = agent.readyTimedOut || exit.code !== 0
    if (ranStably || !failed) agent.failures = 0
    const policy = agent.spec.restart
    const wantsRestart = policy === 'always' || (policy === 'on_failure' && failed)
    if (!wantsRestart) {
      this.setStatus(agent, failed ? 'errored' : 'stopped')
      return
    }
    if (failed && agent.failures >= agent.spec.max_restarts) {
      this.options.logger.warn('agent gave up after too many restarts', { agent: agent.id, restarts: agent.failures })
      this.setStatus(agent, 'errored')
      return
    }
    const delay = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** agent.failures)
    if (failed) agent.failures++
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
    if (status !== 'starting' && agent.runningWaiters.size > 0) {
      for (const done of [...agent.runningWaiters]) done()
    }
  }
}

export function agentUnavailable(agent: AgentHandle): RpcError {
  return new RpcError(ErrorCode.AgentUnavailable, `agent '${agent.id}' is ${agent.status}`)
}
