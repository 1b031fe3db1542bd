import type { KeyChange, ProviderEntry, ProviderSettingsStore, SavedProvider } from './provider-store.js'

/** Providers kept only for the hub's lifetime: tests, benchmarks, a hub without a data folder. */
export class MemoryProviderStore implements ProviderSettingsStore {
  private readonly entries = new Map<string, ProviderEntry>()

  constructor(initial: ProviderEntry[] = []) {
    for (const entry of initial) this.entries.set(entry.provider.id, { provider: { ...entry.provider }, apiKey: entry.apiKey })
  }

  async loadAll(): Promise<ProviderEntry[]> {
    return [...this.entries.values()].map((entry) => ({ provider: { ...entry.provider }, apiKey: entry.apiKey }))
  }

  async save(provider: SavedProvider, key: KeyChange): Promise<string | null> {
    const stored = this.entries.get(provider.id)?.apiKey ?? null
    const apiKey = key.action === 'keep' ? stored : key.action === 'set' ? key.key : null
    this.entries.set(provider.id, { provider: { ...provider }, apiKey })
    return apiKey
  }

  async delete(id: string): Promise<boolean> {
    return this.entries.delete(id)
  }
}
