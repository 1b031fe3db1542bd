import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { McpStatusLimits, type McpServerInfo } from '../../protocol/agent-info.js'
import { Limits } from '../../protocol/limits.js'
import { readMcpConfig, type McpServerConfig } from './mcp-config.js'
import type { ToolSpec } from './model-client.js'

/**
 * The MCP servers of `mcp.json` (§12), started over stdio as this agent's
 * children. A server that fails to start or stops is reported once (the next
 * turn's `status`) and in `agent.tools`; the others keep working.
 */
const CLIENT_INFO = { name: 'carhost-provider', version: '1' }
/** A tool call may wait on slow work; progress notifications restart this. */
const TOOL_CALL_TIMEOUT_MS = 10 * 60_000
/** The API's limit on tool names (§12: `^[a-zA-Z0-9_-]{1,64}$`). */
const TOOL_NAME_MAX = 64
const REASON_MAX_CHARS = 300

/** One tool as the turn offers it: the model's name for it and where it runs. */
export interface ToolTarget {
  /** `SERVER.TOOL`, as events name it. */
  eventName: string
  autoApprove: boolean
  server: McpServerConnection
  tool: string
}

/** The tools of one turn, named for the model. */
export interface Toolset {
  specs: ToolSpec[]
  resolve(modelName: string): ToolTarget | undefined
}

export interface ToolOutput {
  ok: boolean
  content: string
}

type ServerState = 'starting' | 'ready' | 'failed' | 'stopped'

/** The MCP client, loaded only when `mcp.json` lists servers: it is most of the agent's start-up time. */
async function loadMcpSdk() {
  const [{ Client }, { StdioClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
  ])
  return { Client, StdioClientTransport }
}
type McpSdk = Awaited<ReturnType<typeof loadMcpSdk>>

class McpServerConnection {
  state: ServerState = 'starting'
  tools: ToolSpec[] = []
  /** Why it did not start, for `agent.tools`. */
  error: string | undefined
  private readonly transport: StdioClientTransport
  readonly client: Client

  constructor(
    sdk: McpSdk,
    readonly name: string,
    readonly config: McpServerConfig,
    private readonly report: (problem: string) => void,
    private readonly stopped: () => void,
  ) {
    this.client = new sdk.Client(CLIENT_INFO, { capabilities: {} })
    // §12: only the environment mcp.json gives (the SDK adds its short list of safe
    // variables such as PATH and HOME); the agent's own, with the API key, never.
    this.transport = new sdk.StdioClientTransport({ command: config.command, args: config.args ?? [], env: config.env ?? {}, stderr: 'inherit' })
    this.client.onclose = () => {
      if (this.state !== 'ready') return
      this.state = 'stopped'
      this.report(`The MCP server '${name}' stopped; its tools are not offered until the provider restarts.`)
      this.stopped()
    }
  }

  get pid(): number | null {
    return this.transport.pid
  }

  async start(timeoutMs: number): Promise<void> {
    try {
      await this.client.connect(this.transport, { timeout: timeoutMs })
      const tools: ToolSpec[] = []
      let cursor: string | undefined
      do {
        const page = await this.client.listTools(cursor === undefined ? {} : { cursor }, { timeout: timeoutMs })
        for (const tool of page.tools) {
          tools.push(tool.description === undefined ? { name: tool.name, inputSchema: tool.inputSchema } : { name: tool.name, description: tool.description, inputSchema: tool.inputSchema })
        }
        cursor = page.nextCursor
      } while (cursor !== undefined)
      if (this.state !== 'starting') return
      this.tools = tools
      this.state = 'ready'
    } catch (error) {
      this.state = 'failed'
      this.error = reason(error)
      this.report(`The MCP server '${this.name}' did not start (${this.error}); its tools are not offered, the other servers' tools are.`)
      void this.transport.close().catch(() => {})
    }
  }

  async call(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutput> {
    if (this.state !== 'ready') return { ok: false, content: `The MCP server '${this.name}' is not running.` }
    try {
      const result = await this.client.callTool({ name: tool, arguments: args }, undefined, {
        signal,
        timeout: TOOL_CALL_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
      })
      return { ok: result.isError !== true, content: resultText(result) }
    } catch (error) {
      if (signal.aborted) throw signal.reason
      return { ok: false, content: `The tool could not run: ${reason(error)}` }
    }
  }

  /** Sync, for the process's `exit`: the servers must not outlive the agent (§6). */
  kill(): void {
    const pid = this.transport.pid
    if (pid === null) return
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // Already gone.
    }
  }
}

export class McpToolbox {
  private readonly servers: McpServerConnection[] = []
  private readonly problems: string[] = []
  private readonly started: Promise<void>
  /** Every server has started or failed, and `announce` has had the first list. */
  private announced = false

  /** `announce` gets the servers (see `status`) once every one has started or failed, and again whenever one stops. */
  constructor(
    dataDir: string | null,
    startTimeoutMs: number,
    private readonly announce: (servers: McpServerInfo[]) => void,
  ) {
    this.started = this.start(dataDir, startTimeoutMs)
  }

  private async start(dataDir: string | null, startTimeoutMs: number): Promise<void> {
    const config = await readMcpConfig(dataDir)
    if (config.problem) this.problems.push(config.problem)
    if (config.servers.length > 0) {
      const sdk = await loadMcpSdk()
      for (const [name, server] of config.servers) {
        const stopped = () => {
          if (this.announced) this.announce(this.status())
        }
        this.servers.push(new McpServerConnection(sdk, name, server, (problem) => this.problems.push(problem), stopped))
      }
      await Promise.all(this.servers.map((server) => server.start(startTimeoutMs)))
    }
    this.announced = true
    this.announce(this.status())
  }

  /**
   * The servers as `agent.tools` names them, within its bounds: name, state,
   * the tools offered while ready, why it failed. Never the command or the env.
   */
  status(): McpServerInfo[] {
    let budget = McpStatusLimits.tools
    return this.servers.slice(0, McpStatusLimits.servers).map((server) => {
      const offered = server.state === 'ready' ? server.tools.filter((tool) => tool.name !== '').slice(0, budget) : []
      budget -= offered.length
      const tools = offered.map((tool) =>
        tool.description === undefined
          ? { name: clip(tool.name, McpStatusLimits.nameMaxChars) }
          : { name: clip(tool.name, McpStatusLimits.nameMaxChars), description: clip(tool.description, McpStatusLimits.textMaxChars) },
      )
      const info: McpServerInfo = { name: clip(server.name, McpStatusLimits.nameMaxChars), state: server.state, tools }
      if (server.error !== undefined) info.error = clip(server.error, McpStatusLimits.textMaxChars)
      return info
    })
  }

  /** Waits for every server to have started or failed. */
  whenStarted(): Promise<void> {
    return this.started
  }

  /** Problems not reported yet, each handed out once. */
  takeProblems(): string[] {
    return this.problems.splice(0)
  }

  /** The tools of the servers running now, with names the API accepts and unique. */
  toolset(): Toolset {
    const specs: ToolSpec[] = []
    const targets = new Map<string, ToolTarget>()
    for (const server of this.servers) {
      if (server.state !== 'ready') continue
      const autoApprove = new Set(server.config.autoApprove ?? [])
      for (const tool of server.tools) {
        const name = uniqueToolName(`${server.name}__${tool.name}`, targets)
        targets.set(name, {
          eventName: `${server.name}.${tool.name}`.slice(0, Limits.eventIdMaxChars),
          autoApprove: autoApprove.has(tool.name),
          server,
          tool: tool.name,
        })
        specs.push({ ...tool, name })
      }
    }
    return { specs, resolve: (modelName) => targets.get(modelName) }
  }

  /** Runs a tool; a failure is an outcome for the model, not an error of the turn. Rejects only when `signal` aborts. */
  call(target: ToolTarget, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutput> {
    return target.server.call(target.tool, args, signal)
  }

  killAll(): void {
    for (const server of this.servers) server.kill()
  }
}

/** §12: `SERVER__TOOL` as the APIs accept it (`^[a-zA-Z0-9_-]{1,64}$`), unique among `taken`. */
export function uniqueToolName(wanted: string, taken: ReadonlyMap<string, unknown>): string {
  const base = wanted.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, TOOL_NAME_MAX)
  let name = base
  for (let n = 2; taken.has(name); n++) {
    const suffix = `_${n}`
    name = base.slice(0, TOOL_NAME_MAX - suffix.length) + suffix
  }
  return name
}

type CallToolResult = Awaited<ReturnType<Client['callTool']>>

/** What the model is told a tool returned: its text, with other content named. */
function resultText(result: CallToolResult): string {
  const parts: string[] = []
  const content = Array.isArray(result.content) ? result.content : []
  for (const item of content) {
    switch (item.type) {
      case 'text':
        parts.push(item.text)
        break
      case 'image':
      case 'audio':
        parts.push(`[${item.type} ${item.mimeType}]`)
        break
      case 'resource':
        parts.push('text' in item.resource && typeof item.resource.text === 'string' ? item.resource.text : `[resource ${item.resource.uri}]`)
        break
      case 'resource_link':
        parts.push(`[resource ${item.uri}]`)
        break
    }
  }
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent))
  return parts.join('\n')
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.length > REASON_MAX_CHARS ? `${text.slice(0, REASON_MAX_CHARS)}…` : text
}
