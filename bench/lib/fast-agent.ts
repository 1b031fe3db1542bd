import { AgentProcessBase, type AgentProcessSpec, type ProcessLauncher } from '../../src/hub/process-launcher.js'

/**
 * An agent living in the bench process, for the scale scenario: it acknowledges
 * every `agent.chat` one microtask later and sends events only when told. No
 * structured clone, no IPC: what is measured is the hub's own cost per session.
 */
export class FastAgent extends AgentProcessBase {
  readonly pid = 1
  private alive = true

  constructor() {
    super()
    queueMicrotask(() => this.fireSpawn())
  }

  postMessage(message: object): void {
    const request = message as { id?: number; method?: string; params?: { session_id: string } }
    if (request.method !== 'agent.chat' || request.id === undefined) return
    const id = request.id
    const sessionId = request.params!.session_id
    queueMicrotask(() => this.alive && this.fireMessage({ jsonrpc: '2.0', id, result: { accepted: true, session_id: sessionId } }))
  }

  /** Hands the hub one message as if it came from the process. */
  emit(message: object): void {
    this.fireMessage(message)
  }

  kill(): void {
    if (!this.alive) return
    this.alive = false
    queueMicrotask(() => this.fireExit({ code: 0, signal: null }))
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
