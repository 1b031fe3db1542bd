import { ManifestAgentSchema, type AgentSpec } from '../../src/protocol/manifest.js'

export function agentSpec(id: string, overrides: Partial<AgentSpec> = {}): AgentSpec {
  return { ...ManifestAgentSchema.parse({ id, name: id, module: `/fake/${id}.js` }), ...overrides }
}
