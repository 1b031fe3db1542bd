import { z } from 'zod'
import { AgentInfoSchema } from './agent-info.js'
import { ConversationMethods } from './conversations.js'
import { Limits, base64DecodedLength, isHttpUrl, utf8ByteLength } from './limits.js'
import { ProviderMethods } from './providers.js'

/** Host → hub methods (PROTOCOL.md §3). Params refuse unknown keys. */
const SessionIdSchema = z.string().regex(Limits.idPattern, 'must match ^[A-Za-z0-9._:-]{1,128}$')
const AgentIdSchema = z.string().min(1).max(64)

export const ImageBase64AttachmentSchema = z.strictObject({
  type: z.literal('image_base64'),
  data: z.string().superRefine((data, ctx) => {
    const size = base64DecodedLength(data)
    if (size < 0) ctx.addIssue({ code: 'custom', message: 'is not valid base64' })
    else if (size > Limits.attachmentMaxBytes) ctx.addIssue({ code: 'custom', message: 'decodes to more than 10 MiB' })
  }),
  media_type: z.enum(['image/png', 'image/jpeg', 'image/gif', 'image/webp']),
})

export const ImageUrlAttachmentSchema = z.strictObject({
  type: z.literal('image_url'),
  url: z
    .string()
    .max(8192)
    .refine(isHttpUrl, 'must be an http or https URL'),
  detail: z.enum(['auto', 'low', 'high']).optional(),
})

export const AttachmentSchema = z.discriminatedUnion('type', [ImageBase64AttachmentSchema, ImageUrlAttachmentSchema])
export type Attachment = z.infer<typeof AttachmentSchema>

export const PromptSchema = z.string().superRefine((prompt, ctx) => {
  const bytes = utf8ByteLength(prompt)
  if (bytes < 1) ctx.addIssue({ code: 'custom', message: 'must not be empty' })
  else if (bytes > Limits.promptMaxBytes) ctx.addIssue({ code: 'custom', message: `is ${bytes} bytes, over ${Limits.promptMaxBytes}` })
})

const Empty = z.strictObject({})
const AgentRef = z.strictObject({ agent_id: AgentIdSchema })

export const ChatParamsSchema = z.strictObject({
  agent_id: AgentIdSchema,
  prompt: PromptSchema,
  session_id: SessionIdSchema.optional(),
  conversation_id: SessionIdSchema.optional(),
  stream: z.boolean().optional(),
  model: z.string().max(Limits.modelMaxChars).optional(),
  attachments: z.array(AttachmentSchema).max(Limits.attachmentsMax).optional(),
})
export type ChatParams = z.infer<typeof ChatParamsSchema>

export const CancelParamsSchema = z.strictObject({ session_id: SessionIdSchema })
export const ApproveParamsSchema = z.strictObject({
  session_id: SessionIdSchema,
  approval_id: z.string().min(1).max(Limits.eventIdMaxChars),
  decision: z.boolean(),
})
export const AuthParamsSchema = z.strictObject({ host_token: z.string().max(1024) })

export const SessionInfoSchema = z.object({
  session_id: z.string(),
  agent_id: z.string(),
  conversation_id: z.string().optional(),
  created_at: z.number(),
})

export const HubStatsSchema = z.looseObject({
  sessions_active: z.number(),
  hosts_connected: z.number(),
  agents_running: z.number(),
  events_forwarded: z.number(),
  events_merged: z.number(),
  events_dropped: z.number(),
  sessions_expired: z.number(),
})
export type HubStats = z.infer<typeof HubStatsSchema>

/** Every host method: its params schema and its result schema, one definition for hub and clients. */
export const HostMethods = {
  'session.auth': {
    params: AuthParamsSchema,
    result: z.object({ ok: z.literal(true), role: z.literal('host'), client_id: z.string() }),
  },
  'host.subscribe': {
    params: Empty,
    result: z.object({ client_id: z.string(), agents: z.array(AgentInfoSchema), event_sequence: z.number() }),
  },
  'agents.list': { params: Empty, result: z.object({ agents: z.array(AgentInfoSchema) }) },
  'agents.start': { params: AgentRef, result: AgentInfoSchema },
  'agents.stop': { params: AgentRef, result: AgentInfoSchema },
  'agents.restart': { params: AgentRef, result: AgentInfoSchema },
  'agents.chat': {
    params: ChatParamsSchema,
    result: z.object({ accepted: z.literal(true), session_id: z.string(), conversation_id: z.string().optional() }),
  },
  'agents.chat.cancel': { params: CancelParamsSchema, result: z.object({ cancelled: z.boolean() }) },
  'agents.chat.approve': {
    params: ApproveParamsSchema,
    result: z.object({ resolved: z.boolean(), session_id: z.string() }),
  },
  'hub.sessions': { params: Empty, result: z.object({ sessions: z.array(SessionInfoSchema) }) },
  'hub.stats': { params: Empty, result: HubStatsSchema },
  ...ConversationMethods,
  ...ProviderMethods,
} as const

export type HostMethod = keyof typeof HostMethods
export type HostParams<M extends HostMethod> = z.input<(typeof HostMethods)[M]['params']>
export type HostResult<M extends HostMethod> = z.infer<(typeof HostMethods)[M]['result']>

export function isHostMethod(method: string): method is HostMethod {
  return Object.prototype.hasOwnProperty.call(HostMethods, method)
}

/** Hub → host notifications. */
export const HostNotification = {
  chatEvent: 'agents.chat.event',
  hostEvent: 'host.event',
} as const

/**
 * Flow control for IPC hosts (a CarHost window): the preload acknowledges how many
 * hub messages its page has consumed, so the hub knows when the window lags (§8).
 * Not part of PROTOCOL.md's host API; WebSocket hosts never need it.
 */
export const FlowAckMethod = 'host.ack'
export const FlowAckParamsSchema = z.strictObject({ count: z.number().int().min(1).max(1_000_000) })
