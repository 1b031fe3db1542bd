import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { describeIssues } from '../protocol/jsonrpc.js'

export const SETTINGS_FILE = 'settings.json'

/** `<userData>/settings.json`. Every field is optional; unknown keys are refused so typos show. */
export const SettingsSchema = z.strictObject({
  /** Also open the loopback WebSocket endpoint, so the `carhost` CLI reaches the app. */
  listen: z.boolean().optional(),
  /** Port of that endpoint; 0 (default) picks a free one. Always bound to 127.0.0.1. */
  listen_port: z.number().int().min(0).max(65535).optional(),
  /** An agent manifest (PROTOCOL.md §10) whose agents run next to the built-in ones. */
  agents_manifest: z.string().min(1).max(4096).optional(),
  /** Where the system has no key store (§12): keep provider keys in a user-only file without asking each time. */
  provider_keys_in_file: z.boolean().optional(),
})
export type Settings = z.infer<typeof SettingsSchema>

export interface SettingsResult {
  settings: Settings
  /** Why the file was not used (it is then ignored as a whole), or null. */
  problem: string | null
}

export async function loadSettings(dataDir: string): Promise<SettingsResult> {
  const file = join(dataDir, SETTINGS_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { settings: {}, problem: null }
    return { settings: {}, problem: `${file} cannot be read: ${String(error)}` }
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    return { settings: {}, problem: `${file} is not valid JSON: ${(error as Error).message}` }
  }
  const parsed = SettingsSchema.safeParse(raw)
  if (!parsed.success) return { settings: {}, problem: `${file}: ${describeIssues(parsed.error)}` }
  return { settings: parsed.data, problem: null }
}

export interface MainOptions {
  listen: boolean
  listenPort: number
  /** Absolute or data-dir-relative path of an agent manifest, if any. */
  agentsManifest: string | undefined
}

/**
 * Command line over settings: `--listen`, `--listen-port=N` (or `--listen-port N`),
 * `--agents=FILE` (or `--agents FILE`). Chromium's own switches are ignored.
 */
export function resolveMainOptions(argv: readonly string[], settings: Settings): MainOptions {
  const flag = (name: string): string | undefined => {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3)
      if (arg === `--${name}` && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) return argv[i + 1]
    }
    return undefined
  }
  const portFlag = flag('listen-port')
  const port = portFlag === undefined ? NaN : Number(portFlag)
  return {
    listen: argv.includes('--listen') || settings.listen === true,
    listenPort: Number.isInteger(port) && port >= 0 && port <= 65535 ? port : (settings.listen_port ?? 0),
    agentsManifest: flag('agents') ?? settings.agents_manifest,
  }
}
