import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { describeIssues } from '../../protocol/jsonrpc.js'
import {
  ProviderStoreError,
  SavedProviderSchema,
  type KeyChange,
  type ProviderEntry,
  type ProviderKeyVault,
  type ProviderSettingsStore,
  type SavedProvider,
} from '../../hub/provider-store.js'
import { PROVIDER_KEYS_FILE, ProviderKeyFile } from './provider-key-file.js'
import { writePrivateFile } from './private-file.js'

/** The providers of PROTOCOL.md §12 in the data folder; their keys are kept apart, in a `ProviderKeyVault`. */
export const PROVIDERS_FILE = 'providers.json'

const ProvidersFileSchema = z.strictObject({
  version: z.literal(1),
  providers: z.array(SavedProviderSchema).refine(
    (providers) => new Set(providers.map((p) => p.id)).size === providers.length,
    'lists an id twice',
  ),
})

/**
 * `<dataDir>/providers.json`, validated whenever read. A file that does not parse
 * is reported by name and never overwritten: the user fixes or removes it.
 */
export class ProviderFileStore implements ProviderSettingsStore {
  readonly file: string

  constructor(
    dataDir: string,
    private readonly keys: ProviderKeyVault,
  ) {
    this.file = join(dataDir, PROVIDERS_FILE)
  }

  async loadAll(): Promise<ProviderEntry[]> {
    const providers = await this.readProviders()
    const keys = providers.length === 0 ? new Map<string, string>() : await this.keys.readAll()
    return providers.map((provider) => ({ provider, apiKey: keys.get(provider.id) ?? null }))
  }

  async save(provider: SavedProvider, key: KeyChange): Promise<string | null> {
    const providers = await this.readProviders()
    // The key first: a key the vault refuses (no key store, §12) leaves the settings untouched.
    let apiKey: string | null
    if (key.action === 'keep') {
      apiKey = (await this.keys.readAll()).get(provider.id) ?? null
    } else {
      apiKey = key.action === 'set' ? key.key : null
      await this.keys.put(provider.id, apiKey)
    }
    const index = providers.findIndex((p) => p.id === provider.id)
    if (index === -1) providers.push(provider)
    else providers[index] = provider
    await this.writeProviders(providers)
    return apiKey
  }

  async delete(id: string): Promise<boolean> {
    const providers = await this.readProviders()
    const kept = providers.filter((p) => p.id !== id)
    if (kept.length !== providers.length) await this.writeProviders(kept)
    await this.keys.put(id, null)
    return kept.length !== providers.length
  }

  private async readProviders(): Promise<SavedProvider[]> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return []
      throw new ProviderStoreError(`${this.file} cannot be read (${code ?? 'unknown error'})`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      throw new ProviderStoreError(`${this.file} is not valid JSON (${(error as Error).message}); fix or remove it`)
    }
    const parsed = ProvidersFileSchema.safeParse(json)
    if (!parsed.success) throw new ProviderStoreError(`${this.file} is not a valid providers file: ${describeIssues(parsed.error)}; fix or remove it`)
    return parsed.data.providers
  }

  private async writeProviders(providers: SavedProvider[]): Promise<void> {
    await writePrivateFile(this.file, `${JSON.stringify({ version: 1, providers }, null, 2)}\n`)
  }
}

/** The headless hub's providers: providers.json, keys in `provider-keys.json` of mode 0600 (§12). */
export function headlessProviderStore(dataDir: string): ProviderFileStore {
  return new ProviderFileStore(dataDir, new ProviderKeyFile(join(dataDir, PROVIDER_KEYS_FILE)))
}
