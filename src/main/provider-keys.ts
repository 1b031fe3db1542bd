import { join } from 'node:path'
import { dialog } from 'electron'
import type { Logger } from '../hub/logger.js'
import { SafeStorageKeyVault } from '../platform/electron/safe-storage-key-vault.js'
import { ProviderFileStore } from '../platform/node/provider-file-store.js'
import { PROVIDER_KEYS_FILE, ProviderKeyFile } from '../platform/node/provider-key-file.js'
import type { Settings } from './settings.js'

/** Provider keys sealed by safeStorage (base64 ciphertext per provider id), mode 0600 as well. */
export const SEALED_KEYS_FILE = 'provider-keys.sealed.json'

export interface AppProviderStoreOptions {
  dataDir: string
  settings: Settings
  logger: Logger
}

/**
 * The app's providers (PROTOCOL.md §12): providers.json in the user-data folder,
 * keys sealed with safeStorage. Where the system has no key store the user is
 * asked, at each save of a key, whether to keep it in the user-only file instead
 * (`provider_keys_in_file: true` in settings.json answers yes once and for all).
 */
export function appProviderStore({ dataDir, settings, logger }: AppProviderStoreOptions): ProviderFileStore {
  const vault = new SafeStorageKeyVault({
    sealed: new ProviderKeyFile(join(dataDir, SEALED_KEYS_FILE)),
    plain: new ProviderKeyFile(join(dataDir, PROVIDER_KEYS_FILE)),
    consentToPlainFile: async () => settings.provider_keys_in_file === true || askToKeepKeysInFile(join(dataDir, PROVIDER_KEYS_FILE)),
    onProblem: (message) => logger.warn(message),
  })
  return new ProviderFileStore(dataDir, vault)
}

async function askToKeepKeysInFile(file: string): Promise<boolean> {
  const { response } = await dialog.showMessageBox({
    type: 'warning',
    buttons: ['Keep the key in a private file', 'Cancel'],
    defaultId: 1,
    cancelId: 1,
    message: 'This system has no key store, so CarHost cannot encrypt the API key.',
    detail:
      `CarHost can keep it unencrypted in ${file}, readable only by your user account. ` +
      'On Linux, starting a secret service (GNOME Keyring or KWallet) lets CarHost encrypt it instead. ' +
      'To stop being asked, set "provider_keys_in_file": true in settings.json.',
  })
  return response === 0
}
