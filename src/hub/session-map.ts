import type { AgentEventMessage } from './chat-router.js'
import type { MergeSlot } from './host-outbox.js'

export interface HeldEvent {
  message: AgentEventMessage
  size: number
}

/**
 * One chat turn in flight (PROTOCOL.md §7): `{agent_id, host_client_id, created_at}`
 * under `session_id`, plus what the hub needs to enforce the rules.
 */
export class Session implements MergeSlot {
  /** `pending` until the agent acknowledges; `accepted` after; `ended` once removed. */
  state: 'pending' | 'accepted' | 'ended' = 'pending'
  /** Events that arrived before the host got its `agents.chat` result (rule 3). */
  held: HeldEvent[] | null = []
  /** Ms timestamp of the agent's last message for this session (rule 8). */
  lastActivityMs: number
  readonly pendingApprovals = new Set<string>()
  /** The owner cancelled before the agent acknowledged. */
  cancelRequested = false
  tail: MergeSlot['tail'] = null

  constructor(
    readonly sessionId: string,
    readonly agentId: string,
    readonly hostClientId: string,
    readonly conversationId: string | undefined,
    readonly createdAtMs: number,
  ) {
    this.lastActivityMs = createdAtMs
  }

  /** Unix seconds, as PROTOCOL.md reports it. */
  get createdAt(): number {
    return Math.floor(this.createdAtMs / 1000)
  }
}

/** The session map with its two indexes, so no operation scans every session. */
export class SessionMap {
  private readonly byId = new Map<string, Session>()
  private readonly byHost = new Map<string, Set<Session>>()
  private readonly byAgent = new Map<string, Set<Session>>()

  get size(): number {
    return this.byId.size
  }

  get(sessionId: string): Session | undefined {
    return this.byId.get(sessionId)
  }

  has(sessionId: string): boolean {
    return this.byId.has(sessionId)
  }

  add(session: Session): void {
    if (this.byId.has(session.sessionId)) throw new Error(`session ${session.sessionId} already in the map`)
    this.byId.set(session.sessionId, session)
    index(this.byHost, session.hostClientId, session)
    index(this.byAgent, session.agentId, session)
  }

  /** Removes the session; false when it was not (any more) in the map. */
  delete(session: Session): boolean {
    if (this.byId.get(session.sessionId) !== session) return false
    this.byId.delete(session.sessionId)
    unindex(this.byHost, session.hostClientId, session)
    unindex(this.byAgent, session.agentId, session)
    session.state = 'ended'
    return true
  }

  ofHost(hostClientId: string): readonly Session[] {
    return [...(this.byHost.get(hostClientId) ?? [])]
  }

  ofAgent(agentId: string): readonly Session[] {
    return [...(this.byAgent.get(agentId) ?? [])]
  }

  countOfAgent(agentId: string): number {
    return this.byAgent.get(agentId)?.size ?? 0
  }

  values(): IterableIterator<Session> {
    return this.byId.values()
  }
}

function index(map: Map<string, Set<Session>>, key: string, session: Session): void {
  let set = map.get(key)
  if (!set) map.set(key, (set = new Set()))
  set.add(session)
}

function unindex(map: Map<string, Set<Session>>, key: string, session: Session): void {
  const set = map.get(key)
  if (!set) return
  set.delete(session)
  if (set.size === 0) map.delete(key)
}

export interface SweepPolicy {
  idleMs: number
  maxAgeMs: number
}

/** Why the sweeper ends a session at `nowMs`, or null to keep it (rule 8). */
export function expiryReason(session: Session, nowMs: number, policy: SweepPolicy): 'max_age' | 'idle' | null {
  if (session.state !== 'accepted') return null
  if (nowMs - session.createdAtMs >= policy.maxAgeMs) return 'max_age'
  if (session.pendingApprovals.size === 0 && nowMs - session.lastActivityMs >= policy.idleMs) return 'idle'
  return null
}
