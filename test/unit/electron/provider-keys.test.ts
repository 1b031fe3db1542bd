import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../../src/hub/logger.js'
import type { SavedProvider } from '../../../src/hub/provider-store.js'
import { findKey } from '../../support/key-secrecy.js'
import { resetFakeSafeStorage, safeStorageState } from './fake-safe-storage.js'

vi.mock('electron', async () => ({
  ...(await import('./fake-electron.js')),
  safeStorage: (await import('./fake-safe-storage.js')).fakeSafeStorage,
}))

const { dialog } = await import('./fake-electron.js')
const { appProviderStore, SEALED_KEYS_FILE } = await import('../../../src/main/provider-keys.js')
const { PROVIDER_KEYS_FILE } = await import('../../../src/platform/node/provider-key-file.js')

const KEY = 'sk-test-"Zq9"\\w/ü+7f3a9c1e5b'
const posix = process.platform !== 'win32'
const provider: SavedProvider = {
  id: 'cloud',
  name: 'Cloud',
  kind: 'openai',
  base_url: 'https://api.example.test/v1',
  default_model: null,
  system_prompt: null,
  temperature: null,
  max_tokens: null,
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carhost-app-keys-'))
  resetFakeSafeStorage()
  vi.clearAllMocks()
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const store = (settings = {}) => appProviderStore({ dataDir: dir, settings, logger: silentLogger })

describe('the app’s provider store', () => {
  it('seals keys with safeStorage into a 0600 file that holds the key in no form', async () => {
    await store().save(provider, { action: 'set', key: KEY })
    const sealed = await readFile(join(dir, SEALED_KEYS_FILE), 'utf8')
    expect(findKey(KEY, { other: [sealed, await readFile(join(dir, 'providers.json'), 'utf8')] })).toEqual([])
    if (posix) expect((await stat(join(dir, SEALED_KEYS_FILE))).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).not.toContain(PROVIDER_KEYS_FILE)
    expect(await store().loadAll()).toEqual([{ provider, apiKey: KEY }])
    expect(dialog.showMessageBox).not.toHaveBeenCalled()
  })

  it('without a key store asks the user, and Cancel refuses the key', async () => {
    safeStorageState.available = false
    dialog.showMessageBox.mockResolvedValueOnce({ response: 1 })
    await expect(store().save(provider, { action: 'set', key: KEY })).rejects.toMatchObject({ field: 'api_key', reason: 'key_store_unavailable' })
    expect(dialog.showMessageBox).toHaveBeenCalledTimes(1)
    expect(await readdir(dir)).toEqual([])
  })

  it('without a key store keeps the key in the user-only file once the user agrees', async () => {
    safeStorageState.available = false
    dialog.showMessageBox.mockResolvedValueOnce({ response: 0 })
    await store().save(provider, { action: 'set', key: KEY })
    const file = join(dir, PROVIDER_KEYS_FILE)
    if (posix) expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await store().loadAll()).toEqual([{ provider, apiKey: KEY }])
  })

  it('settings.json "provider_keys_in_file": true answers without asking', async () => {
    safeStorageState.available = false
    await store({ provider_keys_in_file: true }).save(provider, { action: 'set', key: KEY })
    expect(dialog.showMessageBox).not.toHaveBeenCalled()
    expect(JSON.parse(await readFile(join(dir, PROVIDER_KEYS_FILE), 'utf8')).keys).toEqual({ cloud: KEY })
  })
})
