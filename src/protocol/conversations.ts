import { z } from 'zod'
import { Limits } from './limits.js'

/** Conversations kept by the hub (PROTOCOL.md §11). Times are RFC 3339 with milliseconds, UTC. */
export const ConversationIdSchema = z.string().regex(Limits.idPattern, 'must match ^[A-Za-z0-9._:-]{1,128}$')

export const ConversationSchema = z.object({
  conversation_id: z.string(),
  title: z.string(),
  agent_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  message_count: z.number().int(),
  /** A turn is in flight. */
  busy: z.boolean(),
})
export type Conversation = z.infer<typeof ConversationSchema>

export const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() })
export const ToolCallPartSchema = z.object({
  type: z.literal('tool_call'),
  call_id: z.string(),
  tool: z.string(),
  params: z.unknown().optional(),
  result: z.object({ ok: z.boolean(), excerpt: z.string().optional() }).optional(),
})
export const ApprovalPartSchema = z.object({
  type: z.literal('approval'),
  approval_id: z.string(),
  tool: z.string(),
  params: z.unknown().optional(),
  resolution: z.enum(['approve', 'deny']).nullable(),
})
export const PartSchema = z.discriminatedUnion('type', [TextPartSchema, ToolCallPartSchema, ApprovalPartSchema])
export type Part = z.infer<typeof PartSchema>

export const MessageStateSchema = z.enum(['done', 'streaming', 'cancelled', 'error', 'interrupted'])
export type MessageState = z.infer<typeof MessageStateSchema>

export const UsageSchema = z.object({ input_tokens: z.number(), output_tokens: z.number() })
export type Usage = z.infer<typeof UsageSchema>

/** Attachments are kept as the host sent them (§3), so a message can be shown and resent as it was. */
export const StoredAttachmentSchema = z.looseObject({ type: z.string() })

export const MessageSchema = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  role: z.enum(['user', 'assistant']),
  agent_id: z.string(),
  session_id: z.string(),
  created_at: z.string(),
  text: z.string(),
  parts: z.array(PartSchema),
  state: MessageStateSchema,
  model: z.string().optional(),
  finish_reason: z.string().optional(),
  error: z.object({ code: z.string().optional(), message: z.string() }).optional(),
  usage: UsageSchema.optional(),
  attachments: z.array(StoredAttachmentSchema).optional(),
})
export type Message = z.infer<typeof MessageSchema>

/** One earlier message as an agent receives it in `context.history` (§11). */
export const HistoryEntrySchema = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  agent_id: z.string(),
})
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>

/** §11: `context.history` holds the most recent whole messages that fit in this many UTF-8 bytes. */
export const HISTORY_MAX_BYTES = 1024 * 1024
/** §11: a new conversation's title is the prompt's first line, at most this many characters. */
export const TITLE_MAX_CHARS = 80

const MessageIdSchema = z.string().min(1).max(256)

export const SearchResultSchema = z.object({
  conversation_id: z.string(),
  message_id: z.string(),
  title: z.string(),
  snippet: z.string(),
  created_at: z.string(),
})
export type SearchResult = z.infer<typeof SearchResultSchema>

/** §11 host methods: params (unknown keys refused) and results. */
export const ConversationMethods = {
  'conversations.list': {
    params: z.strictObject({
      limit: z.number().int().min(1).max(500).optional(),
      cursor: z.string().max(1024).optional(),
    }),
    result: z.object({ conversations: z.array(ConversationSchema), next_cursor: z.string().nullable() }),
  },
  'conversations.get': {
    params: z.strictObject({ conversation_id: ConversationIdSchema }),
    result: z.object({ conversation: ConversationSchema, messages: z.array(MessageSchema) }),
  },
  'conversations.search': {
    params: z.strictObject({
      query: z.string().min(1).max(512),
      limit: z.number().int().min(1).max(200).optional(),
    }),
    result: z.object({ results: z.array(SearchResultSchema) }),
  },
  'conversations.rename': {
    params: z.strictObject({ conversation_id: ConversationIdSchema, title: z.string().min(1).max(200) }),
    result: ConversationSchema,
  },
  'conversations.truncate': {
    params: z.strictObject({ conversation_id: ConversationIdSchema, message_id: MessageIdSchema }),
    result: ConversationSchema,
  },
  'conversations.delete': {
    params: z.strictObject({ conversation_id: ConversationIdSchema }),
    result: z.object({ deleted: z.boolean() }),
  },
} as const

/** §4 host event kinds for conversations; payload is the `Conversation`, or `{conversation_id}` for deleted. */
export const ConversationEventKind = {
  created: 'conversation.created',
  updated: 'conversation.updated',
  deleted: 'conversation.deleted',
} as const
