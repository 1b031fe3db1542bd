import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MemoryProviderStore } from '../../src/hub/memory-provider-store.js'
import { ProviderService, supervisorAgentRegistry, type ProviderAgentSettings } from '../../src/hub/provider-service.js'
import { ProviderStoreError, type KeyChange, type ProviderEntry, type ProviderSettingsStore, type SavedProvider } from '../../src/hub/provider-store.js'
import { ErrorCode } from '../../src/protocol/errors.js'
import { describeIssues } from '../../src/protocol/jsonrpc.js'
import { ProviderMethods, type ProviderSaveParams } from '../../src/protocol/providers.js'
import { headlessProviderStore } from '../../src/platform/node/provider-file-store.js'
import { scriptedAgent, settle, type AgentBehaviour } from '../support/fake-launcher.js'
import { rpcError, startHub } from '../support/hub-fixture.js'
import { assertKeyNowhere, recordingLogger } from '../support/key-secrecy.js'
import { agentSpec } from '../support/spec.js'

const KEY = 'sk-test-"Zq9"\\w/ü+7f3a9c1e5b'
const OTHER_KEY = 'sk-other-0123456789abcdef'
const MODULE = '/built/provider-agent.js'

/** Stands in for the provider agent's launch contract (src/agents/provider/settings.ts `providerAgentEnv`). */
function agentEnv(settings: ProviderAgentSettings, apiKey: string | null): Record<string, string> {
  if (settings.base_url.includes('refused.test')) throw new Error('CARHOST_PROVIDER.base_url: Invalid URL')
  return { CARHOST_PROVIDER: JSON.stringify(settings), ...(apiKey === null ? {} : { CARHOST_PROVIDER_API_KEY: apiKey }) }
}

const cloud: ProviderSaveParams = { id: 'cloud', name: 'Cloud', kind: 'openai', base_url: 'https://api.example.test/v1', api_key: KEY }
const local: ProviderSaveParams = { id: 'local', name: 'Ollama', kind: 'openai', base_url: 'http://127.0.0.1:11434/v1' }

function saved(params: ProviderSaveParams): SavedProvider {
  const { api_key: _key, ...rest } = params
  return { default_model: null, system_prompt: null, temperature: null, max_tokens: null, ...rest }
}

/** A provider agent as the hub sees one: it says it is ready (its spec has `ready_signal`, §6), then takes chats. */
const providerAgent: AgentBehaviour = (agent) => {
  scriptedAgent()(agent)
  agent.send({ jsonrpc: '2.0', method: 'agent.ready', params: {} })
}

async function setup(options: { store?: ProviderSettingsStore; restore?: boolean } = {}) {
  const { logger, lines } = recordingLogger()
  const t = await startHub(
    [agentSpec('echo'), agentSpec('from-manifest')],
    { echo: scriptedAgent(), 'from-manifest': scriptedAgent(), cloud: providerAgent, local: providerAgent },
    { logger },
  )
  const store = options.store ?? new MemoryProviderStore()
  const service = new ProviderService({ store, agents: supervisorAgentRegistry(t.hub.supervisor), agentModule: MODULE, agentEnv, logger })
  const problems = options.restore === false ? [] : await service.restore()
  const host = t.connect()
  await host.client.call('host.subscribe')
  return { ...t, service, store, host, lines, problems }
}

class FailingStore extends MemoryProviderStore {
  failLoad: Error | null = null
  failSave: Error | null = null
  override async loadAll(): Promise<ProviderEntry[]> {
    if (this.failLoad) throw this.failLoad
    return super.loadAll()
  }
  override async save(provider: SavedProvider, key: KeyChange): Promise<string | null> {
    if (this.failSave) throw this.failSave
    return super.save(provider, key)
  }
}

describe('providers.save', () => {
  it('creates a provider: its agent is registered and running, and the host sees has_api_key only', async () => {
    const t = await setup()
    const provider = await t.service.save(cloud)
    expect(provider).toEqual({ ...saved(cloud), has_api_key: true })
    expect(provider).not.toHaveProperty('api_key')
    expect(t.service.list()).toEqual({ providers: [provider] })

    const agent = (await t.host.client.call('agents.list')).agents.find((a) => a.id === 'cloud')
    expect(agent).toMatchObject({ name: 'Cloud', status: 'running' })
    await settle()
    expect(t.host.hostEvents.filter((e) => e.agent_id === 'cloud').map((e) => e.kind)).toContain('agent.registered')

    const process = t.launcher.latest('cloud')
    expect(process.spec.module).toBe(MODULE)
    expect(t.hub.supervisor.get('cloud')?.spec.ready_signal).toBe(true)
    expect(process.spec.env.CARHOST_PROVIDER_API_KEY).toBe(KEY)
    expect(JSON.parse(process.spec.env.CARHOST_PROVIDER!)).toEqual({
      kind: 'openai',
      base_url: 'https://api.example.test/v1',
      default_model: null,
      system_prompt: null,
      temperature: null,
      max_tokens: null,
    })
  })

  it('refuses the id of a built-in or manifest agent with -32602 naming id, and changes nothing', async () => {
    const t = await setup()
    for (const id of ['echo', 'from-manifest']) {
      const error = await rpcError(t.service.save({ ...cloud, id }))
      expect(error.code).toBe(ErrorCode.InvalidParams)
      expect(error.message).toMatch(/'id'/)
    }
    expect(await t.store.loadAll()).toEqual([])
    expect(t.launcher.launched.filter((p) => p.spec.module === MODULE)).toEqual([])
    expect(t.hub.supervisor.get('echo')?.spec.module).toBe('/fake/echo.js')
  })

  it('replaces a provider: its sessions end with agent_exited and the agent restarts with the new settings', async () => {
    const t = await setup()
    await t.service.save(cloud)
    const first = t.launcher.latest('cloud')
    await t.host.client.call('agents.chat', { agent_id: 'cloud', prompt: 'hi', session_id: 's1' })

    const replaced = await t.service.save({ ...cloud, name: 'Cloud 2', api_key: undefined, default_model: 'gpt-x', temperature: 0.5 })
    await settle()
    expect(t.host.terminalsOf('s1')).toEqual([expect.objectContaining({ kind: 'error', code: 'agent_exited' })])
    expect(first.alive).toBe(false)
    const second = t.launcher.latest('cloud')
    expect(second).not.toBe(first)
    expect(JSON.parse(second.spec.env.CARHOST_PROVIDER!)).toMatchObject({ default_model: 'gpt-x', temperature: 0.5 })
    // api_key omitted keeps the stored key.
    expect(replaced.has_api_key).toBe(true)
    expect(second.spec.env.CARHOST_PROVIDER_API_KEY).toBe(KEY)
    expect((await t.host.client.call('agents.list')).agents.find((a) => a.id === 'cloud')).toMatchObject({ name: 'Cloud 2', status: 'running' })
    expect(t.service.list().providers).toEqual([replaced])
  })

  it('sets a new key, and null removes the stored key', async () => {
    const t = await setup()
    await t.service.save(cloud)
    await t.service.save({ ...cloud, api_key: OTHER_KEY })
    expect(t.launcher.latest('cloud').spec.env.CARHOST_PROVIDER_API_KEY).toBe(OTHER_KEY)
    const removed = await t.service.save({ ...cloud, api_key: null })
    expect(removed.has_api_key).toBe(false)
    expect(t.launcher.latest('cloud').spec.env).not.toHaveProperty('CARHOST_PROVIDER_API_KEY')
    expect((await t.store.loadAll())[0]!.apiKey).toBeNull()
  })

  it('a key the store refuses (no key store) is -32602 naming api_key, and nothing starts', async () => {
    const store = new FailingStore()
    const t = await setup({ store })
    store.failSave = new ProviderStoreError('no secret service is running', 'api_key', 'key_store_unavailable')
    const error = await rpcError(t.service.save(cloud))
    expect(error).toMatchObject({ code: ErrorCode.InvalidParams, data: { reason: 'key_store_unavailable' } })
    expect(error.message).toBe("invalid params: 'api_key': no secret service is running")
    expect(t.hub.supervisor.get('cloud')).toBeUndefined()
    expect(t.service.list().providers).toEqual([])
  })

  it('settings the provider agent refuses are -32602, before anything is stored or stopped', async () => {
    const t = await setup()
    await t.service.save(cloud)
    const running = t.launcher.latest('cloud')
    const error = await rpcError(t.service.save({ ...cloud, base_url: 'http://refused.test/v1' }))
    expect(error).toMatchObject({ code: ErrorCode.InvalidParams, message: expect.stringMatching(/base_url: Invalid URL/) })
    expect(running.alive).toBe(true)
    expect((await t.store.loadAll())[0]!.provider.base_url).toBe(cloud.base_url)
  })

  it('runs one operation at a time: a delete sent right after a save deletes what the save made', async () => {
    const t = await setup()
    const [saved, deleted] = await Promise.all([t.service.save(cloud), t.service.delete('cloud')])
    expect(saved.id).toBe('cloud')
    expect(deleted).toEqual({ deleted: true })
    expect(t.hub.supervisor.get('cloud')).toBeUndefined()
    expect(await t.store.loadAll()).toEqual([])
  })

  it('a store that fails otherwise is -32603 with its code only', async () => {
    const store = new FailingStore()
    const t = await setup({ store })
    store.failSave = Object.assign(new Error(`EACCES: permission denied, open '/data/${KEY}'`), { code: 'EACCES' })
    const error = await rpcError(t.service.save(cloud))
    expect(error.code).toBe(ErrorCode.InternalError)
    expect(error.message).toBe("provider 'cloud' could not be saved (EACCES)")
  })

  it('host params are checked by ProviderMethods: -32602 names the field', () => {
    const problem = (params: unknown) => {
      const parsed = ProviderMethods['providers.save'].params.safeParse(params)
      return parsed.success ? null : describeIssues(parsed.error)
    }
    expect(problem({ ...local, id: 'bad id' })).toMatch(/^'id': /)
    expect(problem({ ...local, base_url: 'ftp://x' })).toMatch(/^'base_url': must be an http or https URL/)
    expect(problem({ ...local, kind: 'gemini' })).toMatch(/^'kind': /)
    expect(problem({ ...local, temperature: 3 })).toMatch(/^'temperature': /)
    expect(problem({ ...local, apiKey: KEY })).toMatch(/unknown key 'apiKey'/)
    // A refused key is never echoed back in the message.
    const tooLong = `${KEY}${'x'.repeat(5000)}`
    expect(problem({ ...local, api_key: tooLong })).toMatch(/^'api_key': /)
    expect(problem({ ...local, api_key: tooLong })).not.toContain(KEY)
    expect(problem(local)).toBeNull()
  })
})

describe('providers.delete', () => {
  it('stops and unregisters the agent (its sessions end with agent_exited) and forgets the provider', async () => {
    const t = await setup()
    await t.service.save(cloud)
    await t.host.client.call('agents.chat', { agent_id: 'cloud', prompt: 'hi', session_id: 's1' })
    expect(await t.service.delete('cloud')).toEqual({ deleted: true })
    await settle()
    expect(t.host.terminalsOf('s1')).toEqual([expect.objectContaining({ kind: 'error', code: 'agent_exited' })])
    expect(t.host.hostEvents.filter((e) => e.agent_id === 'cloud').map((e) => e.kind)).toContain('agent.unregistered')
    expect((await t.host.client.call('agents.list')).agents.map((a) => a.id)).toEqual(['echo', 'from-manifest'])
    expect(t.service.list().providers).toEqual([])
    expect(await t.store.loadAll()).toEqual([])
    expect(await t.service.delete('cloud')).toEqual({ deleted: false })
  })

  it('is -32015 for a built-in or manifest agent, {deleted: false} for an id that names no agent', async () => {
    const t = await setup()
    for (const id of ['echo', 'from-manifest']) expect((await rpcError(t.service.delete(id))).code).toBe(ErrorCode.UnknownProvider)
    expect(t.hub.supervisor.get('echo')?.status).toBe('running')
    expect(await t.service.delete('nobody')).toEqual({ deleted: false })
  })
})

describe('restore at hub start', () => {
  it('registers and starts every saved provider with its key', async () => {
    const store = new MemoryProviderStore([
      { provider: saved(cloud), apiKey: KEY },
      { provider: saved(local), apiKey: null },
    ])
    const t = await setup({ store })
    expect(t.problems).toEqual([])
    expect(t.service.list().providers).toEqual([
      { ...saved(cloud), has_api_key: true },
      { ...saved(local), has_api_key: false },
    ])
    expect(t.hub.supervisor.get('cloud')?.status).toBe('running')
    expect(t.hub.supervisor.get('local')?.status).toBe('running')
    expect(t.launcher.latest('cloud').spec.env.CARHOST_PROVIDER_API_KEY).toBe(KEY)
    expect(t.launcher.latest('local').spec.env).not.toHaveProperty('CARHOST_PROVIDER_API_KEY')
  })

  it('a provider saved in the data folder comes back, with its key, in the next hub', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carhost-restore-'))
    try {
      const first = await setup({ store: headlessProviderStore(dir) })
      await first.service.save({ ...cloud, default_model: 'gpt-x' })
      await first.service.save(local)
      await first.hub.shutdown()

      const next = await setup({ store: headlessProviderStore(dir) })
      expect(next.service.list().providers).toEqual([
        { ...saved(cloud), default_model: 'gpt-x', has_api_key: true },
        { ...saved(local), has_api_key: false },
      ])
      expect(next.hub.supervisor.get('cloud')?.status).toBe('running')
      expect(next.launcher.latest('cloud').spec.env.CARHOST_PROVIDER_API_KEY).toBe(KEY)
      expect(JSON.parse(next.launcher.latest('cloud').spec.env.CARHOST_PROVIDER!)).toMatchObject({ default_model: 'gpt-x' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('leaves out a saved provider whose id a built-in agent took, and says so', async () => {
    const store = new MemoryProviderStore([{ provider: saved({ ...local, id: 'echo' }), apiKey: null }])
    const t = await setup({ store })
    expect(t.problems).toEqual([expect.stringMatching(/provider 'echo' is not started/)])
    expect(t.service.list().providers).toEqual([])
    expect(t.hub.supervisor.get('echo')?.spec.module).toBe('/fake/echo.js')
  })

  it('leaves out a saved provider the provider agent cannot take', async () => {
    const store = new MemoryProviderStore([
      { provider: saved({ ...local, id: 'odd', base_url: 'http://refused.test/v1' }), apiKey: KEY },
      { provider: saved(local), apiKey: null },
    ])
    const t = await setup({ store })
    expect(t.problems).toEqual([expect.stringMatching(/^provider 'odd' is not started: .*base_url: Invalid URL/)])
    expect(t.service.list().providers.map((p) => p.id)).toEqual(['local'])
    assertKeyNowhere(KEY, { logLines: t.lines, other: t.problems })
  })

  it('a store that cannot be read is reported, and every method answers with that problem instead of overwriting it', async () => {
    const store = new FailingStore()
    store.failLoad = new ProviderStoreError('/data/providers.json is not valid JSON; fix or remove it')
    const t = await setup({ store })
    expect(t.problems).toEqual(['/data/providers.json is not valid JSON; fix or remove it'])
    expect(t.lines.some((line) => line.includes('providers.json is not valid JSON'))).toBe(true)
    expect(() => t.service.list()).toThrow(/providers\.json is not valid JSON/)
    expect(await rpcError(t.service.save(local))).toMatchObject({ code: ErrorCode.InternalError, message: expect.stringMatching(/providers\.json/) })
    expect((await rpcError(t.service.delete('local'))).code).toBe(ErrorCode.InternalError)
  })
})

describe('key secrecy', () => {
  it('the key reaches the provider agent process only: no host message, log line, stats, error or other agent holds it', async () => {
    const store = new MemoryProviderStore([{ provider: saved(local), apiKey: null }])
    const t = await setup({ store })
    const seen: unknown[] = []
    seen.push(await t.service.save(cloud))
    seen.push(await t.host.client.call('agents.list'))
    await t.host.client.call('agents.chat', { agent_id: 'cloud', prompt: 'hi', session_id: 's1' })
    seen.push(await t.service.save({ ...cloud, name: 'Renamed' }))
    seen.push(await t.service.save({ ...cloud, api_key: KEY, default_model: 'm' }))
    seen.push(await t.host.client.call('agents.restart', { agent_id: 'cloud' }))
    seen.push(await rpcError(t.service.save({ ...cloud, id: 'echo' })))
    seen.push(await rpcError(t.service.delete('echo')))
    seen.push(t.service.list(), t.hub.stats(), await t.host.client.call('hub.stats'))
    seen.push(await t.service.delete('cloud'))
    await settle()

    expect(t.launcher.launched.filter((p) => p.spec.id === 'cloud').every((p) => p.spec.env.CARHOST_PROVIDER_API_KEY === KEY)).toBe(true)
    const others = t.launcher.launched.filter((p) => p.spec.id !== 'cloud')
    expect(others.map((p) => p.spec.id).sort()).toEqual(['echo', 'from-manifest', 'local'])
    assertKeyNowhere(KEY, { messages: t.host.received, logLines: t.lines, other: [...seen, ...others.map((p) => p.spec)] })
    expect(t.host.received.length).toBeGreaterThan(10)
    expect(t.lines.length).toBeGreaterThan(0)
  })
})
