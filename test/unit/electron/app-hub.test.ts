import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { silentLogger } from '../../../src/hub/logger.js'
import type { SavedProvider } from '../../../src/hub/provider-store.js'
import { startAppHub, type AppHub } from '../../../src/main/app-hub.js'
import { appProviderStore, SEALED_KEYS_FILE } from '../../../src/main/provider-keys.js'
import { resolveMainOptions } from '../../../src/main/settings.js'
import { InProcessHost } from '../../../src/platform/common/in-process-host.js'
import { DataDirInUseError, lockDataDir } from '../../../src/platform/node/data-dir-lock.js'
import { findKey } from '../../support/key-secrecy.js'
import { forked, resetFakeElectron, utilityBehaviour } from './fake-electron.js'
import { resetFakeSafeStorage } from './fake-safe-storage.js'

vi.mock('electron', async () => ({
  ...(await import('./fake-electron.js')),
  safeStorage: (await import('./fake-safe-storage.js')).fakeSafeStorage,
}))
// The real list only exists in the build (`?modulePath` imports); one built-in is enough here.
vi.mock('../../../src/agents/builtin.js', async () => {
  const { ManifestAgentSchema } = await import('../../../src/protocol/manifest.js')
  return {
    builtinAgents: () => [ManifestAgentSchema.parse({ id: 'echo', name: 'Echo', module: '/app/out/main/chunks/echo.js' })],
    PROVIDER_AGENT_MODULE: '/app/out/main/chunks/provider-agent.js',
  }
})

const PROVIDER_MODULE = '/app/out/main/chunks/provider-agent.js'
const KEY = 'sk-app-test-"Zq9"/ü+0123456789'
const ollama: SavedProvider = {
  id: 'ollama',
  name: 'Ollama',
  kind: 'openai',
  base_url: 'http://127.0.0.1:11434/v1',
  default_model: 'llama3.2',
  system_prompt: null,
  temperature: null,
  max_tokens: null,
}

let dataDir: string
let running: AppHub | undefined

beforeEach(async () => {
  resetFakeElectron()
  resetFakeSafeStorage()
  utilityBehaviour.auto = true
  utilityBehaviour.ready.add(PROVIDER_MODULE)
  dataDir = await mkdtemp(join(tmpdir(), 'carhost-userdata-'))
})

afterEach(async () => {
  await running?.shutdown()
  running = undefined
  await rm(dataDir, { recursive: true, force: true })
})

async function start(argv: string[] = []): Promise<AppHub> {
  running = await startAppHub({ dataDir, argv, logger: silentLogger })
  return running
}

const agentIds = (appHub: AppHub) => appHub.hub.supervisor.list().map((agent) => `${agent.id}:${agent.status}`)

function authenticate(url: string, token: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.on('error', reject)
    socket.on('open', () => socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session.auth', params: { host_token: token } })))
    socket.on('message', (data) => {
      resolve(JSON.parse(String(data)))
      socket.close()
    })
  })
}

describe('startAppHub', () => {
  it('runs the built-in agents as utility processes, without an endpoint by default', async () => {
    const appHub = await start()
    expect(agentIds(appHub)).toEqual(['echo:running'])
    expect(forked.map((child) => child.options.serviceName)).toEqual(['agent-echo'])
    expect(appHub.server).toBeNull()
    expect(appHub.problems).toEqual([])
    expect(existsSync(join(dataDir, 'hub-endpoint.json'))).toBe(false)
  })

  it('adds the agents of the manifest named in settings.json', async () => {
    await writeFile(join(dataDir, 'extra.js'), '// agent')
    await writeFile(
      join(dataDir, 'agents.json'),
      JSON.stringify({ agents: [{ id: 'extra', name: 'Extra', module: 'extra.js' }] }),
    )
    await writeFile(join(dataDir, 'settings.json'), JSON.stringify({ agents_manifest: 'agents.json' }))
    const appHub = await start()
    expect(agentIds(appHub)).toEqual(['echo:running', 'extra:running'])
    expect(forked.find((child) => child.options.serviceName === 'agent-extra')?.modulePath).toBe(join(dataDir, 'extra.js'))
  })

  it('leaves a broken manifest out as a whole and reports it; a broken settings file too', async () => {
    await writeFile(join(dataDir, 'ok.js'), '')
    await writeFile(
      join(dataDir, 'agents.json'),
      JSON.stringify({ agents: [{ id: 'ok', name: 'Ok', module: 'ok.js' }, { id: 'bad', name: 'Bad', module: 'missing.js' }] }),
    )
    const appHub = await start(['--agents', join(dataDir, 'agents.json')])
    expect(agentIds(appHub)).toEqual(['echo:running'])
    expect(appHub.problems).toHaveLength(1)
    expect(appHub.problems[0]).toMatch(/agents\.json.*'bad'.*module/)
    await appHub.shutdown()

    await writeFile(join(dataDir, 'settings.json'), '{"listen": "yes"')
    const second = await start()
    expect(second.problems[0]).toMatch(/settings\.json/)
    expect(agentIds(second)).toEqual(['echo:running'])
  })

  it('with listen, opens the loopback endpoint the CLI finds through the data dir, and closes it on shutdown', async () => {
    await writeFile(join(dataDir, 'settings.json'), JSON.stringify({ listen: true }))
    const appHub = await start()
    expect(appHub.server).not.toBeNull()
    expect(appHub.server!.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    const endpoint = JSON.parse(await readFile(join(dataDir, 'hub-endpoint.json'), 'utf8'))
    expect(endpoint).toEqual({ url: appHub.server!.wsUrl, pid: process.pid })
    const tokenFile = join(dataDir, 'hub-token')
    if (process.platform !== 'win32') expect((await stat(tokenFile)).mode & 0o777).toBe(0o600)
    const token = (await readFile(tokenFile, 'utf8')).trim()
    expect(await authenticate(endpoint.url, token)).toMatchObject({ id: 1, result: { ok: true, role: 'host' } })

    await appHub.shutdown()
    running = undefined
    expect(existsSync(join(dataDir, 'hub-endpoint.json'))).toBe(false)
    await expect(authenticate(endpoint.url, token)).rejects.toThrow()
    expect(forked[0]!.kill).toHaveBeenCalled()
    expect(appHub.hub.supervisor.list().map((a) => a.status)).toEqual(['stopped'])
  })
})

describe('providers in the app', () => {
  it('restores the providers of the user-data folder, keys unsealed, each a utility process that reads mcp.json there', async () => {
    await appProviderStore({ dataDir, settings: {}, logger: silentLogger }).save(ollama, { action: 'set', key: KEY })
    const appHub = await start()
    expect(agentIds(appHub)).toEqual(['echo:running', 'ollama:running'])
    expect(appHub.problems).toEqual([])
    const child = forked.find((c) => c.options.serviceName === 'agent-ollama')!
    expect(child.modulePath).toBe(PROVIDER_MODULE)
    const env = child.options.env as Record<string, string>
    expect(env.CARHOST_PROVIDER_API_KEY).toBe(KEY)
    expect(env.CARHOST_DATA_DIR).toBe(dataDir)
    expect(JSON.parse(env.CARHOST_PROVIDER!)).toMatchObject({ kind: 'openai', base_url: ollama.base_url, default_model: 'llama3.2' })
    // Only the provider's own process gets the key.
    expect((forked.find((c) => c.options.serviceName === 'agent-echo')!.options.env as Record<string, string>).CARHOST_PROVIDER_API_KEY).toBeUndefined()
  })

  it('providers.save from a window keeps the provider in userData with its key sealed by safeStorage, and the next start brings it back', async () => {
    const appHub = await start()
    const host = new InProcessHost()
    appHub.hub.connectHost(host.transport)
    const saved = await host.client.call('providers.save', { ...ollama, api_key: KEY })
    expect(saved).toMatchObject({ id: 'ollama', has_api_key: true })
    expect(agentIds(appHub)).toEqual(['echo:running', 'ollama:running'])
    const files = await readdir(dataDir)
    expect(files).toEqual(expect.arrayContaining(['providers.json', SEALED_KEYS_FILE]))
    expect(files).not.toContain('provider-keys.json')
    const contents = await Promise.all(['providers.json', SEALED_KEYS_FILE].map((file) => readFile(join(dataDir, file), 'utf8')))
    expect(findKey(KEY, { messages: host.received, other: contents })).toEqual([])
    await appHub.shutdown()

    const next = await start()
    expect(agentIds(next)).toEqual(['echo:running', 'ollama:running'])
    expect((forked.filter((c) => c.options.serviceName === 'agent-ollama').at(-1)!.options.env as Record<string, string>).CARHOST_PROVIDER_API_KEY).toBe(KEY)
  })
})

describe('the data-folder lock', () => {
  it('is held while the app hub runs, listening or not, so a headless hub on the same folder is refused; shutdown releases it', async () => {
    const appHub = await start()
    expect(appHub.server).toBeNull()
    await expect(lockDataDir(dataDir)).rejects.toBeInstanceOf(DataDirInUseError)
    await appHub.shutdown()
    running = undefined
    const lock = await lockDataDir(dataDir)
    lock.dispose()
  })

  it('refuses to start on a folder a running headless hub holds, touching nothing', async () => {
    // Another live process holds it: our parent stands in for a headless hub.
    const headless = await lockDataDir(dataDir, { pid: process.ppid })
    try {
      await expect(start()).rejects.toThrow(DataDirInUseError)
      expect(forked).toEqual([])
      expect(existsSync(join(dataDir, 'hub-endpoint.json'))).toBe(false)
      expect(JSON.parse(await readFile(headless.file, 'utf8'))).toEqual({ pid: process.ppid })
    } finally {
      headless.dispose()
    }
  })
})

describe('resolveMainOptions', () => {
  it('lets the command line override settings', () => {
    expect(resolveMainOptions([], {})).toEqual({ listen: false, listenPort: 0, agentsManifest: undefined })
    expect(resolveMainOptions(['/electron', '.', '--listen', '--listen-port=4555', '--agents', 'a.json'], { agents_manifest: 'b.json' })).toEqual({
      listen: true,
      listenPort: 4555,
      agentsManifest: 'a.json',
    })
    expect(resolveMainOptions(['--listen-port', 'nope'], { listen: true, listen_port: 7000 })).toEqual({
      listen: true,
      listenPort: 7000,
      agentsManifest: undefined,
    })
  })
})
