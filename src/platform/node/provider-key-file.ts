import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ProviderStoreError, type ProviderKeyVault } from '../../hub/provider-store.js'
import { writePrivateFile } from './private-file.js'

/** Headless keys (PROTOCOL.md §12): where no key store exists, a file readable only by the user. */
export const PROVIDER_KEYS_FILE = 'provider-keys.json'

const KeyFileSchema = z.strictObject({
  version: z.literal(1),
  keys: z.record(z.string(), z.string().min(1)),
})

/**
 * API keys by provider id in one JSON file of mode 0600, rewritten atomically.
 * Error messages name the file, never its contents: it holds the keys.
 */
export class ProviderKeyFile implements ProviderKeyVault {
  constructor(readonly file: string) {}

  async readAll(): Promise<Map<string, string>> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return new Map()
      throw new ProviderStoreError(`${this.file} cannot be read (${code ?? 'unknown error'})`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      // JSON.parse's message quotes the text, which would be a key.
      json = undefined
    }
    const parsed = KeyFileSchema.safeParse(json)
    if (!parsed.success) {
      throw new ProviderStoreError(`${this.file} is not a valid key file; remove it and enter the providers' keys again`)
    }
    return new Map(Object.entries(parsed.data.keys))
  }

  async put(id: string, key: string | null): Promise<void> {
    const keys = await this.readAll()
    if (key === null) {
      if (!keys.delete(id)) return
    } else {
      keys.set(id, key)
    }
    await writePrivateFile(this.file, `${JSON.stringify({ version: 1, keys: Object.fromEntries(keys) }, null, 2)}\n`)
  }
}
