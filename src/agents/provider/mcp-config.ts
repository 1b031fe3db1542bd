import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'

/** `mcp.json` in the data folder, in Claude Desktop's format (§12). Other keys are left alone. */
export const McpServerConfigSchema = z.looseObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  autoApprove: z.array(z.string()).optional(),
})
export type McpServerConfig = z.infer<typeof McpServerConfigSchema>

export const McpConfigSchema = z.looseObject({
  mcpServers: z.record(z.string().min(1), McpServerConfigSchema).optional(),
})

export const MCP_CONFIG_FILE = 'mcp.json'

export type McpConfigResult = { servers: Array<[name: string, config: McpServerConfig]>; problem: string | null }

/** The servers of `mcp.json`; none (and no problem) when the file does not exist. */
export async function readMcpConfig(dataDir: string | null): Promise<McpConfigResult> {
  if (dataDir === null) return { servers: [], problem: null }
  const path = join(dataDir, MCP_CONFIG_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { servers: [], problem: null }
    return { servers: [], problem: `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}), so no MCP tools are offered` }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { servers: [], problem: `${path} is not valid JSON, so no MCP tools are offered` }
  }
  const parsed = McpConfigSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    return { servers: [], problem: `${path}: ${issue.path.join('.') || '(root)'} ${issue.message}, so no MCP tools are offered` }
  }
  return { servers: Object.entries(parsed.data.mcpServers ?? {}), problem: null }
}
