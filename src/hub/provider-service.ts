import { z } from 'zod'
import { ErrorCode, RpcError } from '../protocol/errors.js'
import { describeIssues } from '../protocol/jsonrpc.js'
import { ManifestAgentSchema, type AgentSpec } from '../protocol/manifest.js'
import type { Provider, ProviderKind, ProviderSaveParams } from '../protocol/providers.js'
import type { AgentSupervisor } from './agent-supervisor.js'
import type { Logger } from './logger.js'
import { keyChangeOf, ProviderStoreError, type ProviderSettingsStore, type SavedProvider } from './provider-store.js'

/** What a provider agent is told about its provider (everything but id, name and key). */
export type ProviderAgentSettings = Omit<SavedProvider, 'id' | 'name'>

/** The agents the providers live among: the supervisor, seen through what providers need. */
export interface ProviderAgentRegistry {
  has(id: string): boolean
  register(spec: AgentSpec): void
  /** Stops the agent (its sessions end with `agent_exited`) and forgets it (`agent.unregistered`). */
  unregister(id: string): Promise<void>
  /** Resolves once the agent runs or failed to start. */
  start(id: string): Promise<void>
}

export function supervisorAgentRegistry(supervisor: AgentSupervisor): ProviderAgentRegistry {
  return {
    has: (id) => supervisor.get(id) !== undefined,
    register: (spec) => void supervisor.register(spec),
    unregister: (id) => supervisor.unregister(id),
    start: async (id) => {
      const agent = supervisor.get(id)
      if (agent) await supervisor.start(agent)
    },
  }
}

export interface ProviderServiceOptions {
  store: ProviderSettingsStore
  agents: ProviderAgentRegistry
  /** The built provider agent module every provider runs (§12). */
  agentModule: string
  /**
   * The environment that hands one provider agent its settings and key: the
   * provider agent's launch contract (`providerAgentEnv` of src/agents/provider/settings.ts).
   * It reaches that one process only (§6: the launcher merges it into that child's env).
   */
  agentEnv(settings: ProviderAgentSettings, apiKey: string | null): Record<string, string>
  logger: Logger
}

/** What a shell hands the hub for providers: where they are kept and the provider agent's launch contract. */
export type ProviderServiceConfig = Pick<ProviderServiceOptions, 'store' | 'agentModule' | 'agentEnv'>

const KIND_NAMES: Record<ProviderKind, string> = {
  openai: 'OpenAI-compatible',
  anthropic: 'Anthropic',
}

interface Known {
  provider: SavedProvider
  hasApiKey: boolean
}

/**
 * `providers.list/save/delete` (PROTOCOL.md §12): providers kept by a store, each
 * running as an agent under its id. Keys go from the store into the agent's spec
 * and nowhere else; a host only ever sees `has_api_key`.
 */
export class ProviderService {
  private readonly known = new Map<string, Known>()
  /** Why the saved providers could not be read; every method reports it until the hub restarts. */
  private loadProblem: string | null = null
  /** Operations run one at a time: a save and a delete of one id must not interleave. */
  private tail: Promise<unknown> = Promise.resolve()
  private restored = false

  constructor(private readonly options: ProviderServiceOptions) {}

  /** Registers and starts every saved provider (once); resolves with the problems a person should hear about. */
  restore(): Promise<string[]> {
    return this.serial(async () => {
      if (this.restored) return []
      this.restored = true
      const problems: string[] = []
      let entries
      try {
        entries = await this.options.store.loadAll()
      } catch (error) {
        this.loadProblem = storeMessage(error, 'the saved providers cannot be read')
        this.options.logger.error(this.loadProblem)
        return [this.loadProblem]
      }
      const started: Promise<void>[] = []
      const skip = (id: string, reason: string) => {
        const problem = `provider '${id}' is not started: ${reason}`
        this.options.logger.warn(problem)
        problems.push(problem)
      }
      for (const { provider, apiKey } of entries) {
        if (this.options.agents.has(provider.id)) {
          skip(provider.id, 'a built-in or manifest agent has that id; rename the provider')
          continue
        }
        try {
          this.agentSpec(provider, null)
        } catch (error) {
          skip(provider.id, settingsProblem(error))
          continue
        }
        this.options.agents.register(this.agentSpec(provider, apiKey))
        this.known.set(provider.id, { provider, hasApiKey: apiKey !== null })
        started.push(this.options.agents.start(provider.id))
      }
      await Promise.all(started)
      return problems
    })
  }

  list(): { providers: Provider[] } {
    this.checkLoaded()
    return { providers: [...this.known.values()].map(toProvider) }
  }

  save(params: ProviderSaveParams): Promise<Provider> {
    return this.serial(async () => {
      this.checkLoaded()
      const { id } = params
      if (this.options.agents.has(id) && !this.known.has(id)) {
        throw new RpcError(ErrorCode.InvalidParams, `invalid params: 'id': '${id}' is a built-in or manifest agent, not a provider`)
      }
      const provider: SavedProvider = {
        id,
        name: params.name,
        kind: params.kind,
        base_url: params.base_url,
        default_model: params.default_model ?? null,
        system_prompt: params.system_prompt ?? null,
        temperature: params.temperature ?? null,
        max_tokens: params.max_tokens ?? null,
      }
      // Settings the provider agent cannot take are refused before anything is stored or stopped.
      try {
        this.agentSpec(provider, null)
      } catch (error) {
        throw new RpcError(ErrorCode.InvalidParams, `invalid params: ${settingsProblem(error)}`)
      }
      let apiKey: string | null
      try {
        apiKey = await this.options.store.save(provider, keyChangeOf(params.api_key))
      } catch (error) {
        throw storeRpcError(error, `provider '${id}' could not be saved`)
      }
      // §12: the agent restarts with the new settings; stopping it ends its sessions with agent_exited.
      if (this.known.has(id)) await this.options.agents.unregister(id)
      this.options.agents.register(this.agentSpec(provider, apiKey))
      const known = { provider, hasApiKey: apiKey !== null }
      this.known.set(id, known)
      this.options.logger.info('provider saved', { provider: id, kind: provider.kind })
      await this.options.agents.start(id)
      return toProvider(known)
    })
  }

  delete(id: string): Promise<{ deleted: boolean }> {
    return this.serial(async () => {
      this.checkLoaded()
      if (!this.known.has(id)) {
        if (this.options.agents.has(id)) {
          throw new RpcError(ErrorCode.UnknownProvider, `'${id}' is a built-in or manifest agent, not a provider`)
        }
        return { deleted: false }
      }
      try {
        await this.options.store.delete(id)
      } catch (error) {
        throw storeRpcError(error, `provider '${id}' could not be deleted`)
      }
      this.known.delete(id)
      await this.options.agents.unregister(id)
      this.options.logger.info('provider deleted', { provider: id })
      return { deleted: true }
    })
  }

  private agentSpec(provider: SavedProvider, apiKey: string | null): AgentSpec {
    const { id, name, ...settings } = provider
    return ManifestAgentSchema.parse({
      id,
      name,
      module: this.options.agentModule,
      description: `${KIND_NAMES[provider.kind]} model server at ${provider.base_url}`,
      capabilities: ['chat', 'stream', 'tools', 'approvals'],
      env: this.options.agentEnv(settings, apiKey),
      restart: 'on_failure',
      // The provider agent announces itself once listening (§6); a chat waits for that, not for the spawn.
      ready_signal: true,
    })
  }

  private checkLoaded(): void {
    if (this.loadProblem !== null) throw new RpcError(ErrorCode.InternalError, this.loadProblem)
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation)
    this.tail = result.catch(() => {})
    return result
  }
}

/** Why `agentEnv` refused the settings; called without the key, so its message holds none. */
function settingsProblem(error: unknown): string {
  if (error instanceof z.ZodError) return `the provider agent cannot use these settings: ${describeIssues(error)}`
  return `the provider agent cannot use these settings: ${error instanceof Error ? error.message : String(error)}`
}

function toProvider({ provider, hasApiKey }: Known): Provider {
  return { ...provider, has_api_key: hasApiKey }
}

/** A store's own message when it wrote one for people; otherwise only the error's code (fs messages stay out). */
function storeMessage(error: unknown, context: string): string {
  if (error instanceof ProviderStoreError) return error.message
  const code = (error as { code?: unknown } | null)?.code
  return `${context}${typeof code === 'string' ? ` (${code})` : ''}`
}

function storeRpcError(error: unknown, context: string): RpcError {
  if (error instanceof ProviderStoreError && error.field !== null) {
    return new RpcError(
      ErrorCode.InvalidParams,
      `invalid params: '${error.field}': ${error.message}`,
      error.reason === null ? undefined : { reason: error.reason },
    )
  }
  return new RpcError(ErrorCode.InternalError, storeMessage(error, context))
}
