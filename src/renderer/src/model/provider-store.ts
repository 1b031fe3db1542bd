import { z } from 'zod'
import { AgentInfoSchema, type AgentInfo, type HostEvent } from '../../../protocol/agent-info.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import type { RequestFn } from '../../../protocol/host-client.js'
import { ProviderMethods, type Provider, type ProviderSaveParams } from '../../../protocol/providers.js'
import { errorMessage } from './conversation-sync.js'
import { ValueStore } from './value-store.js'

export type ProviderMethod = keyof typeof ProviderMethods

/**
 * What a window has seen of a provider's MCP servers (§12 names tools
 * `SERVER.TOOL` in events, and a server that failed to start is reported by a
 * `status` event on the next turn). No host method lists `mcp.json`'s servers.
 */
export interface McpSightings {
  /** Tool names seen in `tool_call` events, by server. */
  readonly tools: Readonly<Record<string, readonly string[]>>
  /** The latest `status` messages (failed servers among them), newest last. */
  readonly notices: readonly string[]
}

const NOTICES_KEPT = 5

export interface ProvidersState {
  readonly providers: readonly Provider[]
  /** `providers.list` answered. */
  readonly loaded: boolean
  /** Why the list could not be read (an older hub without §12 answers -32601). */
  readonly problem?: string
}

/** What `save` made of the form: the saved provider, or the hub's reasons, per field where the hub named one. */
export type SaveOutcome =
  | { ok: true; provider: Provider }
  | { ok: false; message: string; fields: Readonly<Record<string, string>> }

/** What a provider's agent announced after a save (§6 `agent.models` → `agent.updated`), or why it never will. */
export type ConnectionOutcome = { ok: true; agent: AgentInfo } | { ok: false; message: string }

/**
 * The providers of §12, as the settings view shows them: the list, typed calls
 * for `providers.*`, and "test connection" — a save followed by the new
 * agent's first `agent.updated` (its model list). The protocol has no way to
 * ask a provider why its list is empty; the view says what is likely instead.
 */
export class ProviderStore {
  readonly state = new ValueStore<ProvidersState>({ providers: [], loaded: false })
  /** By agent id; only this window's turns are seen. */
  readonly mcp = new ValueStore<Readonly<Record<string, McpSightings>>>({})
  /** Waiters for a provider agent's announcement, by agent id; armed once its new agent registered. */
  private readonly waiters = new Map<string, { registered: boolean; resolve: (outcome: ConnectionOutcome) => void }>()

  constructor(private readonly send: RequestFn) {}

  async call<M extends ProviderMethod>(method: M, params: z.input<(typeof ProviderMethods)[M]['params']>): Promise<z.infer<(typeof ProviderMethods)[M]['result']>> {
    const raw = await this.send(method, params)
    return ProviderMethods[method].result.parse(raw) as z.infer<(typeof ProviderMethods)[M]['result']>
  }

  provider(id: string): Provider | undefined {
    return this.state.getSnapshot().providers.find((p) => p.id === id)
  }

  async load(): Promise<void> {
    try {
      const { providers } = await this.call('providers.list', {})
      this.state.set({ providers, loaded: true })
    } catch (error) {
      const missing = error instanceof RpcError && error.code === ErrorCode.MethodNotFound
      this.state.set({
        ...this.state.getSnapshot(),
        problem: missing ? 'This hub does not manage model providers.' : `Could not read the providers: ${errorMessage(error)}`,
      })
    }
  }

  async save(params: ProviderSaveParams): Promise<SaveOutcome> {
    try {
      const provider = await this.call('providers.save', params)
      this.upsert(provider)
      return { ok: true, provider }
    } catch (error) {
      return saveFailure(error)
    }
  }

  /**
   * Saves, then waits for the restarted agent to announce its models. The agent
   * always announces (an empty list when the server could not be asked, §12),
   * so no timer is needed; a crash of the agent ends the wait too.
   */
  async saveAndTest(params: ProviderSaveParams): Promise<{ save: SaveOutcome; connection?: ConnectionOutcome }> {
    this.waiters.get(params.id)?.resolve({ ok: false, message: 'Replaced by a newer test.' })
    const announced = new Promise<ConnectionOutcome>((resolve) => {
      this.waiters.set(params.id, { registered: false, resolve })
    })
    const save = await this.save(params)
    if (!save.ok) {
      this.waiters.delete(params.id)
      return { save }
    }
    return { save, connection: await announced }
  }

  async remove(id: string): Promise<{ ok: true } | { ok: false; message: string }> {
    try {
      await this.call('providers.delete', { id })
      const state = this.state.getSnapshot()
      this.state.set({ ...state, providers: state.providers.filter((p) => p.id !== id) })
      return { ok: true }
    } catch (error) {
      return { ok: false, message: `Could not delete: ${errorMessage(error)}` }
    }
  }

  /** Every validated `agents.chat.event` of this window: tool names and status notices (tokens return at once). */
  observeChat(event: { readonly agent_id: string; readonly kind: string; readonly tool?: unknown; readonly message?: unknown }): void {
    if (event.kind !== 'tool_call' && event.kind !== 'status') return
    const all = this.mcp.getSnapshot()
    const seen = all[event.agent_id] ?? { tools: {}, notices: [] }
    let next: McpSightings = seen
    if (event.kind === 'tool_call' && typeof event.tool === 'string') {
      const dot = event.tool.indexOf('.')
      if (dot <= 0) return
      const server = event.tool.slice(0, dot)
      const tool = event.tool.slice(dot + 1)
      const known = seen.tools[server] ?? []
      if (known.includes(tool)) return
      next = { ...seen, tools: { ...seen.tools, [server]: [...known, tool].sort() } }
    } else if (event.kind === 'status' && typeof event.message === 'string') {
      next = { ...seen, notices: [...seen.notices, event.message].slice(-NOTICES_KEPT) }
    }
    if (next !== seen) this.mcp.set({ ...all, [event.agent_id]: next })
  }

  /** Every validated `host.event`: arms and ends "test connection" waits. */
  observe(event: HostEvent): void {
    const id = event.agent_id
    if (id === null) return
    // A provider saved or deleted (maybe by another window) registers or unregisters its agent.
    if ((event.kind === 'agent.registered' || event.kind === 'agent.unregistered') && this.state.getSnapshot().loaded) void this.load()
    const waiter = this.waiters.get(id)
    if (!waiter) return
    const settle = (outcome: ConnectionOutcome) => {
      this.waiters.delete(id)
      waiter.resolve(outcome)
    }
    switch (event.kind) {
      case 'agent.registered':
        waiter.registered = true
        break
      case 'agent.updated': {
        const agent = AgentInfoSchema.safeParse(event.payload)
        if (waiter.registered && agent.success) settle({ ok: true, agent: agent.data })
        break
      }
      case 'agent.status_changed': {
        const status = event.payload.status
        if (waiter.registered && (status === 'errored' || status === 'backoff' || status === 'stopped')) {
          settle({ ok: false, message: 'The provider agent stopped before it could list the models. Check the settings and try again.' })
        }
        break
      }
    }
  }

  private upsert(provider: Provider): void {
    const state = this.state.getSnapshot()
    const index = state.providers.findIndex((p) => p.id === provider.id)
    const providers = index < 0 ? [...state.providers, provider] : state.providers.map((p, i) => (i === index ? provider : p))
    this.state.set({ ...state, providers })
  }
}

/**
 * The hub names the fields of a -32602 as `'field': reason` (jsonrpc.ts
 * describeIssues, provider-service.ts); each reason goes next to its field.
 */
export function fieldErrors(message: string): Record<string, string> {
  const fields: Record<string, string> = {}
  const body = message.replace(/^invalid params:\s*/, '')
  for (const clause of body.split('; ')) {
    const named = /^'([A-Za-z_]+)(?:\.[^']*)?':\s*(.*)$/s.exec(clause)
    if (named) fields[named[1]!] ??= named[2]!
    const unknown = /^unknown keys? (.*)$/.exec(clause)
    if (unknown) for (const key of unknown[1]!.matchAll(/'([A-Za-z_]+)'/g)) fields[key[1]!] ??= 'not accepted by this hub'
  }
  return fields
}

function saveFailure(error: unknown): SaveOutcome {
  if (error instanceof RpcError && error.code === ErrorCode.InvalidParams) {
    return { ok: false, message: error.message, fields: fieldErrors(error.message) }
  }
  return { ok: false, message: `Could not save: ${errorMessage(error)}`, fields: {} }
}
