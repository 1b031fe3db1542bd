import { describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import { MemoryProviderStore } from '../../src/hub/memory-provider-store.js'
import type { SavedProvider } from '../../src/hub/provider-store.js'
import { ErrorCode } from '../../src/protocol/errors.js'
import { FakeLauncher, scriptedAgent, settle, type AgentBehaviour } from '../support/fake-launcher.js'
import { rpcError, TestHost } from '../support/hub-fixture.js'
import { assertKeyNowhere, recordingLogger } from '../support/key-secrecy.js'
import { ManualClock } from '../support/manual-clock.js'
import { agentSpec } from '../support/spec.js'

/** The hub's side of §12: `providers.*` reach the ProviderService, and saved providers come back at `start`. */

const KEY = 'sk-hub-test-0123456789abcdef'
const MODULE = '/built/provider-agent.js'

const providerAgent: AgentBehaviour = (agent) => {
  scriptedAgent()(agent)
  agent.send({ jsonrpc: '2.0', method: 'agent.ready', params: {} })
}

function saved(id: string, overrides: Partial<SavedProvider> = {}): SavedProvider {
  return {
    id,
    name: id,
    kind: 'openai',
    base_url: 'http://127.0.0.1:11434/v1',
    default_model: null,
    system_prompt: null,
    temperature: null,
    max_tokens: null,
    ...overrides,
  }
}

function hubWith(store: MemoryProviderStore | null) {
  const { logger, lines } = recordingLogger()
  const launcher = new FakeLauncher({ echo: scriptedAgent(), ollama: providerAgent, cloud: providerAgent })
  const hub = new Hub({
    agents: [agentSpec('echo')],
    launcher,
    clock: new ManualClock(),
    logger,
    ...(store === null
      ? {}
      : {
          providers: {
            store,
            agentModule: MODULE,
            agentEnv: (_settings, apiKey: string | null): Record<string, string> => (apiKey === null ? {} : { CARHOST_PROVIDER_API_KEY: apiKey }),
          },
        }),
  })
  const host = new TestHost()
  hub.connectHost(host.transport)
  return { hub, launcher, host, lines }
}

describe('providers in the hub', () => {
  it('start restores the saved providers as running agents, next to the built-ins, and reports those it left out', async () => {
    const store = new MemoryProviderStore([
      { provider: saved('ollama'), apiKey: null },
      { provider: saved('echo'), apiKey: null },
    ])
    const { hub, launcher, host } = hubWith(store)
    const problems = await hub.start()
    expect(problems).toEqual([expect.stringMatching(/^provider 'echo' is not started: a built-in/)])
    const agents = (await host.client.call('agents.list')).agents
    expect(agents.map((agent) => `${agent.id}:${agent.status}`)).toEqual(['echo:running', 'ollama:running'])
    expect(launcher.latest('ollama').spec.module).toBe(MODULE)
    expect(launcher.latest('echo').spec.module).toBe('/fake/echo.js')
    expect((await host.client.call('providers.list')).providers.map((p) => p.id)).toEqual(['ollama'])
    await hub.shutdown()
  })

  it('answers providers.save, .list and .delete from a host; the key reaches only the agent', async () => {
    const { hub, launcher, host, lines } = hubWith(new MemoryProviderStore())
    await hub.start()
    const seen: unknown[] = []
    const provider = await host.client.call('providers.save', { id: 'cloud', name: 'Cloud', kind: 'openai', base_url: 'https://api.example.test/v1', api_key: KEY })
    seen.push(provider)
    expect(provider).toMatchObject({ id: 'cloud', has_api_key: true })
    expect(launcher.latest('cloud').spec.env.CARHOST_PROVIDER_API_KEY).toBe(KEY)
    seen.push(await host.client.call('providers.list'), await host.client.call('agents.list'))
    expect((await host.client.call('agents.list')).agents.find((agent) => agent.id === 'cloud')).toMatchObject({ status: 'running' })

    const refused = await rpcError(host.client.call('providers.save', { id: 'echo', name: 'E', kind: 'openai', base_url: 'http://x.test/v1' }))
    expect(refused).toMatchObject({ code: ErrorCode.InvalidParams, message: expect.stringContaining("'id'") })
    expect((await rpcError(host.client.call('providers.delete', { id: 'echo' }))).code).toBe(ErrorCode.UnknownProvider)

    seen.push(await host.client.call('providers.delete', { id: 'cloud' }))
    expect(seen.at(-1)).toEqual({ deleted: true })
    expect((await host.client.call('agents.list')).agents.map((agent) => agent.id)).toEqual(['echo'])
    expect(await host.client.call('providers.delete', { id: 'cloud' })).toEqual({ deleted: false })
    await settle()
    assertKeyNowhere(KEY, { messages: host.received, logLines: lines, other: seen })
    await hub.shutdown()
  })

  it('a hub without a provider store lists none and refuses to save or delete one', async () => {
    const { hub, host } = hubWith(null)
    expect(await hub.start()).toEqual([])
    expect(await host.client.call('providers.list')).toEqual({ providers: [] })
    const save = await rpcError(host.client.call('providers.save', { id: 'p', name: 'P', kind: 'openai', base_url: 'http://x.test/v1' }))
    expect(save.code).toBe(ErrorCode.MethodNotFound)
    expect((await rpcError(host.client.call('providers.delete', { id: 'p' }))).code).toBe(ErrorCode.MethodNotFound)
    await hub.shutdown()
  })
})
