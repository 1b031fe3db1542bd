import { z } from 'zod'
import { Limits } from './limits.js'

/** One agent of a manifest file (PROTOCOL.md §10). */
export const ManifestAgentSchema = z.strictObject({
  id: z.string().regex(Limits.agentIdPattern, 'must match ^[A-Za-z0-9._-]{1,64}$'),
  name: z.string().min(1).max(256),
  module: z.string().min(1),
  description: z.string().max(4096).default(''),
  capabilities: z.array(z.string().max(128)).max(64).default(['chat']),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  restart: z.enum(['never', 'on_failure', 'always']).default('on_failure'),
  max_restarts: z.number().int().min(0).max(1000).default(5),
  auto_start: z.boolean().default(true),
  /** §6 v2: the agent sends `agent.ready` once listening and counts as `starting` until then. */
  ready_signal: z.boolean().default(false),
})
export type ManifestAgent = z.infer<typeof ManifestAgentSchema>

export const ManifestSchema = z.strictObject({ agents: z.array(ManifestAgentSchema) })
export type Manifest = z.infer<typeof ManifestSchema>

/** A manifest entry whose `module` has been resolved to an absolute path. */
export type AgentSpec = ManifestAgent
