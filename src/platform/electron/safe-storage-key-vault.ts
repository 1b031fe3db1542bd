import { safeStorage } from 'electron'
import { ProviderStoreError, type ProviderKeyVault } from '../../hub/provider-store.js'

export interface SafeStorageKeyVaultOptions {
  /** Where the sealed keys (base64 of safeStorage's ciphertext) are kept. */
  sealed: ProviderKeyVault
  /** The user-only file (mode 0600) for keys in the clear: used only with the user's consent. */
  plain: ProviderKeyVault
  /**
   * Asked only when a key is saved and the system has no key store: may CarHost keep
   * it in the user-only file? The app answers from its settings, else asks the user.
   */
  consentToPlainFile(): Promise<boolean>
  /** A key that cannot be read back (e.g. the keyring changed); the message names the provider only. */
  onProblem?(message: string): void
  platform?: string
}

/** Why keys cannot be sealed here, in words for the user; null when they can. */
export type KeyStoreProblem = string | null

/**
 * The app's provider keys (PROTOCOL.md §12): encrypted with Electron's safeStorage,
 * i.e. the operating system's key store. Where there is none (Linux without a
 * secret service, where safeStorage falls back to `basic_text`, a hard-coded
 * password), a key is kept only in the user-only file and only once the user
 * agreed to that; otherwise saving it is refused with a message saying so.
 */
export class SafeStorageKeyVault implements ProviderKeyVault {
  private readonly platform: string

  constructor(private readonly options: SafeStorageKeyVaultOptions) {
    this.platform = options.platform ?? process.platform
  }

  /** Whether safeStorage protects keys on this system (after the app is ready). */
  async keyStoreProblem(): Promise<KeyStoreProblem> {
    if (!(await safeStorage.isAsyncEncryptionAvailable())) return 'this system has no key store CarHost can use'
    if (this.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      return 'no secret service (such as GNOME Keyring or KWallet) is running, so the key could not be encrypted'
    }
    return null
  }

  async readAll(): Promise<Map<string, string>> {
    const keys = await this.options.plain.readAll()
    const sealed = await this.options.sealed.readAll()
    if (sealed.size === 0) return keys
    const problem = await this.keyStoreProblem()
    for (const [id, data] of sealed) {
      if (problem !== null) {
        this.options.onProblem?.(`the key of provider '${id}' cannot be read: ${problem}; enter it again`)
        continue
      }
      try {
        const { result, shouldReEncrypt } = await safeStorage.decryptStringAsync(Buffer.from(data, 'base64'))
        keys.set(id, result)
        if (shouldReEncrypt) await this.seal(id, result)
      } catch {
        this.options.onProblem?.(`the key of provider '${id}' cannot be decrypted (the key store changed?); enter it again`)
      }
    }
    return keys
  }

  async put(id: string, key: string | null): Promise<void> {
    if (key === null) {
      await this.options.sealed.put(id, null)
      await this.options.plain.put(id, null)
      return
    }
    const problem = await this.keyStoreProblem()
    if (problem === null) {
      await this.seal(id, key)
      await this.options.plain.put(id, null)
      return
    }
    if (!(await this.options.consentToPlainFile())) {
      throw new ProviderStoreError(
        `${problem}. Save the provider without a key, or allow CarHost to keep keys in a file readable only by you`,
        'api_key',
        'key_store_unavailable',
      )
    }
    await this.options.plain.put(id, key)
    await this.options.sealed.put(id, null)
  }

  private async seal(id: string, key: string): Promise<void> {
    const sealed = await safeStorage.encryptStringAsync(key)
    await this.options.sealed.put(id, sealed.toString('base64'))
  }
}
