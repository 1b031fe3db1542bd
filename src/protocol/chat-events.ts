import { z } from 'zod'
import { UsageSchema } from './conversations.js'
import { Limits } from './limits.js'

/**
 * Chat events (PROTOCOL.md §5). Agents send them without `agent_id`; the hub adds
 * it before handing them to the one host that owns the session.
 */
const EventId = z.string().min(1).max(Limits.eventIdMaxChars)
const SessionId = z.string().regex(Limits.idPattern)
const JsonParams = z.unknown().optional()

export const TokenEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('token'),
  delta: z.string().max(Limits.tokenDeltaMaxChars),
})
export const ToolCallEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('tool_call'),
  call_id: EventId,
  tool: EventId,
  params: JsonParams,
})
export const ToolResultEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('tool_result'),
  call_id: EventId,
  ok: z.boolean(),
  excerpt: z.string().optional(),
})
export const ApprovalPendingEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('approval_pending'),
  approval_id: EventId,
  tool: EventId,
  params: JsonParams,
})
export const ApprovalResolvedEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('approval_resolved'),
  approval_id: EventId,
  resolution: z.enum(['approve', 'deny']),
})
export const StatusEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('status'),
  message: z.string(),
})
export const DoneEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('done'),
  finish_reason: z.string().min(1).max(Limits.eventIdMaxChars),
  text: z.string().optional(),
  usage: UsageSchema.optional(),
})
export const ErrorEventSchema = z.object({
  session_id: SessionId,
  kind: z.literal('error'),
  error: z.string(),
  code: z.string().max(Limits.eventIdMaxChars).optional(),
})

export const KNOWN_EVENT_KINDS = new Set([
  'token',
  'tool_call',
  'tool_result',
  'approval_pending',
  'approval_resolved',
  'status',
  'done',
  'error',
])

/** An event kind the protocol does not list: forwarded unchanged (§5). */
export const OtherEventSchema = z.looseObject({
  session_id: SessionId,
  kind: z
    .string()
    .min(1)
    .max(Limits.eventIdMaxChars)
    .refine((kind) => !KNOWN_EVENT_KINDS.has(kind), { message: 'malformed event of a known kind' }),
})

export const KnownAgentEventSchema = z.discriminatedUnion('kind', [
  TokenEventSchema,
  ToolCallEventSchema,
  ToolResultEventSchema,
  ApprovalPendingEventSchema,
  ApprovalResolvedEventSchema,
  StatusEventSchema,
  DoneEventSchema,
  ErrorEventSchema,
])

/** What an agent sends as `agent.chat.event` params. */
export const AgentChatEventSchema = z.union([KnownAgentEventSchema, OtherEventSchema])
export type AgentChatEvent = z.infer<typeof AgentChatEventSchema>
export type KnownAgentEvent = z.infer<typeof KnownAgentEventSchema>
export type TokenEvent = z.infer<typeof TokenEventSchema>

export function isTerminalKind(kind: string): kind is 'done' | 'error' {
  return kind === 'done' || kind === 'error'
}

/** Codes of the `error` events the hub itself ends sessions with (§7 rule 5). */
export const HubErrorCode = {
  AgentExited: 'agent_exited',
  SessionExpired: 'session_expired',
  HubShutdown: 'hub_shutdown',
} as const

/** What a host receives as `agents.chat.event` params. */
export const HostChatEventSchema = z.union([
  KnownAgentEventSchema.and(z.object({ agent_id: z.string() })),
  OtherEventSchema.extend({ agent_id: z.string() }),
])
/** A known chat event as a host receives it; hosts ignore kinds they do not know (§5). */
export type HostChatEvent = KnownAgentEvent & { agent_id: string }
export type AnyHostChatEvent = z.infer<typeof HostChatEventSchema>
