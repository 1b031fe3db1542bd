import { z } from 'zod'
import { ProviderKindSchema } from '../../protocol/providers.js'

/**
 * How the hub hands a provider agent its settings (PROTOCOL.md §12): everything
 * but the key as one JSON object in `CARHOST_PROVIDER`, the key alone in
 * `CARHOST_PROVIDER_API_KEY`, the data folder (for `mcp.json`) in `CARHOST_DATA_DIR`.
 */
export const ProviderEnv = {
  settings: 'CARHOST_PROVIDER',
  apiKey: 'CARHOST_PROVIDER_API_KEY',
  dataDir: 'CARHOST_DATA_DIR',
  /**
   * Optional: ms the server may stay silent, before its answer starts and between two events
   * (default 300000: a local server may load a large model before its first token).
   */
  timeoutMs: 'CARHOST_PROVIDER_TIMEOUT_MS',
  /** Optional: ms an MCP server has to start and list its tools (default 30000). */
  mcpStartTimeoutMs: 'CARHOST_MCP_START_TIMEOUT_MS',
} as const

/** A `Provider` (§12) as its agent needs it: no id or name, no key. */
export const ProviderSettingsSchema = z.object({
  kind: ProviderKindSchema,
  base_url: z.url({ protocol: /^https?$/ }),
  default_model: z.string().min(1).nullable().optional(),
  system_prompt: z.string().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
})
export type ProviderSettings = z.infer<typeof ProviderSettingsSchema>

export interface ProviderConfig {
  settings: ProviderSettings
  /** Never logged, never in an event or error (§12). */
  apiKey: string | null
  dataDir: string | null
  timeoutMs: number
  mcpStartTimeoutMs: number
}

/** The environment that starts a provider agent for `settings`, for the hub to merge into the agent's env. */
export function providerAgentEnv(settings: ProviderSettings, apiKey: string | null, dataDir: string | null): Record<string, string> {
  const env: Record<string, string> = { [ProviderEnv.settings]: JSON.stringify(ProviderSettingsSchema.parse(settings)) }
  if (apiKey) env[ProviderEnv.apiKey] = apiKey
  if (dataDir) env[ProviderEnv.dataDir] = dataDir
  return env
}

export type ConfigResult = { ok: true; config: ProviderConfig } | { ok: false; error: string }

/** Reads the agent's settings; the message of a failure names the variable and field, never the key. */
export function readProviderConfig(env: NodeJS.ProcessEnv): ConfigResult {
  const raw = env[ProviderEnv.settings]
  if (raw === undefined || raw.trim() === '') return { ok: false, error: `${ProviderEnv.settings} is not set` }
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return { ok: false, error: `${ProviderEnv.settings} is not JSON` }
  }
  const parsed = ProviderSettingsSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    return { ok: false, error: `${ProviderEnv.settings}.${issue.path.join('.') || '(root)'}: ${issue.message}` }
  }
  const apiKey = env[ProviderEnv.apiKey]
  return {
    ok: true,
    config: {
      settings: parsed.data,
      apiKey: apiKey === undefined || apiKey === '' ? null : apiKey,
      dataDir: env[ProviderEnv.dataDir] || null,
      timeoutMs: positiveMs(env[ProviderEnv.timeoutMs], 300_000),
      mcpStartTimeoutMs: positiveMs(env[ProviderEnv.mcpStartTimeoutMs], 30_000),
    },
  }
}

function positiveMs(raw: string | undefined, fallback: number): number {
  const value = raw === undefined ? NaN : Number(raw)
  return Number.isFinite(value) && value > 0 ? value : fallback
}
