import { EventEmitter } from 'node:events'
import { MessageChannel } from 'node:worker_threads'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CarhostBridge, HubNotification } from '../../../src/protocol/bridge.js'
import { HubPortClient, isPlainData, type HubPort } from '../../../src/preload/hub-port-client.js'
import { dataOf } from './fake-electron.js'

vi.mock('electron', () => import('./fake-electron.js'))

type FakeElectron = typeof import('./fake-electron.js')

/** The main process's end of a window's channel: what it received from the preload. */
function mainEnd() {
  const channel = new MessageChannel()
  const received: Array<Record<string, unknown>> = []
  channel.port1.addEventListener('message', (event) => received.push(dataOf(event) as Record<string, unknown>))
  channel.port1.start()
  const acks = () => received.filter((m) => m.method === 'host.ack').map((m) => (m.params as { count: number }).count)
  const requests = () => received.filter((m) => m.method !== 'host.ack')
  return { channel, received, acks, requests, post: (m: unknown) => channel.port1.postMessage(m) }
}

/** `src/preload/index.ts` loaded fresh against the fake `electron`, as Electron would run it. */
describe('preload (src/preload/index.ts)', () => {
  let electron: FakeElectron
  let carhost: CarhostBridge
  const channels: MessageChannel[] = []

  beforeEach(async () => {
    vi.resetModules()
    electron = (await import('electron')) as unknown as FakeElectron
    electron.resetFakeElectron()
    await import('../../../src/preload/index.js')
    carhost = electron.contextBridge.exposed.get('carhost') as CarhostBridge
  })

  afterEach(() => {
    for (const channel of channels.splice(0)) {
      channel.port1.close()
      channel.port2.close()
    }
  })

  function connect() {
    const main = mainEnd()
    channels.push(main.channel)
    electron.ipcRenderer.deliver('carhost:port', [main.channel.port2])
    return main
  }

  it('exposes exactly window.carhost = {request, onNotification, onDidClose, onDidReconnect}', () => {
    expect(electron.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1)
    expect(electron.contextBridge.exposeInMainWorld.mock.calls[0]![0]).toBe('carhost')
    expect(Object.keys(carhost).sort()).toEqual(['onDidClose', 'onDidReconnect', 'onNotification', 'request'])
    expect(typeof carhost.request).toBe('function')
    expect(typeof carhost.onNotification).toBe('function')
  })

  it('queues requests made before the port arrives and matches responses by id', async () => {
    const early = carhost.request('agents.list', {})
    const main = connect()
    const late = carhost.request('hub.stats')
    await vi.waitFor(() => expect(main.requests()).toHaveLength(2))
    const [first, second] = main.requests() as Array<{ id: number; method: string; jsonrpc: string }>
    expect(first).toMatchObject({ jsonrpc: '2.0', method: 'agents.list', params: {} })
    expect(second).toMatchObject({ jsonrpc: '2.0', method: 'hub.stats' })
    expect(second).not.toHaveProperty('params')
    expect(first!.id).not.toBe(second!.id)
    // answered out of order
    main.post({ jsonrpc: '2.0', id: second!.id, result: { sessions_active: 0 } })
    main.post({ jsonrpc: '2.0', id: first!.id, error: { code: -32010, message: 'unknown agent', data: { x: 1 } } })
    await expect(late).resolves.toEqual({ sessions_active: 0 })
    await expect(early).rejects.toEqual({ code: -32010, message: 'unknown agent', data: { x: 1 } })
  })

  it('delivers hub notifications to every listener until it unsubscribes', async () => {
    const main = connect()
    const a: HubNotification[] = []
    const b: HubNotification[] = []
    const unsubscribeA = carhost.onNotification((n) => a.push(n))
    carhost.onNotification((n) => b.push(n))
    main.post({ jsonrpc: '2.0', method: 'host.event', params: { sequence: 1 } })
    await vi.waitFor(() => expect(b).toHaveLength(1))
    unsubscribeA()
    main.post({ jsonrpc: '2.0', method: 'agents.chat.event', params: { session_id: 's', kind: 'token', delta: 'x' } })
    await vi.waitFor(() => expect(b).toHaveLength(2))
    expect(a).toEqual([{ method: 'host.event', params: { sequence: 1 } }])
    expect(b[1]).toEqual({ method: 'agents.chat.event', params: { session_id: 's', kind: 'token', delta: 'x' } })
  })

  it("turns the main process's Settings… into the page's app.showSettings, without acknowledging it to the hub", async () => {
    const main = connect()
    const seen: HubNotification[] = []
    carhost.onNotification((n) => seen.push(n))
    electron.ipcRenderer.deliver('carhost:show-settings', [])
    expect(seen).toEqual([{ method: 'app.showSettings', params: {} }])
    main.post({ jsonrpc: '2.0', method: 'host.event', params: { sequence: 1 } })
    await vi.waitFor(() => expect(main.acks().reduce((sum, n) => sum + n, 0)).toBe(1))
    expect(seen).toHaveLength(2)
  })

  it('acknowledges every consumed message with batched host.ack, not one per message', async () => {
    const main = connect()
    const seen: HubNotification[] = []
    carhost.onNotification((n) => seen.push(n))
    for (let i = 0; i < 200; i++) main.post({ jsonrpc: '2.0', method: 'agents.chat.event', params: { i } })
    await vi.waitFor(() => expect(main.acks().reduce((sum, n) => sum + n, 0)).toBe(200))
    expect(seen).toHaveLength(200)
    expect(main.acks().length).toBeLessThanOrEqual(Math.ceil(200 / 64) + 1)
  })

  it("intercepts 'app.newWindow': it goes to the main process over ipcRenderer.invoke, never to the hub", async () => {
    const main = connect()
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ opened: true })
    await expect(carhost.request('app.newWindow')).resolves.toEqual({ opened: true })
    await expect(carhost.request('app.newWindow', {})).resolves.toBeUndefined()
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledTimes(2)
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith('carhost:new-window')
    await expect(carhost.request('app.newWindow', { url: 'https://evil.example' })).rejects.toMatchObject({ code: -32602 })
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledTimes(2)
    electron.ipcRenderer.invoke.mockRejectedValueOnce(new Error('refused'))
    await expect(carhost.request('app.newWindow')).rejects.toMatchObject({ code: -32603 })
    // a round trip through the hub port proves nothing of the above reached it
    const probe = carhost.request('agents.list', {})
    await vi.waitFor(() => expect(main.requests()).toHaveLength(1))
    expect(main.requests()[0]).toMatchObject({ method: 'agents.list' })
    main.post({ jsonrpc: '2.0', id: (main.requests()[0] as { id: number }).id, result: { agents: [] } })
    await probe
  })

  it('refuses params that are not plain data, and the reserved host.ack, without posting', async () => {
    const main = connect()
    class Custom {
      x = 1
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad: unknown[] = [() => 1, new Date(), new Custom(), cyclic, { n: NaN }, { s: Symbol('x') }, [undefined], 10n, new Map()]
    for (const params of bad) {
      await expect(carhost.request('agents.chat', params)).rejects.toMatchObject({ code: -32602 })
    }
    await expect(carhost.request('host.ack', { count: 1000 })).rejects.toMatchObject({ code: -32600 })
    await expect(carhost.request('')).rejects.toMatchObject({ code: -32600 })
    const ok = carhost.request('agents.chat', { agent_id: 'echo', prompt: 'p', session_id: undefined })
    await vi.waitFor(() => expect(main.requests()).toHaveLength(1))
    expect(main.requests()[0]).toMatchObject({ method: 'agents.chat', params: { agent_id: 'echo', prompt: 'p' } })
    main.post({ jsonrpc: '2.0', id: (main.requests()[0] as { id: number }).id, result: { accepted: true } })
    await ok
    expect(main.acks().every((count) => count >= 1)).toBe(true)
  })

  it('a new port (the main process reconnected) fails what was pending and carries new requests', async () => {
    const first = connect()
    const pending = carhost.request('agents.list', {})
    await vi.waitFor(() => expect(first.requests()).toHaveLength(1))
    const second = connect()
    await expect(pending).rejects.toMatchObject({ code: -32603 })
    const next = carhost.request('hub.sessions', {})
    await vi.waitFor(() => expect(second.requests()).toHaveLength(1))
    second.post({ jsonrpc: '2.0', id: (second.requests()[0] as { id: number }).id, result: { sessions: [] } })
    await expect(next).resolves.toEqual({ sessions: [] })
    expect(first.requests()).toHaveLength(1)
  })

  it('when the hub closes the port, pending and later requests fail', async () => {
    const main = connect()
    const pending = carhost.request('agents.list', {})
    await vi.waitFor(() => expect(main.requests()).toHaveLength(1))
    main.channel.port1.close()
    await expect(pending).rejects.toMatchObject({ code: -32603 })
    await expect(carhost.request('agents.list', {})).rejects.toMatchObject({ code: -32603 })
  })

  it('when the hub closes the port, the page hears it, the preload asks main for a new port, and the page hears it arrive', async () => {
    const main = connect()
    const closes: unknown[] = []
    let reconnects = 0
    carhost.onDidClose!((error) => closes.push(error))
    carhost.onDidReconnect!(() => reconnects++)
    const pending = carhost.request('agents.chat', { agent_id: 'echo', prompt: 'p' })
    await vi.waitFor(() => expect(main.requests()).toHaveLength(1))
    main.channel.port1.close()
    await expect(pending).rejects.toEqual({ code: -32603, message: 'the hub closed the connection' })
    await vi.waitFor(() => expect(closes).toEqual([{ code: -32603, message: 'the hub closed the connection' }]))
    expect(electron.ipcRenderer.send).toHaveBeenCalledWith('carhost:reconnect')
    expect(reconnects).toBe(0)

    const next = connect() // main answers with a fresh port
    expect(reconnects).toBe(1)
    const again = carhost.request('host.subscribe', {})
    await vi.waitFor(() => expect(next.requests()).toHaveLength(1))
    next.post({ jsonrpc: '2.0', id: (next.requests()[0] as { id: number }).id, result: { agents: [] } })
    await expect(again).resolves.toEqual({ agents: [] })
  })

  it('rejections reach the page as plain {code, message, data} objects (an Error loses them at the context bridge)', async () => {
    const main = connect()
    const request = carhost.request('agents.list', {})
    await vi.waitFor(() => expect(main.requests()).toHaveLength(1))
    main.post({ jsonrpc: '2.0', id: (main.requests()[0] as { id: number }).id, error: { code: -32010, message: 'unknown agent' } })
    const error: unknown = await request.catch((e: unknown) => e)
    expect(error).not.toBeInstanceOf(Error)
    expect(error).toEqual({ code: -32010, message: 'unknown agent' })
  })
})

/** A DOM-style port whose deliveries the test performs synchronously. */
class ScriptedDomPort extends EventEmitter implements HubPort {
  readonly posted: Array<Record<string, unknown>> = []
  closed = false
  postMessage(message: unknown): void {
    this.posted.push(message as Record<string, unknown>)
  }
  addEventListener(type: 'message' | 'close', listener: (event: { data: unknown }) => void): void {
    this.on(type, listener)
  }
  removeEventListener(type: 'message' | 'close', listener: (event: { data: unknown }) => void): void {
    this.off(type, listener)
  }
  start(): void {}
  close(): void {
    this.closed = true
  }
  deliver(data: unknown): void {
    this.emit('message', { data })
  }
  acks(): number[] {
    return this.posted.filter((m) => m.method === 'host.ack').map((m) => (m.params as { count: number }).count)
  }
}

describe('HubPortClient flow control', () => {
  function setup(ackEvery = 4) {
    const tasks: Array<() => void> = []
    const client = new HubPortClient({ openNewWindow: async () => ({}), ackEvery, scheduleMacrotask: (fn) => tasks.push(fn) })
    const port = new ScriptedDomPort()
    client.attachPort(port)
    const endTask = () => {
      for (const fn of tasks.splice(0)) fn()
    }
    return { client, port, tasks, endTask }
  }

  it('acks once per macrotask for what arrived in it', () => {
    const { port, endTask, tasks } = setup(100)
    for (let i = 0; i < 3; i++) port.deliver({ jsonrpc: '2.0', method: 'host.event', params: {} })
    expect(port.acks()).toEqual([])
    expect(tasks).toHaveLength(1) // one flush scheduled, not three
    endTask()
    expect(port.acks()).toEqual([3])
    endTask()
    expect(port.acks()).toEqual([3])
  })

  it('acks at once every ackEvery messages, the rest at the end of the macrotask', () => {
    const { port, endTask } = setup(4)
    for (let i = 0; i < 10; i++) port.deliver({ jsonrpc: '2.0', method: 'host.event', params: {} })
    expect(port.acks()).toEqual([4, 4])
    endTask()
    expect(port.acks()).toEqual([4, 4, 2])
  })

  it('counts malformed and batch messages too: one port message, one count', () => {
    const { port, endTask } = setup(100)
    port.deliver('garbage')
    port.deliver([{ jsonrpc: '2.0', method: 'host.event', params: {} }, { nonsense: true }])
    endTask()
    expect(port.acks()).toEqual([2])
  })

  it('acks only after the listeners consumed the message', () => {
    const { client, port } = setup(1)
    const order: string[] = []
    client.onNotification(() => order.push(`listener (acks so far: ${port.acks().length})`))
    port.deliver({ jsonrpc: '2.0', method: 'host.event', params: {} })
    expect(order).toEqual(['listener (acks so far: 0)'])
    expect(port.acks()).toEqual([1])
  })

  it('a listener that throws does not keep the others from the notification', () => {
    const errors: unknown[] = []
    const client = new HubPortClient({ openNewWindow: async () => ({}), reportListenerError: (e) => errors.push(e) })
    const port = new ScriptedDomPort()
    client.attachPort(port)
    const got = vi.fn()
    client.onNotification(() => {
      throw new Error('page bug')
    })
    client.onNotification(got)
    port.deliver({ jsonrpc: '2.0', method: 'host.event', params: { n: 1 } })
    expect(got).toHaveBeenCalledWith({ method: 'host.event', params: { n: 1 } })
    expect(errors).toEqual([new Error('page bug')])
  })

  it('ignores responses to unknown ids and messages of the wrong shape', async () => {
    const { client, port } = setup()
    const request = client.request('agents.list', {})
    const id = port.posted[0]!.id
    port.deliver({ jsonrpc: '2.0', id: 9999, result: 'not yours' })
    port.deliver({ jsonrpc: '1.0', id, result: 'wrong version' })
    port.deliver({ jsonrpc: '2.0', id: String(id), result: 'wrong id type' })
    expect(client.pendingRequests).toBe(1)
    port.deliver({ jsonrpc: '2.0', id, result: 'yours' })
    await expect(request).resolves.toBe('yours')
  })
})

describe('isPlainData', () => {
  it('accepts JSON-shaped values', () => {
    expect(isPlainData({ a: [1, 'x', true, null, { b: {} }], c: undefined })).toBe(true)
    expect(isPlainData(Object.create(null))).toBe(true)
  })

  it('refuses everything else', () => {
    const deep: Record<string, unknown> = {}
    let cursor = deep
    for (let i = 0; i < 100; i++) cursor = (cursor.next = {}) as Record<string, unknown>
    for (const value of [undefined, Infinity, () => 0, new Uint8Array(2), deep, { [Symbol('k')]: 1 }, new (class X {})()]) {
      expect(isPlainData(value)).toBe(false)
    }
  })

  it('allows a value to appear twice when it is not a cycle', () => {
    const shared = { x: 1 }
    expect(isPlainData({ a: shared, b: shared })).toBe(true)
  })
})
