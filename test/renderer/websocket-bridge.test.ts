import { describe, expect, it, vi } from 'vitest'
import { RpcError } from '../../src/protocol/errors.js'
import type { HubNotification } from '../../src/protocol/bridge.js'
import { WebSocketBridge, type WebSocketLike } from '../../src/renderer/src/bridge/websocket-bridge.js'

/** The hub end of a socket, played by the test. */
class FakeSocket implements WebSocketLike {
  readyState = 0
  onopen: ((event: Event) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  onclose: ((event: CloseEvent) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  readonly frames: string[] = []
  closedWith: { code?: number; reason?: string } | undefined

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: not open')
    this.frames.push(data)
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.readyState = 3
  }

  /** What the page sent, parsed. */
  get sent(): Array<{ jsonrpc: string; id?: number; method?: string; params?: unknown }> {
    return this.frames.map((f) => JSON.parse(f))
  }

  open(): void {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }

  deliver(data: unknown): void {
    this.onmessage?.(new MessageEvent('message', { data: typeof data === 'string' ? data : JSON.stringify(data) }))
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3
    this.onclose?.(new CloseEvent('close', { code, reason }))
  }

  /** Answers the auth request the page sent first. */
  acceptAuth(): void {
    const auth = this.sent[0]!
    this.deliver({ jsonrpc: '2.0', id: auth.id, result: { ok: true, role: 'host', client_id: 'c-7' } })
  }
}

function connect() {
  let socket: FakeSocket | undefined
  const bridge = new WebSocketBridge({
    url: 'ws://127.0.0.1:9000/',
    token: 'tok-123',
    createSocket: (url) => (socket = new FakeSocket(url)),
  })
  return { bridge, socket: socket! }
}

/** Waits until the bridge has taken in the auth answer. */
const authenticated = (bridge: WebSocketBridge) => vi.waitFor(() => expect(bridge.clientId).toBe('c-7'))

describe('WebSocketBridge', () => {
  it('authenticates first, holds earlier requests until then, and matches answers by id', async () => {
    const { bridge, socket } = connect()
    expect(socket.url).toBe('ws://127.0.0.1:9000/')
    const list = bridge.request('agents.list', {})
    const stats = bridge.request('hub.stats')
    socket.open()
    expect(socket.sent).toEqual([{ jsonrpc: '2.0', id: 3, method: 'session.auth', params: { host_token: 'tok-123' } }])

    socket.acceptAuth()
    await authenticated(bridge)
    expect(socket.sent.slice(1)).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'agents.list', params: {} },
      { jsonrpc: '2.0', id: 2, method: 'hub.stats' },
    ])

    // Answers in the other order still reach their callers.
    socket.deliver({ jsonrpc: '2.0', id: 2, result: { sessions_active: 0 } })
    socket.deliver({ jsonrpc: '2.0', id: 1, result: { agents: [] } })
    await expect(list).resolves.toEqual({ agents: [] })
    await expect(stats).resolves.toEqual({ sessions_active: 0 })

    const chat = bridge.request('agents.chat', { agent_id: 'echo', prompt: 'hi' })
    expect(socket.sent.at(-1)).toEqual({ jsonrpc: '2.0', id: 4, method: 'agents.chat', params: { agent_id: 'echo', prompt: 'hi' } })
    socket.deliver({ jsonrpc: '2.0', id: 4, error: { code: -32011, message: 'agent unavailable', data: { agent_error: { code: 1, message: 'no' } } } })
    const error = await chat.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect(error).toMatchObject({ code: -32011, message: 'agent unavailable', data: { agent_error: { code: 1, message: 'no' } } })
  })

  it('fails every waiting request and closes when the token is refused', async () => {
    const { bridge, socket } = connect()
    const closed = vi.fn()
    bridge.onDidClose(closed)
    const waiting = bridge.request('host.subscribe', {})
    socket.open()
    socket.deliver({ jsonrpc: '2.0', id: socket.sent[0]!.id, error: { code: -32001, message: 'not authenticated' } })
    await expect(waiting).rejects.toMatchObject({ code: -32001 })
    expect(socket.closedWith).toBeDefined()
    expect(socket.sent).toHaveLength(1)
    expect(closed).toHaveBeenCalledTimes(1)
    expect(closed.mock.calls[0]![0]).toMatchObject({ code: -32001 })
    expect(bridge.status).toBe('closed')
    await expect(bridge.request('agents.list', {})).rejects.toMatchObject({ code: -32001 })
  })

  it('hands notifications to every listener, also inside a batch, and stops after unsubscribe', async () => {
    const { bridge, socket } = connect()
    socket.open()
    socket.acceptAuth()
    await authenticated(bridge)
    const first: HubNotification[] = []
    const second: HubNotification[] = []
    bridge.onNotification(() => {
      throw new Error('a broken listener')
    })
    const unsubscribe = bridge.onNotification((n) => first.push(n))
    bridge.onNotification((n) => second.push(n))
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const pending = bridge.request('hub.sessions', {})
    socket.deliver([
      { jsonrpc: '2.0', method: 'agents.chat.event', params: { session_id: 's', agent_id: 'a', kind: 'token', delta: 'x' } },
      { jsonrpc: '2.0', id: 2, result: { sessions: [] } },
    ])
    await expect(pending).resolves.toEqual({ sessions: [] })
    expect(first).toEqual([{ method: 'agents.chat.event', params: { session_id: 's', agent_id: 'a', kind: 'token', delta: 'x' } }])
    unsubscribe()
    socket.deliver({ jsonrpc: '2.0', method: 'host.event', params: { sequence: 1 } })
    expect(first).toHaveLength(1)
    expect(second.map((n) => n.method)).toEqual(['agents.chat.event', 'host.event'])
    expect(errors).toHaveBeenCalled()
    errors.mockRestore()
  })

  it('survives garbage from the hub and refuses the hub\'s requests', async () => {
    const { bridge, socket } = connect()
    socket.open()
    socket.acceptAuth()
    await authenticated(bridge)
    const seen: HubNotification[] = []
    bridge.onNotification((n) => seen.push(n))
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    socket.deliver('{not json')
    socket.deliver({ jsonrpc: '1.0', method: 'x' })
    socket.deliver({ jsonrpc: '2.0', id: 999, result: 'nobody asked' })
    socket.deliver({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
    socket.onmessage?.(new MessageEvent('message', { data: new ArrayBuffer(4) }))
    socket.deliver({ jsonrpc: '2.0', id: 'srv-1', method: 'host.ping', params: {} })
    expect(socket.sent.at(-1)).toEqual({ jsonrpc: '2.0', id: 'srv-1', error: { code: -32601, message: 'method not found: host.ping' } })
    socket.deliver({ jsonrpc: '2.0', method: 'host.event', params: { ok: 1 } })
    expect(seen).toEqual([{ method: 'host.event', params: { ok: 1 } }])
    warn.mockRestore()
  })

  it('fails pending requests when the connection drops, and tells its listeners once', async () => {
    const { bridge, socket } = connect()
    socket.open()
    socket.acceptAuth()
    await authenticated(bridge)
    const closed = vi.fn()
    bridge.onDidClose(closed)
    const pending = bridge.request('agents.chat', { agent_id: 'echo', prompt: 'hi' })
    socket.drop(1001, 'hub shutting down')
    await expect(pending).rejects.toMatchObject({ code: -32603, message: expect.stringContaining('hub shutting down') })
    await expect(bridge.request('agents.list', {})).rejects.toBeInstanceOf(RpcError)
    socket.drop()
    expect(closed).toHaveBeenCalledTimes(1)
    const late = vi.fn()
    bridge.onDidClose(late)
    expect(late).toHaveBeenCalledTimes(1)
  })
})
