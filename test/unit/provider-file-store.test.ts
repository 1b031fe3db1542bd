import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ProviderStoreError, type SavedProvider } from '../../src/hub/provider-store.js'
import { ProviderFileStore, PROVIDERS_FILE } from '../../src/platform/node/provider-file-store.js'
import { ProviderKeyFile, PROVIDER_KEYS_FILE } from '../../src/platform/node/provider-key-file.js'

const KEY = 'sk-test-"Zq9"\\w/ü+7f3a9c1e5b'
const posix = process.platform !== 'win32'

const cloud: SavedProvider = {
  id: 'cloud',
  name: 'Cloud',
  kind: 'anthropic',
  base_url: 'https://api.anthropic.example',
  default_model: 'claude-x',
  system_prompt: 'Be brief.',
  temperature: 0.2,
  max_tokens: 1024,
}
const local: SavedProvider = { ...cloud, id: 'local', name: 'Ollama', kind: 'openai', base_url: 'http://127.0.0.1:11434/v1', system_prompt: null }

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carhost-providers-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const newStore = () => new ProviderFileStore(dir, new ProviderKeyFile(join(dir, PROVIDER_KEYS_FILE)))

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a failure')
}

describe('ProviderFileStore', () => {
  it('starts empty without files, and a new store reads back what was saved', async () => {
    expect(await newStore().loadAll()).toEqual([])
    const store = newStore()
    expect(await store.save(cloud, { action: 'set', key: KEY })).toBe(KEY)
    expect(await store.save(local, { action: 'keep' })).toBeNull()
    expect(await newStore().loadAll()).toEqual([
      { provider: cloud, apiKey: KEY },
      { provider: local, apiKey: null },
    ])
  })

  it('keeps the key out of providers.json and in a key file of mode 0600', async () => {
    await newStore().save(cloud, { action: 'set', key: KEY })
    const settings = await readFile(join(dir, PROVIDERS_FILE), 'utf8')
    expect(settings).toContain('https://api.anthropic.example')
    expect(settings).not.toContain('sk-test')
    const keyFile = join(dir, PROVIDER_KEYS_FILE)
    expect(JSON.parse(await readFile(keyFile, 'utf8'))).toEqual({ version: 1, keys: { cloud: KEY } })
    if (posix) expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
  })

  it.runIf(posix)('rewrites a key file someone opened up as mode 0600', async () => {
    const keyFile = join(dir, PROVIDER_KEYS_FILE)
    await writeFile(keyFile, JSON.stringify({ version: 1, keys: {} }), { mode: 0o644 })
    await newStore().save(cloud, { action: 'set', key: KEY })
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
  })

  it('omitted keeps the key, a new one replaces it, remove drops it', async () => {
    const store = newStore()
    await store.save(cloud, { action: 'set', key: KEY })
    expect(await store.save({ ...cloud, name: 'Renamed' }, { action: 'keep' })).toBe(KEY)
    expect(await store.save(cloud, { action: 'set', key: 'sk-second-key-0000' })).toBe('sk-second-key-0000')
    expect(await store.save(cloud, { action: 'remove' })).toBeNull()
    expect(await newStore().loadAll()).toEqual([{ provider: cloud, apiKey: null }])
    expect(JSON.parse(await readFile(join(dir, PROVIDER_KEYS_FILE), 'utf8')).keys).toEqual({})
  })

  it('replaces a provider in place and deletes one with its key', async () => {
    const store = newStore()
    await store.save(cloud, { action: 'set', key: KEY })
    await store.save(local, { action: 'keep' })
    await store.save({ ...cloud, name: 'Cloud 2' }, { action: 'keep' })
    expect((await store.loadAll()).map((e) => e.provider.name)).toEqual(['Cloud 2', 'Ollama'])
    expect(await store.delete('cloud')).toBe(true)
    expect(await store.delete('cloud')).toBe(false)
    expect(await newStore().loadAll()).toEqual([{ provider: local, apiKey: null }])
    expect(await readFile(join(dir, PROVIDER_KEYS_FILE), 'utf8')).not.toContain('sk-test')
  })

  it('a corrupt providers.json is an error naming the file, and is never overwritten', async () => {
    const file = join(dir, PROVIDERS_FILE)
    await writeFile(file, '{"version": 1, "providers": [')
    const error = await caught(newStore().loadAll())
    expect(error).toBeInstanceOf(ProviderStoreError)
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/not valid JSON.*fix or remove it/)
    expect(await caught(newStore().save(local, { action: 'keep' }))).toBeInstanceOf(ProviderStoreError)
    expect(await readFile(file, 'utf8')).toBe('{"version": 1, "providers": [')
  })

  it('a providers.json of the wrong shape names the file and the field', async () => {
    const file = join(dir, PROVIDERS_FILE)
    await writeFile(file, JSON.stringify({ version: 1, providers: [{ ...local, base_url: 'ftp://nope' }] }))
    const error = await caught(newStore().loadAll())
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/'providers\.0\.base_url': must be an http or https URL/)
    await writeFile(file, JSON.stringify({ version: 1, providers: [local, local] }))
    expect((await caught(newStore().loadAll())).message).toMatch(/lists an id twice/)
  })

  it('a corrupt key file is an error naming the file and never quoting it', async () => {
    await newStore().save(cloud, { action: 'keep' })
    const keyFile = join(dir, PROVIDER_KEYS_FILE)
    await writeFile(keyFile, `{"version":1,"keys":{"cloud":"${KEY.slice(0, 12)}`)
    const error = await caught(newStore().loadAll())
    expect(error).toBeInstanceOf(ProviderStoreError)
    expect(error.message).toContain(keyFile)
    expect(error.message).not.toContain('sk-test')
  })
})
