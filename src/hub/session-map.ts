import type { AgentEventMessage } from './chat-router.js'
import { TOKEN_OVERHEAD, type MergeSlot } from './host-outbox.js'

/** An event held for a host (§7 rule 3); `count` agent events when tokens were merged into it. */
export interface HeldEvent {
  message: AgentEventMessage
  size: number
  count: number
}

/**
 * Where a session is in its life (PROTOCOL.md §7). Events are held in every phase
 * before `live`; `cancelling` and `closing` already know how the session ends, so
 * what the agent sends in them is late.
 *
 *   pending ─acknowledge→ accepted ─release→ live ─end→ ended
 *   pending | accepted ─requestCancel→ cancelling   (done "cancelled" follows the release)
 *   pending | accepted ─hold(terminal)→ closing      (its held terminal ends it at release)
 *   any ─(removed from the map)→ ended
 */
export type SessionPhase = 'pending' | 'accepted' | 'cancelling' | 'closing' | 'live' | 'ended'

/**
 * One chat turn in flight (PROTOCOL.md §7): `{agent_id, host_client_id, created_at}`
 * under `session_id`, plus what the hub needs to enforce the rules.
 */
export class Session implements MergeSlot {
  private currentPhase: SessionPhase = 'pending'
  /** Events that arrived before the host got its `agents.chat` result (rule 3), oldest first. */
  private held: HeldEvent[] = []
  /** Bytes of `held`, counted towards the host's hard cap (§8). */
  private heldBytesTotal = 0
  /** Ms timestamp of the agent's last message for this session (rule 8). */
  lastActivityMs: number
  /** Approvals asked and not yet resolved; the idle timeout stops while there are any (rule 8). */
  readonly pendingApprovals = new Set<string>()
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

  get phase(): SessionPhase {
    return this.currentPhase
  }

  /** Unix seconds, as PROTOCOL.md reports it. */
  get createdAt(): number {
    return Math.floor(this.createdAtMs / 1000)
  }

  /** Events are held rather than routed (rule 3). */
  get isHolding(): boolean {
    const phase = this.currentPhase
    return phase === 'pending' || phase === 'accepted' || phase === 'cancelling' || phase === 'closing'
  }

  /** Held events may still be added: the session's end is not decided yet. */
  get acceptsHeld(): boolean {
    return this.currentPhase === 'pending' || this.currentPhase === 'accepted'
  }

  get isEnded(): boolean {
    return this.currentPhase === 'ended'
  }

  get heldBytes(): number {
    return this.heldBytesTotal
  }

  /** The agent acknowledged the chat. */
  acknowledge(): void {
    if (this.currentPhase === 'pending') this.currentPhase = 'accepted'
  }

  /** The owner cancelled before the result went out; false when the session's end was already decided. */
  requestCancel(): boolean {
    if (!this.acceptsHeld) return false
    this.currentPhase = 'cancelling'
    return true
  }

  /**
   * Holds an event; a token right after a held token is merged into it (§8).
   * A terminal event decides the session's end. Returns the bytes it added.
   */
  hold(message: AgentEventMessage, size: number, terminal: boolean): number {
    const event = message.params
    let bytes: number
    if (event.kind === 'token') {
      const delta = event.delta as string
      const last = this.held.length > 0 ? this.held[this.held.length - 1]! : undefined
      if (last !== undefined && last.message.params.kind === 'token') {
        ;(last.message.params as { delta: string }).delta += delta
        last.count++
        this.heldBytesTotal += delta.length
        return delta.length
      }
      bytes = delta.length + TOKEN_OVERHEAD
    } else {
      bytes = size
    }
    this.held.push({ message, size, count: 1 })
    this.heldBytesTotal += bytes
    if (terminal) this.currentPhase = 'closing'
    return bytes
  }

  /** Hands over what was held; an accepted session goes live, one whose end is decided stays as it is. */
  release(): HeldEvent[] {
    const held = this.held
    this.held = []
    this.heldBytesTotal = 0
    if (this.currentPhase === 'accepted') this.currentPhase = 'live'
    return held
  }

  /** Events held now (tokens merged into one held entry count one each). */
  get heldCount(): number {
    let count = 0
    for (const entry of this.held) count += entry.count
    return count
  }

  /** The map removed the session: whatever is still held is discarded. */
  markEnded(): void {
    this.currentPhase = 'ended'
    this.held = []
    this.heldBytesTotal = 0
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

  /** Removes the session and ends it; false when it was not (any more) in the map. */
  delete(session: Session): boolean {
    if (this.byId.get(session.sessionId) !== session) return false
    this.byId.delete(session.sessionId)
    unindex(this.byHost, session.hostClientId, session)
    unindex(this.byAgent, session.agentId, session)
    session.markEnded()
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
  if (session.phase !== 'live') return null
  if (nowMs - session.createdAtMs >= policy.maxAgeMs) return 'max_age'
  if (session.pendingApprovals.size === 0 && nowMs - session.lastActivityMs >= policy.idleMs) return 'idle'
  return null
}
