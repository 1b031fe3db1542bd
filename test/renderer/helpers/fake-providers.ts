import type { AgentInfo, McpServerInfo } from '../../../src/protocol/agent-info.js'
import { ErrorCode, RpcError } from '../../../src/protocol/errors.js'
import { describeIssues } from '../../../src/protocol/jsonrpc.js'
import { ProviderMethods, type Provider } from '../../../src/protocol/providers.js'

/** What the fake hub needs of its window: the agent list it answers with, and a way to send host events. */
export interface ProviderHost {
  readonly agents: AgentInfo[]
  hostEvent(kind: string, agentId: string | null, payload: Record<string, unknown>): void
}

/**
 * `providers.*` of §12 in memory, as the hub does them: params validated with
 * the protocol's schemas (-32602 naming the field), built-in ids refused, the
 * key kept here and never answered, and each save (re)registering the
 * provider's agent with `agent.unregistered`/`agent.registered`; the test plays
 * the agent's `agent.models` and `agent.tools` with `announce` (→ `agent.updated`).
 */
export class FakeProviders {
  private readonly providers = new Map<string, Provider>()
  /** The keys as saved: the test checks what the window sent, the window never sees them. */
  readonly keys = new Map<string, string>()

  constructor(private readonly host: ProviderHost) {}

  handle(method: string, params: unknown): unknown {
    switch (method) {
      case 'providers.list':
        return { providers: [...this.providers.values()] }
      case 'providers.save':
        return this.save(params)
      case 'providers.delete':
        return this.delete(params)
      default:
        throw new RpcError(ErrorCode.MethodNotFound, `method not found: ${method}`)
    }
  }

  /** A provider present from the start (its agent too), as one restored from the data folder. */
  seed(provider: Omit<Provider, 'has_api_key'>, apiKey: string | null = null): void {
    this.providers.set(provider.id, { ...provider, has_api_key: apiKey !== null })
    if (apiKey !== null) this.keys.set(provider.id, apiKey)
    this.host.agents.push(providerAgent(provider.id, provider.name))
  }

  /** The provider's agent sends `agent.models`: the hub emits `agent.updated` with the whole Agent. */
  announce(id: string, models: Array<{ id: string; name?: string }>, defaultModel: string | null = null): void {
    this.update(id, { models, default_model: defaultModel })
  }

  /** The provider's agent sends `agent.tools`: the Agent's `mcp_servers`, likewise with `agent.updated`. */
  announceTools(id: string, servers: McpServerInfo[]): void {
    this.update(id, { mcp_servers: servers })
  }

  private update(id: string, change: Partial<AgentInfo>): void {
    const index = this.host.agents.findIndex((a) => a.id === id)
    const next = { ...this.host.agents[index]!, ...change }
    this.host.agents[index] = next
    this.host.hostEvent('agent.updated', id, next)
  }

  private save(raw: unknown): Provider {
    const parsed = ProviderMethods['providers.save'].params.safeParse(raw)
    if (!parsed.success) throw new RpcError(ErrorCode.InvalidParams, `invalid params: ${describeIssues(parsed.error)}`)
    const params = parsed.data
    const existing = this.providers.get(params.id)
    if (!existing && this.host.agents.some((a) => a.id === params.id)) {
      throw new RpcError(ErrorCode.InvalidParams, `invalid params: 'id': '${params.id}' is a built-in or manifest agent, not a provider`)
    }
    if (params.api_key === null) this.keys.delete(params.id)
    else if (params.api_key !== undefined) this.keys.set(params.id, params.api_key)
    const provider: Provider = {
      id: params.id,
      name: params.name,
      kind: params.kind,
      base_url: params.base_url,
      has_api_key: this.keys.has(params.id),
      default_model: params.default_model ?? null,
      system_prompt: params.system_prompt ?? null,
      temperature: params.temperature ?? null,
      max_tokens: params.max_tokens ?? null,
    }
    if (existing) this.unregister(params.id)
    this.providers.set(params.id, provider)
    const agent = providerAgent(params.id, params.name)
    this.host.agents.push(agent)
    this.host.hostEvent('agent.registered', params.id, { agent })
    return provider
  }

  private delete(raw: unknown): { deleted: boolean } {
    const parsed = ProviderMethods['providers.delete'].params.safeParse(raw)
    if (!parsed.success) throw new RpcError(ErrorCode.InvalidParams, `invalid params: ${describeIssues(parsed.error)}`)
    const { id } = parsed.data
    if (!this.providers.has(id)) {
      if (this.host.agents.some((a) => a.id === id)) throw new RpcError(ErrorCode.UnknownProvider, `'${id}' is a built-in or manifest agent, not a provider`)
      return { deleted: false }
    }
    this.providers.delete(id)
    this.keys.delete(id)
    this.unregister(id)
    return { deleted: true }
  }

  private unregister(id: string): void {
    const index = this.host.agents.findIndex((a) => a.id === id)
    if (index >= 0) this.host.agents.splice(index, 1)
    this.host.hostEvent('agent.unregistered', id, {})
  }
}

function providerAgent(id: string, name: string): AgentInfo {
  return {
    id,
    name,
    description: `model server ${name}`,
    capabilities: ['chat', 'stream', 'tools', 'approvals'],
    status: 'running',
    pid: 5151,
    restart_count: 0,
    sessions_active: 0,
    last_exit_code: null,
    models: [],
    default_model: null,
  }
}
