import { ManifestAgentSchema, type AgentSpec } from '../protocol/manifest.js'
import echoModule from './echo.ts?modulePath'
import providerModule from './provider/provider-agent.ts?modulePath'
import toolboxModule from './toolbox.ts?modulePath'

/**
 * The agents every hub has. Only the built entries (the app's main process and the
 * headless hub) import this: the `?modulePath` imports exist only in the build.
 */
export function builtinAgents(): AgentSpec[] {
  return [
    ManifestAgentSchema.parse({
      id: 'echo',
      name: 'Echo',
      module: echoModule,
      description: 'Streams your prompt back, word by word.',
      capabilities: ['chat', 'stream'],
      ready_signal: true,
    }),
    ManifestAgentSchema.parse({
      id: 'toolbox',
      name: 'Toolbox',
      module: toolboxModule,
      description: 'Tells the time, counts words and does arithmetic (with your approval), showing its tool calls.',
      capabilities: ['chat', 'stream', 'tools', 'approvals'],
      ready_signal: true,
    }),
  ]
}

/**
 * The built provider agent (PROTOCOL.md §12): the hub starts one per provider,
 * with the environment of `providerAgentEnv` (src/agents/provider/settings.ts).
 */
export const PROVIDER_AGENT_MODULE: string = providerModule
