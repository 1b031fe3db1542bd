import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import type { MockModelServer } from '../fixtures/model-servers/mock-model-server.js'
import { assertKeyNowhere } from '../support/key-secrecy.js'
import { builtOutputExists, cleanEnv, startHub, type RunningHub, type TestProcess } from './support/headless-process.js'
import { KINDS, ProviderRig, SECRET_KEY, type KindCase } from './support/provider-rig.js'
import { WsTestClient, isRecord } from './support/ws-test-client.js'

/**
 * Providers in the real headless hub (PROTOCOL.md §12): saved over the socket,
 * run as agents against the mock model servers, kept in the data folder across
 * a restart, deleted; the key in no message a host got and no line the hub wrote.
 */

let root: string
const rig = new ProviderRig()
const started: TestProcess[] = []
const clients: WsTestClient[] = []

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'carhost-providers-'))
})

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.terminate()
  for (const proc of started.splice(0)) {
    proc.kill('SIGKILL')
    await proc.exited
  }
  await rig.dispose()
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

async function hub(dataDir: string): Promise<RunningHub> {
  // Debug level: the scan covers every line the hub can write.
  const running = await startHub(['--port', '0', '--data-dir', dataDir], cleanEnv({ CARHOST_LOG: 'debug' }))
  started.push(running.process)
  return running
}

async function connect(running: RunningHub): Promise<WsTestClient> {
  const client = await WsTestClient.authed(running.url, running.token)
  clients.push(client)
  expect(await client.call('host.subscribe', {})).toHaveProperty('result')
  return client
}

interface ChatEvent {
  session_id: string
  kind: string
  delta?: string
  [key: string]: unknown
}

const chatEvent = (frame: unknown): ChatEvent | null =>
  isRecord(frame) && frame.method === 'agents.chat.event' && isRecord(frame.params) ? (frame.params as ChatEvent) : null

const hostEvent = (frame: unknown, kind: string, agentId: string): boolean =>
  isRecord(frame) && frame.method === 'host.event' && isRecord(frame.params) && frame.params.kind === kind && frame.params.agent_id === agentId

async function result<T = Record<string, unknown>>(client: WsTestClient, method: string, params: unknown): Promise<T> {
  const reply = await client.call(method, params)
  if (!('result' in reply)) throw new Error(`${method} failed: ${JSON.stringify(reply)}`)
  return reply.result as T
}

/** One chat to the end: the text its tokens made and its terminal event. */
async function chat(client: WsTestClient, agentId: string, prompt: string): Promise<{ text: string; end: ChatEvent }> {
  const from = client.frames.length
  const { session_id: sessionId } = await result<{ session_id: string }>(client, 'agents.chat', { agent_id: agentId, prompt })
  const end = chatEvent(
    await client.waitFor((f) => {
      const event = chatEvent(f)
      return event?.session_id === sessionId && (event.kind === 'done' || event.kind === 'error')
    }, from),
  )!
  const text = client.frames
    .slice(from)
    .map(chatEvent)
    .filter((e): e is ChatEvent => e?.session_id === sessionId && e.kind === 'token')
    .map((e) => e.delta)
    .join('')
  return { text, end }
}

interface Case {
  id: string
  kind: KindCase
  server: MockModelServer
}

function saveParams({ id, kind, server }: Case) {
  return { id, name: `Mock ${kind.kind}`, kind: kind.kind, base_url: kind.baseUrl(server), api_key: SECRET_KEY, default_model: 'mock-model-1' }
}

async function listed(client: WsTestClient, id: string) {
  const { agents } = await result<{ agents: Array<{ id: string; status: string; models: Array<{ id: string }> }> }>(client, 'agents.list', {})
  return agents.find((agent) => agent.id === id)
}

describe.skipIf(!builtOutputExists())('providers in the headless hub', () => {
  it('saves an OpenAI-kind and an Anthropic-kind provider, chats with both, keeps them across a restart, deletes one; the key leaks nowhere', async () => {
    const dataDir = join(root, 'data')
    const cases: Case[] = [
      { id: 'local', kind: KINDS[0]!, server: await rig.server(KINDS[0]!) },
      { id: 'claude', kind: KINDS[1]!, server: await rig.server(KINDS[1]!) },
    ]
    const first = await hub(dataDir)
    const c1 = await connect(first)

    for (const provider of cases) {
      const saved = await result(c1, 'providers.save', saveParams(provider))
      expect(saved).toEqual({
        id: provider.id,
        name: `Mock ${provider.kind.kind}`,
        kind: provider.kind.kind,
        base_url: provider.kind.baseUrl(provider.server),
        has_api_key: true,
        default_model: 'mock-model-1',
        system_prompt: null,
        temperature: null,
        max_tokens: null,
      })
      // The agent is registered, then announces the server's models (agent.updated, §6).
      await c1.waitFor((f) => hostEvent(f, 'agent.registered', provider.id))
      const updated = await c1.waitFor(
        (f) => hostEvent(f, 'agent.updated', provider.id) && ((f as { params: { payload: { models: unknown[] } } }).params.payload.models.length > 0),
      )
      const modelIds = (models: Array<{ id: string }>) => models.map((model) => model.id)
      expect(modelIds((updated as { params: { payload: { models: Array<{ id: string }> } } }).params.payload.models)).toEqual(['mock-model-1', 'mock-model-2'])
      const agent = await listed(c1, provider.id)
      expect(agent?.status).toBe('running')
      expect(modelIds(agent!.models)).toEqual(['mock-model-1', 'mock-model-2'])

      provider.server.reply({ kind: 'stream', text: ['Hel', 'lo ', provider.kind.kind], usage: { input: 7, output: 3 } })
      const { text, end } = await chat(c1, provider.id, 'hello')
      expect(text).toBe(`Hello ${provider.kind.kind}`)
      expect(end).toMatchObject({
        kind: 'done',
        finish_reason: provider.kind.stopReason,
        text: `Hello ${provider.kind.kind}`,
        usage: { input_tokens: 7, output_tokens: 3 },
      })
      // The key reached the model server, so it reached the agent.
      expect(provider.server.requests.some((r) => provider.kind.format.keyOf(r.headers) === SECRET_KEY)).toBe(true)
    }
    expect((await result<{ providers: Array<{ id: string }> }>(c1, 'providers.list', {})).providers.map((p) => p.id)).toEqual(['local', 'claude'])

    // Built-in ids are not providers (§12).
    const refused = await c1.call('providers.save', { ...saveParams(cases[0]!), id: 'echo' })
    expect(refused.error).toMatchObject({ code: ErrorCode.InvalidParams, message: expect.stringContaining("'id'") })
    expect((await c1.call('providers.delete', { id: 'echo' })).error).toMatchObject({ code: ErrorCode.UnknownProvider })
    expect(await listed(c1, 'echo')).toMatchObject({ status: 'running' })

    // Kept in the data folder: settings in providers.json, the key only in the 0600 key file.
    const providersFile = readFileSync(join(dataDir, 'providers.json'), 'utf8')
    expect(JSON.parse(providersFile).providers.map((p: { id: string }) => p.id)).toEqual(['local', 'claude'])
    const keyFile = join(dataDir, 'provider-keys.json')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(keyFile, 'utf8')).toContain(SECRET_KEY)

    first.process.kill('SIGTERM')
    expect((await first.process.exited).code).toBe(0)

    // The next hub on the same folder brings both back, key included (the mocks refuse a request without it).
    const second = await hub(dataDir)
    const c2 = await connect(second)
    for (const provider of cases) {
      expect(await listed(c2, provider.id)).toMatchObject({ status: 'running' })
      provider.server.reply({ kind: 'stream', text: ['again'], usage: { input: 1, output: 1 } })
      const { text, end } = await chat(c2, provider.id, 'once more')
      expect(text).toBe('again')
      expect(end).toMatchObject({ kind: 'done', usage: { input_tokens: 1, output_tokens: 1 } })
    }

    // Deleting stops and unregisters the agent and forgets the provider and its key.
    expect(await result(c2, 'providers.delete', { id: 'local' })).toEqual({ deleted: true })
    await c2.waitFor((f) => hostEvent(f, 'agent.unregistered', 'local'))
    expect(await listed(c2, 'local')).toBeUndefined()
    expect((await result<{ providers: Array<{ id: string }> }>(c2, 'providers.list', {})).providers.map((p) => p.id)).toEqual(['claude'])
    expect(JSON.parse(readFileSync(join(dataDir, 'providers.json'), 'utf8')).providers.map((p: { id: string }) => p.id)).toEqual(['claude'])
    expect(JSON.parse(readFileSync(keyFile, 'utf8')).keys).toEqual({ claude: SECRET_KEY })
    expect((await c2.call('agents.chat', { agent_id: 'local', prompt: 'gone?' })).error).toMatchObject({ code: ErrorCode.UnknownAgent })

    second.process.kill('SIGTERM')
    expect((await second.process.exited).code).toBe(0)
    // Every message either host received, every line either hub wrote (its agents' stderr included).
    const stderrLines = [first, second].flatMap((running) => running.process.stderr.split('\n'))
    expect(stderrLines.length).toBeGreaterThan(2)
    assertKeyNowhere(SECRET_KEY, {
      messages: [...c1.frames, ...c2.frames],
      logLines: [...stderrLines, first.process.stdout, second.process.stdout],
    })
  }, 120_000)

  it('the provider agent reads mcp.json from the data folder: its tools reach the model and an auto-approved one runs', async () => {
    const dataDir = join(root, 'mcp')
    mkdirSync(dataDir)
    const fixture = resolve('test/fixtures/mcp/fixture-server.ts')
    writeFileSync(
      join(dataDir, 'mcp.json'),
      JSON.stringify({
        mcpServers: {
          'my tools': { command: process.execPath, args: ['--import', 'tsx', fixture], env: { FIXTURE_GREETING: 'hello-from-data-dir' }, autoApprove: ['env'] },
        },
      }),
    )
    const kind = KINDS[0]!
    const server = await rig.server(kind)
    const running = await hub(dataDir)
    const client = await connect(running)
    await result(client, 'providers.save', saveParams({ id: 'local', kind, server }))
    server.reply({ kind: 'stream', toolCalls: [{ id: 'call_env', name: 'my_tools__env', arguments: '{}' }] }, { kind: 'stream', text: ['Done.'] })

    const from = client.frames.length
    const { end } = await chat(client, 'local', 'look around')
    expect(end).toMatchObject({ kind: 'done', text: 'Done.' })
    const tools = client.frames.slice(from).map(chatEvent).filter((e): e is ChatEvent => e !== null && e.kind.startsWith('tool_'))
    expect(tools.map((e) => e.kind)).toEqual(['tool_call', 'tool_result'])
    expect(tools[0]).toMatchObject({ tool: 'my tools.env' })
    expect(tools[1]).toMatchObject({ ok: true, excerpt: expect.stringContaining('hello-from-data-dir') })
    const offered = (server.chatRequests()[0]!.body as { tools?: Array<{ function: { name: string } }> }).tools ?? []
    expect(offered.map((tool) => tool.function.name)).toContain('my_tools__env')
  }, 120_000)
})
