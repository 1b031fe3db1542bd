import { z } from 'zod'
import { McpServerListSchema } from './agent-info.js'
import { AgentChatEventSchema } from './chat-events.js'
import { HistoryEntrySchema } from './conversations.js'
import { AttachmentSchema } from './host-api.js'
import { RpcResponseSchema } from './jsonrpc.js'
import { Limits } from './limits.js'

/** Hub ↔ agent messages (PROTOCOL.md §6). */
export const AgentMethod = {
  chat: 'agent.chat',
  cancel: 'agent.chat.cancel',
  approve: 'agent.chat.approve',
  event: 'agent.chat.event',
  ready: 'agent.ready',
  models: 'agent.models',
  tools: 'agent.tools',
} as const

const SessionId = z.string().regex(Limits.idPattern)

export const AgentChatParamsSchema = z.object({
  session_id: SessionId,
  prompt: z.string(),
  stream: z.boolean(),
  context: z.object({
    host_client_id: z.string(),
    conversation_id: z.string().optional(),
    /** §11: earlier messages of a recorded turn, oldest first. */
    history: z.array(HistoryEntrySchema).optional(),
    history_truncated: z.boolean().optional(),
  }),
  model: z.string().optional(),
  attachments: z.array(AttachmentSchema).optional(),
})
export type AgentChatParams = z.infer<typeof AgentChatParamsSchema>

export const AgentChatResultSchema = z.object({ accepted: z.literal(true), session_id: z.string() })
export const AgentCancelParamsSchema = z.object({ session_id: SessionId })
export const AgentApproveParamsSchema = z.object({
  session_id: SessionId,
  approval_id: z.string(),
  decision: z.boolean(),
})
export type AgentApproveParams = z.infer<typeof AgentApproveParamsSchema>
export const AgentApproveResultSchema = z.object({ resolved: z.boolean() })

export const AgentEventNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.literal(AgentMethod.event),
  params: AgentChatEventSchema,
})

/** §6 v2: the agent is listening. */
export const AgentReadyNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.literal(AgentMethod.ready),
  params: z.object({}).optional(),
})

export const AgentModelSchema = z.object({ id: z.string().min(1).max(256), name: z.string().max(256).optional() })
export type AgentModel = z.infer<typeof AgentModelSchema>

export const AgentModelsParamsSchema = z.object({
  models: z.array(AgentModelSchema).max(1000),
  default_model: z.string().min(1).max(256).optional(),
})
export type AgentModelsParams = z.infer<typeof AgentModelsParamsSchema>

/** §6 v2: the models `agents.chat` may name; replaces any earlier list. */
export const AgentModelsNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.literal(AgentMethod.models),
  params: AgentModelsParamsSchema,
})

export const AgentToolsParamsSchema = z.object({ servers: McpServerListSchema })
export type AgentToolsParams = z.infer<typeof AgentToolsParamsSchema>

/** Addition to §6 (README "Protocol notes"): the agent's MCP servers and their tools; replaces any earlier list. */
export const AgentToolsNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.literal(AgentMethod.tools),
  params: AgentToolsParamsSchema,
})

/** What an agent may send about itself rather than a session: readiness, models, tools, answers to the hub's requests. */
export const AgentControlSchema = z.union([
  AgentReadyNotificationSchema,
  AgentModelsNotificationSchema,
  AgentToolsNotificationSchema,
  RpcResponseSchema,
])
export type AgentControl = z.infer<typeof AgentControlSchema>

/** Everything an agent may send the hub; its events first, as they are by far the most frequent. */
export const AgentInboundSchema = z.union([AgentEventNotificationSchema, AgentControlSchema])
export type AgentInbound = z.infer<typeof AgentInboundSchema>
