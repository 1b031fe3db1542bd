import { Emitter } from '../../src/base/event.js'
import type { AgentExit, AgentProcess, AgentProcessSpec, ProcessLauncher } from '../../src/hub/process-launcher.js'

/**
 * An agent living in the bench process, for the scale scenario: it acknowledges
 * every `agent.chat` one microtask later and sends events only when told. No
 * structured clone, no IPC: what is measured is the hub's own cost per session.
 */
export class FastAgent implements AgentProcess {
  readonly pid = 1
  private readonly spawnEmitter = new Emitter<void>()
  private readonly messageEmitter = new Emitter<unknown>()
  private readonly exitEmitter = new Emitter<AgentExit>()
  readonly onDidSpawn = this.spawnEmitter.event
  readonly onMessage = this.messageEmitter.event
  readonly onDidExit = this.exitEmitter.event
  private alive = true

  constructor() {
    queueMicrotask(() => this.spawnEmitter.fire())
  }

  postMessage(message: object): void {
    const request = message as { id?: number; method?: string; params?: { session_id: string } }
    if (request.method !== 'agent.chat' || request.id === undefined) return
    const id = request.id
    const sessionId = request.params!.session_id
    queueMicrotask(() => this.alive && this.messageEmitter.fire({ jsonrpc: '2.0', id, result: { accepted: true, session_id: sessionId } }))
  }

  /** Hands the hub one message as if it came from the process. */
  emit(message: object): void {
    this.messageEmitter.fire(message)
  }

  kill(): void {
    if (!this.alive) return
    this.alive = false
    queueMicrotask(() => this.exitEmitter.fire({ code: 0, signal: null }))
  }
}

export class FastLauncher implements ProcessLauncher {
  readonly agents: FastAgent[] = []

  launch(_spec: AgentProcessSpec): FastAgent {
    const agent = new FastAgent()
    this.agents.push(agent)
    return agent
  }
}
