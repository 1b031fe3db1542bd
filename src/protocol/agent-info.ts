import { z } from 'zod'

/** §4 */
export const AgentStatusSchema = z.enum(['stopped', 'starting', 'running', 'backoff', 'errored'])
export type AgentStatus = z.infer<typeof AgentStatusSchema>

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
