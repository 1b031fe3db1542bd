import { z } from 'zod'
import { ChatParamsSchema } from '../../../src/protocol/host-api.js'
import {
  ConversationEventKind,
  ConversationMethods,
  TITLE_MAX_CHARS,
  type Conversation,
  type Message,
  type Part,
} from '../../../src/protocol/conversations.js'
import { ErrorCode, RpcError } from '../../../src/protocol/errors.js'

/** What the fake hub needs of a host: its events. */
export interface FakeHost {
  hostEvent(kind: string, agentId: string | null, payload: Record<string, unknown>, sequence: number): void
  emit(method: string, params: unknown): void
}

interface Record_ {
  conversation: Conversation
  messages: Message[]
}

/**
 * The hub's conversation store as PROTOCOL.md §11 describes it, in memory: the
 * methods, recorded turns, and `conversation.*` host events to every host. Time
 * is a counter (each change one millisecond later), so `updated_at` is strictly
 * increasing without a clock.
 */
export class FakeConversationHub {
  readonly hosts = new Set<FakeHost>()
  sequence = 0
  private readonly records = new Map<string, Record_>()
  private readonly sessions = new Map<string, { conversationId: string; owner: FakeHost; message: Message }>()
  private tick = 0
  private nextMessage = 1

  now(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.tick).toISOString()
  }

  conversation(id: string): Conversation | undefined {
    return this.records.get(id)?.conversation
  }

  messages(id: string): Message[] {
    return this.records.get(id)?.messages ?? []
  }

  /** A recorded conversation of `turns` finished turns, made without any host (another window's past, the CLI). */
  seed(id: string, turns: Array<[prompt: string, answer: string]>, agentId = 'echo'): Conversation {
    const record = this.create(id, turns[0]?.[0] ?? 'seeded', agentId)
    for (const [i, [prompt, answer]] of turns.entries()) {
      const session = `seed-${id}-${i}`
      record.messages.push(this.message(id, 'user', agentId, session, prompt, [{ type: 'text', text: prompt }], 'done'))
      record.messages.push(this.message(id, 'assistant', agentId, session, answer, [{ type: 'text', text: answer }], 'done'))
    }
    this.touch(record, false)
    return record.conversation
  }

  /** Marks a conversation busy with a turn of another host (nothing of it reaches our hosts but the events). */
  startForeignTurn(id: string, prompt: string): string {
    const record = this.records.get(id)!
    const session = `foreign-${this.nextMessage}`
    record.messages.push(this.message(id, 'user', record.conversation.agent_id, session, prompt, [{ type: 'text', text: prompt }], 'done'))
    const reply = this.message(id, 'assistant', record.conversation.agent_id, session, '', [], 'streaming')
    record.messages.push(reply)
    this.touch(record, true)
    this.broadcast(ConversationEventKind.updated, record.conversation)
    return session
  }

  finishForeignTurn(id: string, answer: string): void {
    const record = this.records.get(id)!
    const reply = record.messages.at(-1)!
    reply.text = answer
    reply.parts = [{ type: 'text', text: answer }]
    reply.state = 'done'
    this.touch(record, false)
    this.broadcast(ConversationEventKind.updated, record.conversation)
  }

  /** §11 rule 1-4 for `agents.chat` with a conversation_id. */
  chat(owner: FakeHost, raw: unknown): { accepted: true; session_id: string; conversation_id?: string } {
    const params = parse(ChatParamsSchema, raw)
    const sessionId = params.session_id ?? `chat-${this.nextMessage}`
    const id = params.conversation_id
    if (id === undefined) return { accepted: true, session_id: sessionId }
    let record = this.records.get(id)
    if (record?.conversation.busy) throw new RpcError(ErrorCode.ConversationBusy, `conversation '${id}' has a turn in flight`)
    const created = !record
    record ??= this.create(id, params.prompt, params.agent_id)
    record.messages.push(this.message(id, 'user', params.agent_id, sessionId, params.prompt, [{ type: 'text', text: params.prompt }], 'done'))
    const reply = this.message(id, 'assistant', params.agent_id, sessionId, '', [], 'streaming')
    if (params.model !== undefined) reply.model = params.model
    record.messages.push(reply)
    this.sessions.set(sessionId, { conversationId: id, owner, message: reply })
    this.touch(record, true)
    this.broadcast(created ? ConversationEventKind.created : ConversationEventKind.updated, record.conversation)
    return { accepted: true, session_id: sessionId, conversation_id: id }
  }

  /** §7 rule 6: a host that leaves loses its sessions; their turns end cancelled and the conversations are idle again. */
  disconnect(owner: FakeHost): void {
    for (const [sessionId, session] of this.sessions) {
      if (session.owner !== owner) continue
      this.sessions.delete(sessionId)
      session.message.state = 'cancelled'
      const record = this.records.get(session.conversationId)
      if (!record) continue
      this.touch(record, false)
      this.broadcast(ConversationEventKind.updated, record.conversation)
    }
  }

  /** Applies one chat event of a recorded session (rule 4), then hands it to its owner; idle before a terminal event goes out (rule 6). */
  route(params: Record<string, unknown>): boolean {
    const session = this.sessions.get(String(params.session_id))
    if (!session) return false
    const message = session.message
    const last = message.parts.at(-1)
    switch (params.kind) {
      case 'token':
        if (last?.type === 'text') last.text += String(params.delta)
        else message.parts.push({ type: 'text', text: String(params.delta) })
        message.text += String(params.delta)
        break
      case 'tool_call':
        message.parts.push({ type: 'tool_call', call_id: String(params.call_id), tool: String(params.tool), params: params.params })
        break
      case 'tool_result': {
        const part = message.parts.find((p): p is Extract<Part, { type: 'tool_call' }> => p.type === 'tool_call' && p.call_id === params.call_id)
        if (part) part.result = { ok: Boolean(params.ok), ...(typeof params.excerpt === 'string' && { excerpt: params.excerpt }) }
        break
      }
      case 'approval_pending':
        message.parts.push({ type: 'approval', approval_id: String(params.approval_id), tool: String(params.tool), params: params.params, resolution: null })
        break
      case 'approval_resolved': {
        const part = message.parts.find((p): p is Extract<Part, { type: 'approval' }> => p.type === 'approval' && p.approval_id === params.approval_id)
        if (part) part.resolution = params.resolution === 'approve' ? 'approve' : 'deny'
        break
      }
      case 'done':
        message.state = params.finish_reason === 'cancelled' ? 'cancelled' : 'done'
        message.finish_reason = String(params.finish_reason)
        if (isUsage(params.usage)) message.usage = { input_tokens: params.usage.input_tokens, output_tokens: params.usage.output_tokens }
        if (message.text === '' && typeof params.text === 'string') {
          message.text = params.text
          message.parts.push({ type: 'text', text: params.text })
        }
        break
      case 'error':
        message.state = 'error'
        message.error = { message: String(params.error), ...(typeof params.code === 'string' && { code: params.code }) }
        break
    }
    if (params.kind === 'done' || params.kind === 'error') {
      this.sessions.delete(String(params.session_id))
      const record = this.records.get(session.conversationId)
      if (record) {
        this.touch(record, false)
        this.broadcast(ConversationEventKind.updated, record.conversation)
      }
    }
    session.owner.emit('agents.chat.event', { agent_id: message.agent_id, ...params })
    return true
  }

  handle(method: string, raw: unknown): unknown {
    switch (method) {
      case 'conversations.list': {
        const params = parse(ConversationMethods['conversations.list'].params, raw ?? {})
        const limit = params.limit ?? 50
        const sorted = [...this.records.values()].map((r) => r.conversation).sort(newestFirst)
        const start = params.cursor === undefined ? 0 : sorted.findIndex((c) => newestFirst(c, decodeCursor(params.cursor!)) > 0)
        const page = start < 0 ? [] : sorted.slice(start, start + limit)
        const more = start >= 0 && start + limit < sorted.length
        return { conversations: page, next_cursor: more ? encodeCursor(page.at(-1)!) : null }
      }
      case 'conversations.get': {
        const params = parse(ConversationMethods['conversations.get'].params, raw)
        const record = this.need(params.conversation_id)
        return structuredClone({ conversation: record.conversation, messages: record.messages })
      }
      case 'conversations.search': {
        const params = parse(ConversationMethods['conversations.search'].params, raw)
        const words = params.query.toLowerCase().split(/\W+/).filter(Boolean)
        const results = []
        for (const record of this.records.values()) {
          for (const message of record.messages) {
            const tokens = message.text.toLowerCase().split(/\W+/)
            if (words.length === 0 || !words.every((w) => tokens.some((t) => t.startsWith(w)))) continue
            results.push({
              conversation_id: record.conversation.conversation_id,
              message_id: message.message_id,
              title: record.conversation.title,
              snippet: message.text.slice(0, 200),
              created_at: message.created_at,
            })
          }
        }
        return { results: results.slice(0, params.limit ?? 50) }
      }
      case 'conversations.rename': {
        const params = parse(ConversationMethods['conversations.rename'].params, raw)
        const record = this.need(params.conversation_id)
        record.conversation.title = params.title
        this.touch(record, record.conversation.busy)
        this.broadcast(ConversationEventKind.updated, record.conversation)
        return { ...record.conversation }
      }
      case 'conversations.truncate': {
        const params = parse(ConversationMethods['conversations.truncate'].params, raw)
        const record = this.need(params.conversation_id)
        if (record.conversation.busy) throw new RpcError(ErrorCode.ConversationBusy, 'busy')
        const index = record.messages.findIndex((m) => m.message_id === params.message_id)
        if (index < 0) throw new RpcError(ErrorCode.InvalidParams, `message_id '${params.message_id}' is not in the conversation`)
        record.messages.splice(index)
        this.touch(record, false)
        this.broadcast(ConversationEventKind.updated, record.conversation)
        return { ...record.conversation }
      }
      case 'conversations.delete': {
        const params = parse(ConversationMethods['conversations.delete'].params, raw)
        const record = this.need(params.conversation_id)
        for (const [sessionId, session] of this.sessions) {
          if (session.conversationId === params.conversation_id) this.route({ session_id: sessionId, kind: 'done', finish_reason: 'cancelled' })
        }
        this.records.delete(params.conversation_id)
        this.broadcast(ConversationEventKind.deleted, { conversation_id: record.conversation.conversation_id })
        return { deleted: true }
      }
      default:
        throw new RpcError(ErrorCode.MethodNotFound, `method not found: ${method}`)
    }
  }

  private need(id: string): Record_ {
    const record = this.records.get(id)
    if (!record) throw new RpcError(ErrorCode.UnknownConversation, `unknown conversation '${id}'`)
    return record
  }

  private create(id: string, prompt: string, agentId: string): Record_ {
    const line = prompt.split('\n', 1)[0] ?? ''
    const title = line.length > TITLE_MAX_CHARS ? `${line.slice(0, TITLE_MAX_CHARS - 1)}…` : line
    const now = this.now()
    const record: Record_ = {
      conversation: { conversation_id: id, title, agent_id: agentId, created_at: now, updated_at: now, message_count: 0, busy: false },
      messages: [],
    }
    this.records.set(id, record)
    return record
  }

  private message(conversationId: string, role: Message['role'], agentId: string, sessionId: string, text: string, parts: Part[], state: Message['state']): Message {
    return { message_id: `msg-${this.nextMessage++}`, conversation_id: conversationId, role, agent_id: agentId, session_id: sessionId, created_at: this.now(), text, parts, state }
  }

  private touch(record: Record_, busy: boolean): void {
    record.conversation = { ...record.conversation, busy, updated_at: this.now(), message_count: record.messages.length }
  }

  private broadcast(kind: string, payload: object): void {
    const sequence = ++this.sequence
    for (const host of this.hosts) host.hostEvent(kind, null, { ...payload }, sequence)
  }
}

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw new RpcError(ErrorCode.InvalidParams, `invalid params: ${parsed.error.message}`)
  return parsed.data
}

function newestFirst(a: Conversation, b: Conversation): number {
  if (a.updated_at !== b.updated_at) return a.updated_at < b.updated_at ? 1 : -1
  return a.conversation_id < b.conversation_id ? -1 : a.conversation_id > b.conversation_id ? 1 : 0
}

function encodeCursor(c: Conversation): string {
  return JSON.stringify([c.updated_at, c.conversation_id])
}

function decodeCursor(cursor: string): Conversation {
  const [updated_at, conversation_id] = z.tuple([z.string(), z.string()]).parse(JSON.parse(cursor))
  return { conversation_id, updated_at, title: '', agent_id: '', created_at: '', message_count: 0, busy: false }
}

function isUsage(value: unknown): value is { input_tokens: number; output_tokens: number } {
  const usage = value as { input_tokens?: unknown; output_tokens?: unknown } | null | undefined
  return typeof usage?.input_tokens === 'number' && typeof usage.output_tokens === 'number'
}
