import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { once } from '../../src/base/event.js'
import { Hub } from '../../src/hub/hub.js'
import { ErrorCode } from '../../src/protocol/errors.js'
import { ManifestAgentSchema } from '../../src/protocol/manifest.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { WebSocketHostTransport } from '../../src/platform/node/websocket-host-transport.js'
import { UpgradeRefused, WsTestClient, isRecord } from './support/ws-test-client.js'

const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuv'
const MiB = 1024 * 1024

let launcher: ChildProcessLauncher
let hub: Hub
let server: HubServer
const clients: WsTestClient[] = []

async function client(options: { origin?: string; protocolVersion?: number } = {}): Promise<WsTestClient> {
  const c = await WsTestClient.connect(server.wsUrl, options)
  clients.push(c)
  return c
}

async function authed(): Promise<WsTestClient> {
  const c = await WsTestClient.authed(server.wsUrl, TOKEN)
  clients.push(c)
  return c
}

function errorOf(frame: unknown): { code: number; message: string } {
  if (!isRecord(frame) || !isRecord(frame.error)) throw new Error(`not an error response: ${JSON.stringify(frame)}`)
  return frame.error as { code: number; message: string }
}

/**
 * Proves that nothing was (or will be) sent for what was written before: two
 * round trips after it, the only frames since `from` are their two answers.
 */
async function expectNoReplySince(c: WsTestClient, from: number): Promise<void> {
  const first = await c.call('hub.stats', {})
  const second = await c.call('hub.sessions')
  expect(c.frames.slice(from)).toEqual([first, second])
}

beforeAll(async () => {
  launcher = new ChildProcessLauncher({ execArgv: ['--import', 'tsx'] })
  hub = new Hub({
    agents: [
      ManifestAgentSchema.parse({
        id: 'echo',
        name: 'Echo',
        module: resolve('src/agents/echo.ts'),
        env: { CARHOST_ECHO_DELAY_MS: '0' },
        ready_signal: true,
      }),
    ],
    launcher,
    ackTimeoutMs: 30_000,
  })
  await hub.start()
  server = await HubServer.listen({ hub, token: TOKEN, port: 0 })
})

afterAll(async () => {
  for (const c of clients) c.socket.terminate()
  await hub?.shutdown()
  await server?.close()
  launcher?.dispose()
})

describe('authentication (§2)', () => {
  it('a wrong token gets -32001, then the socket is closed', async () => {
    const c = await client()
    c.sendJson({ jsonrpc: '2.0', id: 1, method: 'session.auth', params: { host_token: 'wrong' } })
    const closed = await c.closed
    expect(c.frames).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: ErrorCode.NotAuthenticated, message: 'not authenticated' } }])
    expect(closed.code).not.toBe(1006)
  })

  it('a token that differs only in length is refused too', async () => {
    const c = await client()
    c.sendJson({ jsonrpc: '2.0', id: 1, method: 'session.auth', params: { host_token: TOKEN + 'x' } })
    await c.closed
    expect(errorOf(c.frames[0]).code).toBe(ErrorCode.NotAuthenticated)
  })

  it('any other first request gets -32001, then the socket is closed', async () => {
    const c = await client()
    c.sendJson({ jsonrpc: '2.0', id: 7, method: 'hub.stats', params: {} })
    await c.closed
    expect(c.frames).toHaveLength(1)
    expect(c.frames[0]).toMatchObject({ id: 7, error: { code: ErrorCode.NotAuthenticated } })
  })

  it('an unreadable first message (not JSON, binary, a batch) gets -32001, then the socket is closed', async () => {
    for (const send of [
      (c: WsTestClient) => c.send('{not json'),
      (c: WsTestClient) => c.send(Buffer.from([1, 2, 3]), { binary: true }),
      (c: WsTestClient) => c.sendJson([{ jsonrpc: '2.0', id: 1, method: 'session.auth', params: { host_token: TOKEN } }]),
    ]) {
      const c = await client()
      send(c)
      await c.closed
      expect(c.frames).toHaveLength(1)
      expect(c.frames[0]).toMatchObject({ id: null, error: { code: ErrorCode.NotAuthenticated } })
    }
  })

  it('the right token: {ok, role: host, client_id}, and requests work afterwards', async () => {
    const c = await client()
    const reply = await c.call('session.auth', { host_token: TOKEN })
    expect(reply.result).toEqual({ ok: true, role: 'host', client_id: expect.stringMatching(/.+/) })
    const stats = await c.call('hub.stats', {})
    expect(stats.result).toMatchObject({ agents_running: 1 })
  })
})

describe('Origin check (§2)', () => {
  it('refuses a foreign origin with 403 before the upgrade', async () => {
    for (const origin of [
      'http://evil.example',
      `http://evil.example:${server.port}`,
      `http://127.0.0.1:${server.port + 1 > 65535 ? 1 : server.port + 1}`,
      `https://127.0.0.1:${server.port}`,
      `http://127.0.0.2:${server.port}`,
      'null',
    ]) {
      const refused = await client({ origin }).then(
        () => null,
        (error: unknown) => error,
      )
      expect(refused, origin).toBeInstanceOf(UpgradeRefused)
      expect((refused as UpgradeRefused).status, origin).toBe(403)
    }
  })

  it('checks Sec-WebSocket-Origin too (protocol version 8 clients)', async () => {
    const refused = await client({ origin: 'http://evil.example', protocolVersion: 8 }).then(
      () => null,
      (error: unknown) => error,
    )
    expect((refused as UpgradeRefused).status).toBe(403)
    const own = await client({ origin: `http://localhost:${server.port}`, protocolVersion: 8 })
    expect((await own.call('session.auth', { host_token: TOKEN })).result).toMatchObject({ ok: true })
  })

  it('accepts its own origin, as localhost and as 127.0.0.1, and no Origin at all', async () => {
    for (const origin of [`http://127.0.0.1:${server.port}`, `http://localhost:${server.port}`, undefined]) {
      const c = await client(origin === undefined ? {} : { origin })
      const reply = await c.call('session.auth', { host_token: TOKEN })
      expect(reply.result, String(origin)).toMatchObject({ ok: true })
    }
  })
})

describe('frames', () => {
  it('a message over 16 MiB closes only that connection', async () => {
    const bystander = await authed()
    const sender = await authed()
    const before = (await bystander.call('hub.stats', {})).result as { hosts_connected: number }
    sender.send('x'.repeat(16 * MiB + 1))
    const closed = await sender.closed
    expect(closed.code).toBe(1009)
    // The hub learns of the close when the server side of the socket closes, a moment after the client's.
    let connected = before.hosts_connected
    while (connected !== before.hosts_connected - 1) {
      connected = ((await bystander.call('hub.stats', {})).result as { hosts_connected: number }).hosts_connected
    }
    expect(bystander.socket.readyState).toBe(WebSocket.OPEN)
  })

  it('a message of exactly 16 MiB is read (and answered)', async () => {
    const c = await authed()
    const head = '{"jsonrpc":"2.0","id":"big","method":"agents.chat","params":{"agent_id":"echo","prompt":"'
    const tail = '"}}'
    c.send(head + 'p'.repeat(16 * MiB - head.length - tail.length) + tail)
    const reply = await c.waitFor((f) => isRecord(f) && f.id === 'big')
    expect(errorOf(reply).code).toBe(ErrorCode.InvalidParams)
    expect(errorOf(reply).message).toContain('prompt')
  })

  it('a parse error gets -32700 with id null, and the connection stays usable', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('{"jsonrpc":"2.0","method":"hub.stats",')
    expect(await c.frameAt(from)).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.ParseError, message: expect.any(String) } })
    expect((await c.call('hub.stats', {})).result).toBeDefined()
  })

  it('a binary frame gets -32600 with id null, and the connection stays usable', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hub.stats', params: {} })), { binary: true })
    expect(await c.frameAt(from)).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.any(String) } })
    expect((await c.call('hub.stats', {})).result).toBeDefined()
  })

  it('unknown keys in params get -32602 naming the key', async () => {
    const c = await authed()
    const reply = await c.call('agents.list', { bogus_key: 1 })
    expect(errorOf(reply).code).toBe(ErrorCode.InvalidParams)
    expect(errorOf(reply).message).toContain('bogus_key')
    const chat = await c.call('agents.chat', { agent_id: 'echo', prompt: 'hi', sneaky: true })
    expect(errorOf(chat).code).toBe(ErrorCode.InvalidParams)
    expect(errorOf(chat).message).toContain('sneaky')
  })

  it('streams a chat over the socket: result first, then tokens, then done', async () => {
    const c = await authed()
    const from = c.frames.length
    c.sendJson({ jsonrpc: '2.0', id: 'chat', method: 'agents.chat', params: { agent_id: 'echo', prompt: 'one two three', session_id: 'ws-s1' } })
    await c.waitFor((f) => isRecord(f) && isRecord(f.params) && f.params.kind === 'done', from)
    const frames = c.frames.slice(from) as Array<Record<string, any>>
    expect(frames[0]).toEqual({ jsonrpc: '2.0', id: 'chat', result: { accepted: true, session_id: 'ws-s1' } })
    const events = frames.slice(1).map((f) => f.params)
    expect(events.every((e) => e.session_id === 'ws-s1' && e.agent_id === 'echo')).toBe(true)
    expect(events.filter((e) => e.kind === 'token').map((e) => e.delta).join('')).toBe('one two three')
    expect(events.at(-1)).toMatchObject({ kind: 'done' })
  })
})

/** JSON-RPC 2.0 specification, section 7 (Examples), with the hub's methods in place of `subtract` & co. */
describe('JSON-RPC 2.0 §7 examples', () => {
  it('rpc call with positional parameters: refused with -32602 (hub params are by-name, §3); by-name works', async () => {
    const c = await authed()
    c.send('{"jsonrpc": "2.0", "method": "hub.stats", "params": [42, 23], "id": 1}')
    const positional = await c.waitFor((f) => isRecord(f) && f.id === 1)
    expect(positional).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: ErrorCode.InvalidParams } })
    c.send('{"jsonrpc": "2.0", "method": "hub.stats", "params": {}, "id": 2}')
    const named = await c.waitFor((f) => isRecord(f) && f.id === 2)
    expect(named).toMatchObject({ jsonrpc: '2.0', id: 2, result: { agents_running: 1 } })
  })

  it('rpc call with named parameters', async () => {
    const c = await authed()
    c.send('{"jsonrpc": "2.0", "method": "agents.start", "params": {"agent_id": "echo"}, "id": 3}')
    expect(await c.waitFor((f) => isRecord(f) && f.id === 3)).toMatchObject({
      jsonrpc: '2.0',
      id: 3,
      result: { id: 'echo', status: 'running' },
    })
    c.send('{"jsonrpc": "2.0", "method": "agents.list", "params": {}, "id": 4}')
    const listed = (await c.waitFor((f) => isRecord(f) && f.id === 4)) as { result: { agents: Array<{ id: string }> } }
    expect(listed.result.agents.map((a) => a.id)).toEqual(['echo'])
  })

  it('a notification: no response at all', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('{"jsonrpc": "2.0", "method": "hub.stats", "params": [1,2,3,4,5]}')
    c.send('{"jsonrpc": "2.0", "method": "foobar"}')
    c.send('{"jsonrpc": "2.0", "method": "agents.list", "params": {}}')
    await expectNoReplySince(c, from)
  })

  it('rpc call of non-existent method: -32601', async () => {
    const c = await authed()
    c.send('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')
    expect(await c.waitFor((f) => isRecord(f) && f.id === '1')).toEqual({
      jsonrpc: '2.0',
      id: '1',
      error: { code: ErrorCode.MethodNotFound, message: expect.any(String) },
    })
  })

  it('rpc call with invalid JSON: -32700, id null', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
    expect(await c.frameAt(from)).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.ParseError, message: expect.any(String) } })
  })

  it('rpc call with invalid Request object: -32600, id null', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
    expect(await c.frameAt(from)).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.any(String) } })
  })

  it('rpc call Batch, invalid JSON: one -32700, id null', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('[\n  {"jsonrpc": "2.0", "method": "hub.stats", "params": {}, "id": "1"},\n  {"jsonrpc": "2.0", "method"\n]')
    expect(await c.frameAt(from)).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.ParseError, message: expect.any(String) } })
    await expectNoReplySince(c, from + 1)
  })

  it('rpc call with an empty Array: one -32600 (not an array), id null', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('[]')
    expect(await c.frameAt(from)).toEqual({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.any(String) } })
  })

  it('rpc call with an invalid Batch but not empty, [1]: an array of one -32600', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('[1]')
    expect(await c.frameAt(from)).toEqual([{ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.any(String) } }])
  })

  it('rpc call with an invalid Batch, [1,2,3]: an array of three -32600', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send('[1,2,3]')
    const invalid = { jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.any(String) } }
    expect(await c.frameAt(from)).toEqual([invalid, invalid, invalid])
  })

  it('rpc call Batch of mixed valid and invalid requests: one array with a response per request, none per notification', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send(`[
      {"jsonrpc": "2.0", "method": "hub.stats", "params": {}, "id": "1"},
      {"jsonrpc": "2.0", "method": "agents.list", "params": [7]},
      {"jsonrpc": "2.0", "method": "agents.list", "params": {}, "id": "2"},
      {"foo": "boo"},
      {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
      {"jsonrpc": "2.0", "method": "hub.sessions", "id": "9"}
    ]`)
    const batch = (await c.frameAt(from)) as Array<Record<string, any>>
    expect(Array.isArray(batch)).toBe(true)
    expect(batch).toHaveLength(5)
    const byId = (id: string | null) => batch.filter((r) => r.id === id)
    expect(byId('1')).toEqual([{ jsonrpc: '2.0', id: '1', result: expect.objectContaining({ agents_running: 1 }) }])
    expect(byId('2')).toEqual([{ jsonrpc: '2.0', id: '2', result: { agents: [expect.objectContaining({ id: 'echo' })] } }])
    expect(byId(null)).toEqual([{ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.any(String) } }])
    expect(byId('5')).toEqual([{ jsonrpc: '2.0', id: '5', error: { code: ErrorCode.MethodNotFound, message: expect.any(String) } }])
    expect(byId('9')).toEqual([{ jsonrpc: '2.0', id: '9', result: { sessions: [] } }])
    await expectNoReplySince(c, from + 1)
  })

  it('rpc call Batch, all notifications: no frame at all', async () => {
    const c = await authed()
    const from = c.frames.length
    c.send(`[
      {"jsonrpc": "2.0", "method": "hub.stats", "params": [1,2,4]},
      {"jsonrpc": "2.0", "method": "agents.list", "params": [7]}
    ]`)
    await expectNoReplySince(c, from)
  })
})

describe('WebSocketHostTransport backpressure', () => {
  let http: Server
  let wss: WebSocketServer

  afterEach(async () => {
    wss?.close()
    await new Promise<void>((done) => (http ? http.close(() => done()) : done()))
  })

  it('a peer flooding malformed frames without reading the answers is disconnected', async () => {
    http = createServer()
    wss = new WebSocketServer({ server: http })
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done))
    const accepted = new Promise<WebSocket>((done) => wss.once('connection', done))
    const flooder = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`)
    await new Promise((done) => flooder.once('open', done))
    const transport = new WebSocketHostTransport(await accepted, { refusalBufferLimit: 64 * 1024 })
    const forwarded: unknown[] = []
    transport.onMessage((m) => forwarded.push(m))
    flooder.pause()
    let sent = 0
    while (!transport.isDisconnected && sent < 2_000_000) {
      for (let i = 0; i < 1000; i++) flooder.send('{')
      sent += 1000
      await new Promise((done) => setImmediate(done))
    }
    expect(transport.isDisconnected).toBe(true)
    expect(forwarded).toEqual([])
    flooder.terminate()
  })

  it('turns unwritable while the reader stalls, drains when it reads again, and loses nothing', async () => {
    http = createServer()
    wss = new WebSocketServer({ server: http })
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done))
    const accepted = new Promise<WebSocket>((done) => wss.once('connection', done))
    const reader = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`)
    const received: number[] = []
    reader.on('message', (data) => received.push((JSON.parse(data.toString()) as { n: number }).n))
    await new Promise((done) => reader.once('open', done))
    const transport = new WebSocketHostTransport(await accepted, { highWaterBytes: 64 * 1024 })
    reader.pause()

    const chunk = 'y'.repeat(64 * 1024)
    let sent = 0
    while (transport.writable && sent < 4096) transport.send({ n: sent++, chunk }, chunk.length)
    expect(transport.writable).toBe(false)
    expect(transport.bufferedBytes).toBeGreaterThanOrEqual(64 * 1024)

    const drained = once(transport.onDidDrain)
    reader.resume()
    await drained
    expect(transport.writable).toBe(true)
    const all = new Promise<void>((done) => {
      const check = () => (received.length === sent ? done() : reader.once('message', check))
      check()
    })
    await all
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => i))

    const disconnected = once(transport.onDidDisconnect)
    reader.close()
    await disconnected
    expect(transport.writable).toBe(false)
  })
})
