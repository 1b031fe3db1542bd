import { Emitter } from '../../src/base/event.js'
import { AgentProcessBase, type AgentProcessSpec, type ProcessLauncher } from '../../src/hub/process-launcher.js'

/** Messages cross one microtask later, as on a real IPC channel. */
const later = (fn: () => void) => queueMicrotask(fn)

/**
 * An agent process that lives in the test: for unit tests of the hub core only
 * (integration tests fork real processes).
 */
export class FakeAgentProcess extends AgentProcessBase {
  pid: number | null
  readonly inbox: unknown[] = []
  private readonly fromHub = new Emitter<unknown>()
  /** What the agent receives from the hub. */
  readonly onHubMessage = this.fromHub.event
  alive = true
  killed: Array<boolean> = []

  constructor(
    readonly spec: AgentProcessSpec,
    pid: number,
  ) {
    super()
    this.pid = pid
    later(() => this.alive && this.fireSpawn())
  }

  postMessage(message: object): void {
    if (!this.alive) throw new Error('posted to an exited process')
    const copy = structuredClone(message)
    later(() => {
      if (!this.alive) return
      this.inbox.push(copy)
      this.fromHub.fire(copy)
    })
  }

  /** The agent sends a message to the hub. */
  send(message: unknown): void {
    later(() => this.alive && this.fireMessage(message))
  }

  exit(code: number | null = 0, signal: string | null = null): void {
    if (!this.alive) return
    this.alive = false
    later(() => this.fireExit({ code, signal }))
  }

  kill(force = false): void {
    this.killed.push(force)
    this.exit(null, force ? 'SIGKILL' : 'SIGTERM')
  }
}

export type AgentBehaviour = (process: FakeAgentProcess) => void

/** Launches fake processes; `behaviours[id]` scripts each agent (default: nothing). */
export class FakeLauncher implements ProcessLauncher {
  readonly launched: FakeAgentProcess[] = []
  private nextPid = 1000
  failNextLaunch = false

  constructor(private readonly behaviours: Record<string, AgentBehaviour> = {}) {}

  launch(spec: AgentProcessSpec): FakeAgentProcess {
    if (this.failNextLaunch) {
      this.failNextLaunch = false
      throw new Error('launch failed')
    }
    const process = new FakeAgentProcess(spec, this.nextPid++)
    this.launched.push(process)
    this.behaviours[spec.id]?.(process)
    return process
  }

  latest(agentId: string): FakeAgentProcess {
    const found = this.launched.filter((p) => p.spec.id === agentId).at(-1)
    if (!found) throw new Error(`no process for ${agentId}`)
    return found
  }
}

interface ChatRequest {
  id: number
  params: { session_id: string; prompt: string }
}

function isChatRequest(message: unknown): message is ChatRequest & { method: string } {
  return typeof message === 'object' && message !== null && (message as { method?: unknown }).method === 'agent.chat'
}

/** A well-behaved scripted agent: acks, then lets the test drive each session. */
export function scriptedAgent(options: { ack?: boolean; echo?: boolean } = {}): AgentBehaviour {
  return (process) => {
    process.onHubMessage((message) => {
      if (!isChatRequest(message)) return
      if (options.ack === false) return
      process.send({ jsonrpc: '2.0', id: message.id, result: { accepted: true, session_id: message.params.session_id } })
      if (options.echo) {
        const sid = message.params.session_id
        for (const word of message.params.prompt.split(/(?<= )/)) {
          process.send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: sid, kind: 'token', delta: word } })
        }
        process.send({
          jsonrpc: '2.0',
          method: 'agent.chat.event',
          params: { session_id: sid, kind: 'done', finish_reason: 'stop', text: message.params.prompt },
        })
      }
    })
  }
}

export function agentEvent(sessionId: string, fields: Record<string, unknown>) {
  return { jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: sessionId, ...fields } }
}

/** Lets every queued microtask (and those they queue) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
  await new Promise<void>((resolve) => setImmediate(resolve))
}
