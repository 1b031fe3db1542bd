import { z } from 'zod'

/** §4 */
export const AgentStatusSchema = z.enum(['stopped', 'starting', 'running', 'backoff', 'errored'])
export type AgentStatus = z.infer<typeof AgentStatusSchema>

/** Bounds of `agent.tools` (README "Protocol notes", an addition to §6). */
export const McpStatusLimits = { servers: 64, tools: 1_000, nameMaxChars: 256, textMaxChars: 1_024 } as const

export const McpServerStateSchema = z.enum(['starting', 'ready', 'failed', 'stopped'])
export type McpServerState = z.infer<typeof McpServerStateSchema>

export const McpToolInfoSchema = z.object({
  name: z.string().min(1).max(McpStatusLimits.nameMaxChars),
  description: z.string().max(McpStatusLimits.textMaxChars).optional(),
})

/** One MCP server of an agent: its state, its tools while ready, why it failed. Never its command or env. */
export const McpServerInfoSchema = z.object({
  name: z.string().min(1).max(McpStatusLimits.nameMaxChars),
  state: McpServerStateSchema,
  tools: z.array(McpToolInfoSchema).max(McpStatusLimits.tools),
  error: z.string().max(McpStatusLimits.textMaxChars).optional(),
})
export type McpServerInfo = z.infer<typeof McpServerInfoSchema>

export const McpServerListSchema = z
  .array(McpServerInfoSchema)
  .max(McpStatusLimits.servers)
  .refine((servers) => servers.reduce((sum, server) => sum + server.tools.length, 0) <= McpStatusLimits.tools, {
    message: `at most ${McpStatusLimits.tools} tools in all`,
  })

export const AgentInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  capabilities: z.array(z.string()),
  status: AgentStatusSchema,
  pid: z.number().nullable(),
  restart_count: z.number(),
  sessions_active: z.number(),
  last_exit_code: z.number().nullable(),
  /** §6 v2: what the agent announced with `agent.models`; empty when it never did. */
  models: z.array(z.object({ id: z.string(), name: z.string().optional() })),
  default_model: z.string().nullable(),
  /** Addition to §6: what the agent announced with `agent.tools`; absent when it never did. */
  mcp_servers: McpServerListSchema.optional(),
})
export type AgentInfo = z.infer<typeof AgentInfoSchema>

export const HostEventKindSchema = z.string()

export const HostEventSchema = z.object({
  id: z.string(),
  sequence: z.number().int(),
  timestamp: z.string(),
  kind: HostEventKindSchema,
  agent_id: z.string().nullable(),
  message: z.string(),
  payload: z.record(z.string(), z.unknown()),
})
export type HostEvent = z.infer<typeof HostEventSchema>
