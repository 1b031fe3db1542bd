import { AgentInfoSchema, AgentStatusSchema, type AgentInfo, type HostEvent } from '../../../protocol/agent-info.js'
import { z } from 'zod'

export interface AgentsState {
  readonly agents: readonly AgentInfo[]
  /** `host.subscribe` has answered. */
  readonly loaded: boolean
  /** The last `host.event` sequence applied (or the snapshot's `event_sequence`). */
  readonly sequence: number
}

/** What `apply` made of an event; `resync` means the list can no longer be trusted and should be fetched again. */
export type ApplyResult = 'applied' | 'ignored' | 'resync'

const StatusPayloadSchema = z.object({
  status: AgentStatusSchema,
  pid: z.number().nullable().optional(),
  restart_count: z.number().optional(),
  last_exit_code: z.number().nullable().optional(),
})
const RegisteredPayloadSchema = z.object({ agent: AgentInfoSchema })

/**
 * The agent list of one window: a `host.subscribe` snapshot kept current by
 * `host.event`s. Events that arrive before the snapshot are held and replayed
 * past its `event_sequence`.
 */
export class AgentStore {
  private state: AgentsState = { agents: [], loaded: false, sequence: 0 }
  private readonly listeners = new Set<() => void>()
  private early: HostEvent[] = []

  readonly getSnapshot = (): AgentsState => this.state

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  agent(id: string): AgentInfo | undefined {
    return this.state.agents.find((a) => a.id === id)
  }

  /** Replaces the list with a snapshot taken at `sequence`. */
  reset(agents: readonly AgentInfo[], sequence: number): ApplyResult {
    const early = this.early
    this.early = []
    this.set({ agents, loaded: true, sequence })
    let result: ApplyResult = 'applied'
    for (const event of early) if (this.apply(event) === 'resync') result = 'resync'
    return result
  }

  /** Takes in one agent as an `agents.start`/`stop`/`restart` result. */
  upsert(agent: AgentInfo): void {
    const index = this.state.agents.findIndex((a) => a.id === agent.id)
    const agents = index < 0 ? [...this.state.agents, agent] : this.state.agents.map((a, i) => (i === index ? agent : a))
    this.set({ ...this.state, agents })
  }

  apply(event: HostEvent): ApplyResult {
    if (!this.state.loaded) {
      this.early.push(event)
      return 'ignored'
    }
    if (event.sequence <= this.state.sequence) return 'ignored'
    const gap = event.sequence !== this.state.sequence + 1
    const sequence = event.sequence
    const id = event.agent_id
    switch (event.kind) {
      case 'agent.status_changed': {
        const payload = StatusPayloadSchema.safeParse(event.payload)
        const current = id === null ? undefined : this.agent(id)
        if (!payload.success || !current) return this.stale(sequence)
        const { status, pid, restart_count, last_exit_code } = payload.data
        const next: AgentInfo = {
          ...current,
          status,
          ...(pid !== undefined && { pid }),
          ...(restart_count !== undefined && { restart_count }),
          ...(last_exit_code !== undefined && { last_exit_code }),
        }
        this.set({ ...this.state, agents: this.state.agents.map((a) => (a.id === id ? next : a)), sequence })
        break
      }
      case 'agent.registered': {
        const payload = RegisteredPayloadSchema.safeParse(event.payload)
        if (!payload.success) return this.stale(sequence)
        this.state = { ...this.state, sequence }
        this.upsert(payload.data.agent)
        break
      }
      case 'agent.updated': {
        // §6: the payload is the whole Agent, with the models it announced.
        const payload = AgentInfoSchema.safeParse(event.payload)
        if (!payload.success || payload.data.id !== id) return this.stale(sequence)
        this.state = { ...this.state, sequence }
        this.upsert(payload.data)
        break
      }
      case 'agent.unregistered':
        this.set({ ...this.state, agents: this.state.agents.filter((a) => a.id !== id), sequence })
        break
      default:
        this.set({ ...this.state, sequence })
        return gap ? 'resync' : 'ignored'
    }
    return gap ? 'resync' : 'applied'
  }

  /** An event we could not apply: the list may be wrong from here on. */
  private stale(sequence: number): ApplyResult {
    this.set({ ...this.state, sequence })
    return 'resync'
  }

  private set(state: AgentsState): void {
    this.state = state
    for (const listener of [...this.listeners]) listener()
  }
}
