import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Clock } from '../../src/base/clock.js'
import { Hub } from '../../src/hub/hub.js'
import type { ProcessLauncher } from '../../src/hub/process-launcher.js'
import { ErrorCode } from '../../src/protocol/errors.js'
import { MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { WsTestClient, isRecord } from './support/ws-test-client.js'

const TOKEN = 'hostile-peers-token'
const KiB = 1024
const MiB = 1024 * KiB

const noAgents: ProcessLauncher = {
  launch() {
    throw new Error('this hub has no agents')
  },
}

/** Timers that fire only when the test says so: the authentication deadline never races the test. */
class HeldClock implements Clock {
  private readonly timers = new Set<() => void>()
  now(): number {
    return 0
  }
  setTimeout(fn: () => void): { dispose(): void } {
    this.timers.add(fn)
    return { dispose: () => this.timers.delete(fn) }
  }
  setInterval(): { dispose(): void } {
    return { dispose() {} }
  }
  fireAll(): void {
    for (const fn of [...this.timers]) {
      this.timers.delete(fn)
      fn()
    }
  }
}

let hub: Hub
let server: HubServer
const clock = new HeldClock()
const clients: WsTestClient[] = []

async function track(c: Promise<WsTestClient>): Promise<WsTestClient> {
  const client = await c
  clients.push(client)
  return client
}
const connect = () => track(WsTestClient.connect(server.wsUrl))
const authed = () => track(WsTestClient.authed(server.wsUrl, TOKEN))

function authFrame(id: number | string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'session.auth', params: { host_token: TOKEN } })
}

function errorOf(frame: unknown): { code: number; message: string } {
  if (!isRecord(frame) || !isRecord(frame.error)) throw new Error(`not an error response: ${JSON.stringify(frame)}`)
  return frame.error as { code: number; message: string }
}

/** A second, authenticated client is answered while the hostile frame is handled. */
async function servedMeanwhile(bystander: WsTestClient): Promise<void> {
  const reply = await bystander.call('hub.stats', {})
  expect(reply.result).toMatchObject({ hosts_connected: expect.any(Number) })
}

beforeAll(async () => {
  hub = new Hub({ agents: [], launcher: noAgents })
  await hub.start()
  server = await HubServer.listen({ hub, token: TOKEN, port: 0, clock })
})

afterAll(async () => {
  for (const c of clients) c.socket.terminate()
  await hub?.shutdown()
  await server?.close()
})

describe('before authentication (§2)', () => {
  it('a first frame of exactly 64 KiB is read: a padded session.auth authenticates', async () => {
    const c = await connect()
    const frame = authFrame(1)
    c.send(frame + ' '.repeat(64 * KiB - frame.length))
    expect(await c.frameAt(0)).toMatchObject({ id: 1, result: { ok: true, role: 'host' } })
  })

  it('a first frame over 64 KiB is refused unread with -32001, even a valid session.auth', async () => {
    for (const size of [64 * KiB + 1, 16 * MiB - 1]) {
      const bystander = await authed()
      const c = await connect()
      const frame = authFrame(2)
      c.send(frame + ' '.repeat(size - frame.length))
      await servedMeanwhile(bystander)
      const closed = await c.closed
      expect(closed.code, String(size)).toBe(1008)
      expect(c.frames, String(size)).toEqual([
        { jsonrpc: '2.0', id: null, error: { code: ErrorCode.NotAuthenticated, message: 'not authenticated' } },
      ])
    }
  })

  it('8 M "[" then 8 M "]" as a first frame: refused, and other hosts are served meanwhile', async () => {
    const bystander = await authed()
    const c = await connect()
    c.send('['.repeat(8 * MiB) + ']'.repeat(8 * MiB))
    await servedMeanwhile(bystander)
    expect((await c.closed).code).toBe(1008)
    expect(c.frames).toHaveLength(1)
    expect(errorOf(c.frames[0]).code).toBe(ErrorCode.NotAuthenticated)
  })

  it('the 65th unauthenticated socket closes the oldest; a host that authenticates at once still gets in', async () => {
    const idle: WsTestClient[] = []
    for (let i = 0; i < 64; i++) idle.push(await connect())
    const oldestClosed = idle[0]!.closed
    const newcomer = await connect()
    expect((await oldestClosed).code).toBe(1008)
    expect(idle[0]!.frames).toEqual([])
    // The rest are still open, and the newcomer can authenticate.
    const reply = await newcomer.call('session.auth', { host_token: TOKEN })
    expect(reply.result).toMatchObject({ ok: true })
    expect(idle.slice(1).every((c) => c.socket.readyState === c.socket.OPEN)).toBe(true)
    for (const c of idle) c.socket.terminate()
  })

  it('closes a socket that has not authenticated when the deadline passes (injected clock)', async () => {
    const late = await connect()
    const inTime = await authed()
    clock.fireAll()
    expect((await late.closed).code).toBe(1008)
    expect(late.frames).toEqual([])
    expect((await inTime.call('hub.stats', {})).result).toBeDefined()
  })
})

describe('after authentication (§2)', () => {
  it(`JSON nested deeper than ${MAX_JSON_DEPTH} is refused with -32600 before parsing; 256 levels are read`, async () => {
    const c = await authed()
    const deep = (depth: number) => '['.repeat(depth - 1) + ']'.repeat(depth - 1)
    // params at depth 1, so the value inside nests depth - 1 levels below it.
    c.send(`{"jsonrpc":"2.0","id":"ok","method":"hub.stats","params":{"x":${deep(MAX_JSON_DEPTH - 1)}}}`)
    expect(errorOf(await c.waitFor((f) => isRecord(f) && f.id === 'ok')).code).toBe(ErrorCode.InvalidParams)
    const from = c.frames.length
    c.send(`{"jsonrpc":"2.0","id":"deep","method":"hub.stats","params":{"x":${deep(MAX_JSON_DEPTH)}}}`)
    expect(await c.frameAt(from)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: ErrorCode.InvalidRequest, message: 'invalid request: nested too deeply' },
    })
    expect((await c.call('hub.stats', {})).result).toBeDefined()
  })

  it('16 MiB of nesting from an authenticated host: -32600, the connection stays usable, others are served', async () => {
    const bystander = await authed()
    const c = await authed()
    const from = c.frames.length
    c.send('['.repeat(8 * MiB) + ']'.repeat(8 * MiB))
    await servedMeanwhile(bystander)
    expect(errorOf(await c.frameAt(from)).code).toBe(ErrorCode.InvalidRequest)
    expect((await c.call('hub.stats', {})).result).toBeDefined()
  })

  it('a flat 16 MiB array: -32600 without parsing it, others are served', async () => {
    const bystander = await authed()
    const c = await authed()
    const from = c.frames.length
    c.send(`[${'1,'.repeat(8 * MiB - 2)}1]`) // just under 16 MiB
    await servedMeanwhile(bystander)
    expect(await c.frameAt(from)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: ErrorCode.InvalidRequest, message: 'invalid request: too many values' },
    })
    expect((await c.call('hub.stats', {})).result).toBeDefined()
  })
})

describe('in-flight bound (§8)', () => {
  it('a batch of 4,097 hub.stats is answered in full: requests answered at once never count', async () => {
    const c = await authed()
    const from = c.frames.length
    c.sendJson(Array.from({ length: 4097 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'hub.stats' })))
    const answers = await c.frameAt(from)
    expect(Array.isArray(answers)).toBe(true)
    const list = answers as Array<Record<string, unknown>>
    expect(list).toHaveLength(4097)
    expect(list.filter((a) => !('result' in a))).toEqual([])
  })
})

describe('Host check (§2)', () => {
  function get(host: string | undefined, extra: Record<string, string> = {}) {
    return new Promise<{ status: number; upgraded: boolean }>((done, fail) => {
      const req = request({
        host: '127.0.0.1',
        port: server.port,
        path: '/',
        setHost: false,
        headers: { ...(host === undefined ? {} : { Host: host }), ...extra },
      })
      req.on('response', (res) => {
        res.resume()
        done({ status: res.statusCode ?? 0, upgraded: false })
      })
      req.on('upgrade', (_res, socket) => {
        socket.destroy()
        done({ status: 101, upgraded: true })
      })
      req.on('error', fail)
      req.end()
    })
  }
  const upgrade = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
  }

  it('answers its own host names and nothing else, upgrades included', async () => {
    const port = server.port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      expect((await get(host)).status, host).not.toBe(421)
      expect((await get(host, upgrade)).status, host).toBe(101)
    }
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `127.0.0.2:${port}`, `a@127.0.0.1:${port}`, '']) {
      expect((await get(host)).status, String(host)).toBe(421)
      expect((await get(host, upgrade)).status, String(host)).toBe(421)
    }
  })
})
