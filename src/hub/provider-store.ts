import { z } from 'zod'
import { ProviderSaveParamsSchema } from '../protocol/providers.js'

/** A provider as kept in the data folder (PROTOCOL.md §12): every setting, never the key. */
export const SavedProviderSchema = ProviderSaveParamsSchema.omit({ api_key: true }).required()
export type SavedProvider = z.infer<typeof SavedProviderSchema>

/** One saved provider and its key, as a store gives them back at start. */
export interface ProviderEntry {
  provider: SavedProvider
  /** Never logged, never sent to a host (§12). */
  apiKey: string | null
}

/** What `providers.save` does to the stored key: `api_key` omitted keeps it, `null` removes it (§12). */
export type KeyChange = { action: 'keep' } | { action: 'set'; key: string } | { action: 'remove' }

export function keyChangeOf(apiKey: string | null | undefined): KeyChange {
  if (apiKey === undefined) return { action: 'keep' }
  if (apiKey === null) return { action: 'remove' }
  return { action: 'set', key: apiKey }
}

/**
 * Where providers live between runs: a file in the data folder, keys kept apart
 * (a mode-0600 file headless, Electron's safeStorage in the app).
 */
export interface ProviderSettingsStore {
  /** Every saved provider with its key; throws a `ProviderStoreError` naming the file that cannot be read. */
  loadAll(): Promise<ProviderEntry[]>
  /** Creates or replaces one provider and applies the key change; resolves with the key it has now. */
  save(provider: SavedProvider, key: KeyChange): Promise<string | null>
  /** Removes a provider and its key; false when none was saved under `id`. */
  delete(id: string): Promise<boolean>
}

/** Keeps API keys by provider id; the store's secret half. */
export interface ProviderKeyVault {
  readAll(): Promise<Map<string, string>>
  /** Stores the key of one provider, or removes it (`null`). */
  put(id: string, key: string | null): Promise<void>
}

/**
 * A store failure whose message a person can act on. Its message names files and
 * fields only, never a key or a file's contents. `field` set: the params are the
 * problem (`-32602` naming it), e.g. a key this system cannot keep safely.
 */
export class ProviderStoreError extends Error {
  constructor(
    message: string,
    readonly field: 'api_key' | null = null,
    readonly reason: string | null = null,
  ) {
    super(message)
    this.name = 'ProviderStoreError'
  }
}
