import { AgentMethod, type AgentChatParams } from '../protocol/agent-api.js'
import { AgentChatEventSchema, KNOWN_EVENT_KINDS, isTerminalKind } from '../protocol/chat-events.js'
import type { Attachment } from '../protocol/host-api.js'
import type { HistoryEntry } from '../protocol/conversations.js'
import { describeIssues } from '../protocol/jsonrpc.js'
import { Limits } from '../protocol/limits.js'

/**
 * One chat turn as the agent's handler sees it: the request, a signal aborted
 * when the hub cancels, and the events the agent may send. Every method is a
 * no-op once the turn has ended (finished, failed or cancelled), so a handler
 * racing a cancellation never sends anything after it.
 */
export interface Turn {
  readonly sessionId: string
  readonly prompt: string
  /** False when the host asked for the whole answer at once: `token` then only accumulates text for `done`. */
  readonly stream: boolean
  readonly context: AgentChatParams['context']
  /** §11: the conversation's earlier messages, oldest first (empty for an ephemeral chat). */
  readonly history: readonly HistoryEntry[]
  /** True when older messages were left out to keep `history` within 1 MiB. */
  readonly historyTruncated: boolean
  readonly model: string | undefined
  readonly attachments: readonly Attachment[]
  /** Aborted when the hub cancels the turn (or the hub goes away). */
  readonly signal: AbortSignal
  /** Everything passed to `token` so far. */
  readonly text: string
  /** True until the turn finished, failed or was cancelled. */
  readonly isOpen: boolean
  /** Streams a piece of the answer. */
  token(delta: string): void
  /** Announces a tool call; returns its `call_id` for `toolResult`. */
  toolCall(tool: string, params?: unknown): string
  toolResult(callId: string, ok: boolean, excerpt?: string): void
  status(message: string): void
  /** Sends an event of a kind the protocol does not list (≤ 64 KiB), or a non-terminal listed one. */
  emit(kind: string, fields?: Record<string, unknown>): void
  /**
   * Asks the host to approve a tool use. Resolves with its decision; rejects with
   * the abort reason if the turn is cancelled first.
   */
  approval(tool: string, params?: unknown): Promise<boolean>
}

/**
 * What a handler may return instead of plain text: the `done` event's fields
 * (§5). `text` defaults to what was streamed, `finish_reason` to `stop`.
 */
export interface TurnResult {
  text?: string
  finish_reason?: string
  usage?: { input_tokens: number; output_tokens: number }
}

/** What a turn needs from the agent server that runs it. */
export interface TurnLink {
  send(message: object): void
  nextId(prefix: 'call' | 'approval'): string
  /** Runs `fn` after the current request's answer has gone out. */
  later(fn: () => void): void
}

const OPEN = 0
const ENDED = 1
const CANCELLED = 2

/** Room left in an event for everything but `done.text` (§5, hub's `eventMaxBytes`). */
const DONE_TEXT_MAX_JSON = Limits.eventMaxBytes - 1024
const ERROR_MESSAGE_MAX_CHARS = 16 * 1024

interface ApprovalWaiter {
  resolve(decision: boolean): void
  reject(reason: unknown): void
}

export class ChatTurn implements Turn {
  readonly sessionId: string
  readonly prompt: string
  readonly stream: boolean
  readonly context: AgentChatParams['context']
  readonly history: readonly HistoryEntry[]
  readonly historyTruncated: boolean
  readonly model: string | undefined
  readonly attachments: readonly Attachment[]
  private state = OPEN
  private streamed = ''
  private readonly controller = new AbortController()
  private readonly approvals = new Map<string, ApprovalWaiter>()

  constructor(
    request: AgentChatParams,
    private readonly link: TurnLink,
  ) {
    this.sessionId = request.session_id
    this.prompt = request.prompt
    this.stream = request.stream
    this.context = request.context
    this.history = request.context.history ?? []
    this.historyTruncated = request.context.history_truncated === true
    this.model = request.model
    this.attachments = request.attachments ?? []
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get text(): string {
    return this.streamed
  }

  get isOpen(): boolean {
    return this.state === OPEN
  }

  // Hot path: one string concatenation and the message itself, nothing else.
  token(delta: string): void {
    if (this.state !== OPEN || delta.length === 0) return
    this.streamed += delta
    if (!this.stream) return
    if (delta.length <= Limits.tokenDeltaMaxChars) {
      this.link.send({
        jsonrpc: '2.0',
        method: AgentMethod.event,
        params: { session_id: this.sessionId, kind: 'token', delta },
      })
      return
    }
    for (let at = 0; at < delta.length; at += Limits.tokenDeltaMaxChars) {
      this.link.send({
        jsonrpc: '2.0',
        method: AgentMethod.event,
        params: { session_id: this.sessionId, kind: 'token', delta: delta.slice(at, at + Limits.tokenDeltaMaxChars) },
      })
    }
  }

  toolCall(tool: string, params?: unknown): string {
    const callId = this.link.nextId('call')
    this.sendChecked(params === undefined ? { kind: 'tool_call', call_id: callId, tool } : { kind: 'tool_call', call_id: callId, tool, params })
    return callId
  }

  toolResult(callId: string, ok: boolean, excerpt?: string): void {
    this.sendChecked(excerpt === undefined ? { kind: 'tool_result', call_id: callId, ok } : { kind: 'tool_result', call_id: callId, ok, excerpt })
  }

  status(message: string): void {
    this.sendChecked({ kind: 'status', message })
  }

  emit(kind: string, fields: Record<string, unknown> = {}): void {
    if (isTerminalKind(kind)) {
      throw new TypeError(`'${kind}' ends the turn: return from the handler (done) or throw (error) instead`)
    }
    this.sendChecked({ ...fields, kind })
  }

  approval(tool: string, params?: unknown): Promise<boolean> {
    if (this.state !== OPEN) {
      return Promise.reject(this.state === CANCELLED ? this.signal.reason : new Error('the turn has ended'))
    }
    const approvalId = this.link.nextId('approval')
    const decision = new Promise<boolean>((resolve, reject) => {
      this.approvals.set(approvalId, { resolve, reject })
    })
    // A handler that drops the promise must not crash the agent when the turn is cancelled.
    decision.catch(() => {})
    try {
      this.sendChecked(
        params === undefined
          ? { kind: 'approval_pending', approval_id: approvalId, tool }
          : { kind: 'approval_pending', approval_id: approvalId, tool, params },
      )
    } catch (error) {
      this.approvals.delete(approvalId)
      throw error
    }
    return decision
  }

  /**
   * The hub's `agent.chat.approve`. Sends `approval_resolved`, and wakes the
   * handler only after the hub has its answer, so the host sees the approval
   * settled before whatever the handler does next.
   */
  resolveApproval(approvalId: string, decision: boolean): boolean {
    const waiter = this.approvals.get(approvalId)
    if (waiter === undefined || this.state !== OPEN) return false
    this.approvals.delete(approvalId)
    this.sendEvent({ session_id: this.sessionId, kind: 'approval_resolved', approval_id: approvalId, resolution: decision ? 'approve' : 'deny' })
    this.link.later(() => waiter.resolve(decision))
    return true
  }

  /** The handler returned: the one `done`. */
  finish(result: string | TurnResult | void): void {
    if (this.state !== OPEN) return
    this.state = ENDED
    this.approvals.clear()
    const fields = typeof result === 'string' ? { text: result } : (result ?? {})
    const text = fields.text ?? this.streamed
    const fits = text.length * 6 <= DONE_TEXT_MAX_JSON || JSON.stringify(text).length <= DONE_TEXT_MAX_JSON
    const event: Record<string, unknown> = { session_id: this.sessionId, kind: 'done', finish_reason: fields.finish_reason || 'stop' }
    if (fits) event.text = text
    if (fields.usage) event.usage = fields.usage
    this.sendEvent(event)
  }

  /** The handler threw: the one `error`. */
  fail(error: unknown): void {
    if (this.state !== OPEN) return
    this.state = ENDED
    this.approvals.clear()
    const message = (error instanceof Error ? error.message : String(error)) || 'the agent failed'
    const code = errorCode(error)
    const event: Record<string, unknown> = {
      session_id: this.sessionId,
      kind: 'error',
      error: message.length > ERROR_MESSAGE_MAX_CHARS ? message.slice(0, ERROR_MESSAGE_MAX_CHARS) : message,
    }
    if (code !== undefined) event.code = code
    this.sendEvent(event)
  }

  /** The hub ended the turn: abort, fail pending approvals, send nothing more. */
  cancel(reason: string): void {
    if (this.state !== OPEN) return
    this.state = CANCELLED
    this.controller.abort(new DOMException(reason, 'AbortError'))
    const waiters = [...this.approvals.values()]
    this.approvals.clear()
    for (const waiter of waiters) waiter.reject(this.signal.reason)
  }

  private sendChecked(fields: Record<string, unknown>): void {
    if (this.state !== OPEN) return
    const event: Record<string, unknown> = { ...fields, session_id: this.sessionId }
    const parsed = AgentChatEventSchema.safeParse(event)
    if (!parsed.success) throw new TypeError(`invalid '${String(fields.kind)}' event: ${describeIssues(parsed.error)}`)
    const limit = KNOWN_EVENT_KINDS.has(fields.kind as string) ? Limits.eventMaxBytes : Limits.unknownEventMaxBytes
    if (JSON.stringify(event).length > limit) throw new RangeError(`'${String(fields.kind)}' event is larger than ${limit} bytes`)
    this.sendEvent(event)
  }

  private sendEvent(event: Record<string, unknown>): void {
    this.link.send({ jsonrpc: '2.0', method: AgentMethod.event, params: event })
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && code.length > 0 && code.length <= Limits.eventIdMaxChars ? code : undefined
}
