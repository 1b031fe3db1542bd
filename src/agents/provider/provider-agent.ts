import type { AgentToolsParams } from '../../protocol/agent-api.js'
import { processChannel, serveAgent, type Turn, type TurnResult } from '../../agent-sdk/index.js'
import { AnthropicClient } from './anthropic-client.js'
import { McpToolbox } from './mcp-toolbox.js'
import { ModelCatalog } from './model-catalog.js'
import type { ModelClient } from './model-client.js'
import { OpenAiClient } from './openai-client.js'
import { ProviderError } from './provider-error.js'
import { runProviderTurn, type ProviderAgent } from './provider-turn.js'
import { ProviderEnv, readProviderConfig } from './settings.js'

/**
 * The built-in provider agent (PROTOCOL.md §12): one process per provider,
 * settings from the environment (see settings.ts), speaking the OpenAI or the
 * Anthropic wire format to the model server, with the tools of `mcp.json`.
 */
const read = readProviderConfig(process.env)
if (!read.ok) {
  process.stderr.write(`provider agent: ${read.error}\n`)
  process.exit(2)
}
const config = read.config
// No child (the MCP servers) may inherit the key.
delete process.env[ProviderEnv.apiKey]

const { settings, apiKey } = config
const client: ModelClient =
  settings.kind === 'anthropic' ? new AnthropicClient(settings.base_url, apiKey) : new OpenAiClient(settings.base_url, apiKey)

const channel = processChannel()
const catalog = new ModelCatalog(client, settings.default_model ?? null, config.timeoutMs, (models, defaultModel) => {
  channel.send({
    jsonrpc: '2.0',
    method: 'agent.models',
    params: defaultModel === null ? { models } : { models, default_model: defaultModel },
  })
})
// The models go first: a window's "test connection" reads the first `agent.updated` after a save as the model list.
const modelsListed = catalog.refresh()
const toolbox = new McpToolbox(config.dataDir, config.mcpStartTimeoutMs, (servers) => {
  const params: AgentToolsParams = { servers }
  void modelsListed.then(() => channel.send({ jsonrpc: '2.0', method: 'agent.tools', params }))
})
process.on('exit', () => toolbox.killAll())

const agent: ProviderAgent = { client, catalog, toolbox, settings, timeoutMs: config.timeoutMs }

serveAgent(
  async (turn: Turn): Promise<TurnResult> => {
    try {
      return await runProviderTurn(turn, agent)
    } catch (error) {
      throw turn.signal.aborted ? error : withoutKey(error)
    }
  },
  { channel, exitWithHub: true },
)

/** §12: no error leaves the agent with the key in it, whatever a server echoed back. */
function withoutKey(error: unknown): Error {
  const redact = (text: string) => (apiKey === null ? text : text.split(apiKey).join('[key removed]'))
  if (error instanceof ProviderError) return new ProviderError(error.code, redact(error.message), error.status)
  const message = error instanceof Error ? error.message : String(error)
  return new Error(`The provider agent failed: ${redact(message)}`)
}
