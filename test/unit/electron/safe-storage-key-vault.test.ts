import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ProviderStoreError, type ProviderKeyVault } from '../../../src/hub/provider-store.js'
import { findKey } from '../../support/key-secrecy.js'
import { fakeSafeStorage, resetFakeSafeStorage, safeStorageState } from './fake-safe-storage.js'

vi.mock('electron', async () => ({
  ...(await import('./fake-electron.js')),
  safeStorage: (await import('./fake-safe-storage.js')).fakeSafeStorage,
}))

const { SafeStorageKeyVault } = await import('../../../src/platform/electron/safe-storage-key-vault.js')
const { ProviderFileStore } = await import('../../../src/platform/node/provider-file-store.js')

const KEY = 'sk-test-"Zq9"\\w/ü+7f3a9c1e5b'

class MemoryVault implements ProviderKeyVault {
  readonly keys = new Map<string, string>()
  async readAll() {
    return new Map(this.keys)
  }
  async put(id: string, key: string | null) {
    if (key === null) this.keys.delete(id)
    else this.keys.set(id, key)
  }
}

function setup(options: { consent?: boolean; platform?: string } = {}) {
  const sealed = new MemoryVault()
  const plain = new MemoryVault()
  const problems: string[] = []
  const consentToPlainFile = vi.fn(async () => options.consent ?? false)
  const vault = new SafeStorageKeyVault({
    sealed,
    plain,
    consentToPlainFile,
    onProblem: (message) => problems.push(message),
    platform: options.platform ?? 'linux',
  })
  return { vault, sealed, plain, problems, consentToPlainFile }
}

beforeEach(() => {
  resetFakeSafeStorage()
  vi.clearAllMocks()
})

describe('SafeStorageKeyVault', () => {
  it('seals keys with safeStorage: the stored value holds the key in no form, and reads back', async () => {
    const t = setup()
    await t.vault.put('cloud', KEY)
    expect(t.plain.keys.size).toBe(0)
    const stored = t.sealed.keys.get('cloud')!
    expect(fakeSafeStorage.decryptStringAsync).not.toHaveBeenCalled()
    expect(Buffer.from(stored, 'base64').subarray(0, 3).toString()).toBe('v11')
    expect(findKey(KEY, { other: [stored] })).toEqual([])
    expect(await t.vault.readAll()).toEqual(new Map([['cloud', KEY]]))
    expect(t.consentToPlainFile).not.toHaveBeenCalled()
  })

  it("refuses a key on Linux's basic_text backend unless the user agreed, and stores nothing", async () => {
    safeStorageState.backend = 'basic_text'
    const t = setup({ consent: false })
    const error = await t.vault.put('cloud', KEY).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ProviderStoreError)
    expect(error).toMatchObject({ field: 'api_key', reason: 'key_store_unavailable' })
    expect((error as Error).message).toMatch(/no secret service.*file readable only by you/)
    expect((error as Error).message).not.toContain('sk-test')
    expect(t.consentToPlainFile).toHaveBeenCalledTimes(1)
    expect(t.sealed.keys.size + t.plain.keys.size).toBe(0)
    expect(fakeSafeStorage.encryptStringAsync).not.toHaveBeenCalled()
  })

  it('refuses where encryption is not available at all', async () => {
    safeStorageState.available = false
    const t = setup({ consent: false, platform: 'darwin' })
    await expect(t.vault.put('cloud', KEY)).rejects.toThrow(/no key store CarHost can use/)
    expect(t.sealed.keys.size + t.plain.keys.size).toBe(0)
  })

  it('with the user’s consent keeps the key in the user-only file instead', async () => {
    safeStorageState.backend = 'basic_text'
    const t = setup({ consent: true })
    await t.vault.put('cloud', KEY)
    expect(t.plain.keys.get('cloud')).toBe(KEY)
    expect(t.sealed.keys.size).toBe(0)
    expect(await t.vault.readAll()).toEqual(new Map([['cloud', KEY]]))
  })

  it('asks nothing of the Linux backend on other platforms', async () => {
    safeStorageState.backend = 'basic_text'
    const t = setup({ platform: 'win32' })
    await t.vault.put('cloud', KEY)
    expect(t.sealed.keys.has('cloud')).toBe(true)
    expect(fakeSafeStorage.getSelectedStorageBackend).not.toHaveBeenCalled()
  })

  it('null removes the key from both places', async () => {
    const t = setup()
    await t.vault.put('cloud', KEY)
    await t.plain.put('cloud', 'old-plain-key-0000')
    await t.vault.put('cloud', null)
    expect(t.sealed.keys.size + t.plain.keys.size).toBe(0)
    expect(t.consentToPlainFile).not.toHaveBeenCalled()
  })

  it('a sealed key that cannot be read back is left out and reported by provider id only', async () => {
    const t = setup()
    await t.vault.put('cloud', KEY)
    await t.vault.put('other', 'sk-other-0123456789')
    safeStorageState.failDecrypt = true
    expect(await t.vault.readAll()).toEqual(new Map())
    expect(t.problems).toEqual([
      expect.stringMatching(/^the key of provider 'cloud' cannot be decrypted/),
      expect.stringMatching(/^the key of provider 'other' cannot be decrypted/),
    ])
    safeStorageState.failDecrypt = false
    safeStorageState.available = false
    t.problems.length = 0
    expect(await t.vault.readAll()).toEqual(new Map())
    expect(t.problems).toHaveLength(2)
    expect(findKey(KEY, { logLines: t.problems })).toEqual([])
  })

  it('re-seals a key when safeStorage says the key store rotated', async () => {
    const t = setup()
    await t.vault.put('cloud', KEY)
    safeStorageState.reEncrypt = true
    expect(await t.vault.readAll()).toEqual(new Map([['cloud', KEY]]))
    expect(fakeSafeStorage.encryptStringAsync).toHaveBeenCalledTimes(2)
  })

  it('behind the providers file: a refused key leaves providers.json unwritten', async () => {
    safeStorageState.backend = 'basic_text'
    const dir = await mkdtemp(join(tmpdir(), 'carhost-vault-'))
    try {
      const t = setup({ consent: false })
      const store = new ProviderFileStore(dir, t.vault)
      const provider = {
        id: 'cloud',
        name: 'Cloud',
        kind: 'openai' as const,
        base_url: 'https://api.example.test/v1',
        default_model: null,
        system_prompt: null,
        temperature: null,
        max_tokens: null,
      }
      await expect(store.save(provider, { action: 'set', key: KEY })).rejects.toBeInstanceOf(ProviderStoreError)
      expect(await readdir(dir)).toEqual([])
      expect(await store.save(provider, { action: 'keep' })).toBeNull()
      expect(await store.loadAll()).toEqual([{ provider, apiKey: null }])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
