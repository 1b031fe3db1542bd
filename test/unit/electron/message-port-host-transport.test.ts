import { EventEmitter } from 'node:events'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../../support/manual-clock.js'
import { Hub } from '../../../src/hub/hub.js'
import { MessagePortHostTransport, type MainPortLike } from '../../../src/platform/electron/message-port-host-transport.js'
import { HubPortClient, type HubPort } from '../../../src/preload/hub-port-client.js'
import { FakeLauncher, agentEvent, scriptedAgent, settle } from '../../support/fake-launcher.js'
import { agentSpec } from '../../support/spec.js'
import { dataOf } from './fake-electron.js'

/** A port whose traffic the test drives by hand, synchronously. */
class ScriptedPort extends EventEmitter implements MainPortLike {
  readonly posted: unknown[] = []
  started = false
  closeCalls = 0
  throwOnPost = false

  postMessage(message: unknown): void {
    if (this.throwOnPost) throw new Error('port is gone')
    this.posted.push(message)
  }
  start(): void {
    this.started = true
  }
  close(): void {
    this.closeCalls++
  }
  /** A message from the window. */
  receive(data: unknown): void {
    this.emit('message', { data })
  }
}

const ack = (count: unknown) => ({ jsonrpc: '2.0', method: 'host.ack', params: { count } })

/** Per-tick merging is off unless a test asks for it: these tests count acks and sizes within one tick. */
function setup(options: ConstructorParameters<typeof MessagePortHostTransport>[1] = {}) {
  const port = new ScriptedPort()
  const transport = new MessagePortHostTransport(port, { mergeWithinTick: false, ...options })
  const received: unknown[] = []
  const drains = vi.fn()
  const disconnects = vi.fn()
  transport.onMessage((m) => received.push(m))
  transport.onDidDrain(drains)
  transport.onDidDisconnect(disconnects)
  return { port, transport, received, drains, disconnects }
}

describe('MessagePortHostTransport', () => {
  it('starts the port, posts what the hub sends and hands the window messages to the hub', () => {
    const { port, transport, received } = setup()
    expect(port.started).toBe(true)
    transport.send({ jsonrpc: '2.0', id: 1, result: {} }, 30)
    expect(port.posted).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }])
    port.receive({ jsonrpc: '2.0', id: 7, method: 'agents.list' })
    expect(received).toEqual([{ jsonrpc: '2.0', id: 7, method: 'agents.list' }])
  })

  it("holds back after a tick's first message, so the hub merges the rest, and drains when the tick ends", () => {
    const releases: Array<() => void> = []
    const { port, transport, drains } = setup({ mergeWithinTick: true, scheduleRelease: (fn) => releases.push(fn) })
    expect(transport.writable).toBe(true)
    transport.send({ n: 1 }, 10)
    expect(port.posted).toHaveLength(1)
    expect(transport.writable).toBe(false) // the rest of this tick waits in the hub's outbox
    expect(releases).toHaveLength(1)
    port.receive(ack(1)) // an ack within the tick does not end the hold
    expect(drains).not.toHaveBeenCalled()
    const flushed: number[] = []
    drains.mockImplementation(() => {
      // What the hub does on drain: it sends its queue while writable, in one go.
      for (let i = 2; i <= 4 && transport.writable; i++) {
        transport.send({ n: i }, 10)
        flushed.push(i)
      }
    })
    releases.shift()!()
    expect(drains).toHaveBeenCalledTimes(1)
    expect(flushed).toEqual([2, 3, 4]) // sends during the release do not hold again
    expect(releases).toHaveLength(0)
    transport.send({ n: 5 }, 10) // the next tick's first message
    expect(transport.writable).toBe(false)
    expect(releases).toHaveLength(1)
  })

  it('a release while the window is behind leaves the drain to its ack', () => {
    const releases: Array<() => void> = []
    const { port, transport, drains } = setup({ mergeWithinTick: true, highWaterBytes: 10, scheduleRelease: (fn) => releases.push(fn) })
    transport.send({ n: 1 }, 10)
    releases.shift()!()
    expect(drains).not.toHaveBeenCalled()
    expect(transport.writable).toBe(false)
    port.receive(ack(1))
    expect(drains).toHaveBeenCalledTimes(1)
    expect(transport.writable).toBe(true)
  })

  it('stops being writable at the byte high-water mark and drains on host.ack', () => {
    const { port, transport, received, drains } = setup({ highWaterBytes: 100 })
    transport.send({ n: 1 }, 40)
    transport.send({ n: 2 }, 40)
    expect(transport.writable).toBe(true)
    expect(transport.bufferedBytes).toBe(80)
    transport.send({ n: 3 }, 30)
    expect(transport.writable).toBe(false)
    expect(transport.bufferedBytes).toBe(110)

    port.receive(ack(1)) // the oldest (40 bytes) was consumed: 70 < 100
    expect(transport.bufferedBytes).toBe(70)
    expect(transport.writable).toBe(true)
    expect(drains).toHaveBeenCalledTimes(1)
    expect(received).toEqual([]) // acks never reach the hub

    port.receive(ack(2))
    expect(transport.bufferedBytes).toBe(0)
    expect(transport.unacknowledged).toBe(0)
    expect(drains).toHaveBeenCalledTimes(1) // it was writable already: no second drain
  })

  it('stops being writable at the message high-water mark', () => {
    const { port, transport, drains } = setup({ highWaterMessages: 3, highWaterBytes: 1e9 })
    for (let i = 0; i < 3; i++) transport.send({ i }, 1)
    expect(transport.writable).toBe(false)
    port.receive(ack(1))
    expect(transport.writable).toBe(true)
    expect(drains).toHaveBeenCalledTimes(1)
  })

  it('releases sizes oldest first across many wraps of its ring', () => {
    const { port, transport } = setup({ highWaterMessages: 8, highWaterBytes: 1e9 })
    let expected = 0
    const inFlight: number[] = []
    for (let round = 0; round < 500; round++) {
      while (transport.writable) {
        const size = 1 + ((round * 7 + inFlight.length * 13) % 97)
        transport.send({ round }, size)
        inFlight.push(size)
        expected += size
      }
      const count = 1 + (round % inFlight.length)
      port.receive(ack(count))
      for (const size of inFlight.splice(0, count)) expected -= size
      expect(transport.bufferedBytes).toBe(expected)
    }
  })

  it('ignores malformed acks without forwarding them or disconnecting', () => {
    const onMalformedAck = vi.fn()
    const { port, transport, received, disconnects } = setup({ highWaterBytes: 10, onMalformedAck })
    transport.send({}, 20)
    const malformed = [
      ack(0),
      ack(-1),
      ack(1.5),
      ack('1'),
      ack(2_000_000),
      { jsonrpc: '2.0', method: 'host.ack' },
      { jsonrpc: '2.0', method: 'host.ack', params: { count: 1, extra: true } },
      { jsonrpc: '2.0', method: 'host.ack', params: { count: 1 }, id: 3 },
      { jsonrpc: '1.0', method: 'host.ack', params: { count: 1 } },
    ]
    for (const message of malformed) port.receive(message)
    expect(onMalformedAck).toHaveBeenCalledTimes(malformed.length)
    expect(received).toEqual([])
    expect(transport.bufferedBytes).toBe(20)
    expect(transport.writable).toBe(false)
    expect(disconnects).not.toHaveBeenCalled()
  })

  it('cannot be acknowledged past what it sent', () => {
    const { port, transport } = setup()
    transport.send({}, 5)
    port.receive(ack(1000))
    expect(transport.bufferedBytes).toBe(0)
    transport.send({}, 7)
    expect(transport.bufferedBytes).toBe(7)
    expect(transport.unacknowledged).toBe(1)
  })

  it('disconnects once when the port closes, and never posts afterwards', () => {
    const { port, transport, disconnects, received } = setup()
    port.emit('close')
    port.emit('close')
    expect(disconnects).toHaveBeenCalledTimes(1)
    expect(transport.writable).toBe(false)
    transport.send({ late: true }, 10)
    expect(port.posted).toEqual([])
    port.receive({ jsonrpc: '2.0', id: 1, method: 'agents.list' })
    expect(received).toEqual([])
  })

  it('close() closes the port and disconnects once', () => {
    const { port, transport, disconnects } = setup()
    transport.close('bye')
    transport.close('again')
    expect(port.closeCalls).toBe(1)
    expect(disconnects).toHaveBeenCalledTimes(1)
    transport.send({}, 1)
    expect(port.posted).toEqual([])
  })

  it('treats a port that throws on post as disconnected', () => {
    const { port, transport, disconnects } = setup()
    port.throwOnPost = true
    transport.send({}, 1)
    expect(disconnects).toHaveBeenCalledTimes(1)
    port.throwOnPost = false
    transport.send({}, 1)
    expect(port.posted).toEqual([])
  })
})

/** A real hub, a real preload client, a pair of Node MessagePorts between them. */
describe('MessagePortHostTransport with the hub and the preload client', () => {
  const closers: Array<() => void> = []
  afterEach(() => {
    for (const close of closers.splice(0)) close()
  })

  function mainPort(port: MessagePort): MainPortLike {
    const emitter = new EventEmitter()
    port.addEventListener('message', (event) => emitter.emit('message', { data: dataOf(event) }))
    port.addEventListener('close', () => emitter.emit('close'))
    return Object.assign(emitter, {
      postMessage: (message: unknown) => port.postMessage(message),
      start: () => port.start(),
      close: () => port.close(),
    })
  }

  async function connectWindow(highWaterBytes: number, behaviours = {}, mergeWithinTick = true) {
    const launcher = new FakeLauncher({ echo: scriptedAgent(), ...behaviours })
    const hub = new Hub({ agents: [agentSpec('echo')], launcher, clock: new ManualClock() })
    await hub.start()
    const channel = new MessageChannel()
    closers.push(() => {
      channel.port1.close()
      channel.port2.close()
      hub.dispose()
    })
    const transport = new MessagePortHostTransport(mainPort(channel.port1), { highWaterBytes, mergeWithinTick })
    hub.connectHost(transport)
    const ticks: Array<() => void> = []
    const client = new HubPortClient({
      openNewWindow: async () => ({}),
      ackEvery: 1_000_000,
      // Acks leave only when the test lets the "page" finish its macrotask.
      scheduleMacrotask: (fn) => ticks.push(fn),
    })
    client.attachPort(channel.port2 as unknown as HubPort)
    const runTicks = () => {
      for (const fn of ticks.splice(0)) fn()
    }
    return { hub, launcher, transport, client, runTicks }
  }

  it("merges one tick's tokens of a session into one message for the window", async () => {
    const { hub, launcher, transport, client, runTicks } = await connectWindow(1024 * 1024)
    const tokens: string[] = []
    client.onNotification(({ method, params }) => {
      const p = params as { kind: string; delta?: string }
      if (method === 'agents.chat.event' && p.kind === 'token') tokens.push(p.delta!)
    })
    await client.request('agents.chat', { agent_id: 'echo', prompt: 'hi', session_id: 's1' })
    runTicks()
    await vi.waitFor(() => expect(transport.unacknowledged).toBe(0))
    const agent = launcher.latest('echo')
    for (let i = 0; i < 40; i++) agent.send(agentEvent('s1', { kind: 'token', delta: `t${i} ` }))
    const expected = Array.from({ length: 40 }, (_, i) => `t${i} `).join('')
    await vi.waitFor(() => expect(tokens.join('')).toBe(expected))
    expect(tokens.length).toBeLessThan(40)
    expect(transport.unacknowledged).toBe(tokens.length) // one port message per merged token event
    expect(hub.stats().events_merged).toBeGreaterThan(0)
  })

  it('answers requests from the page through the port', async () => {
    const { client } = await connectWindow(1024 * 1024)
    const result = (await client.request('agents.list', {})) as { agents: Array<{ id: string; status: string }> }
    expect(result.agents.map((a) => [a.id, a.status])).toEqual([['echo', 'running']])
  })

  it('a window that stops acknowledging makes the hub queue and merge; acks flush it in order', async () => {
    // Without per-tick merging, so that only the window's lag makes the hub queue.
    const { hub, launcher, transport, client, runTicks } = await connectWindow(600, {}, false)
    const tokens: string[] = []
    client.onNotification(({ method, params }) => {
      const p = params as { kind: string; delta?: string }
      if (method === 'agents.chat.event' && p.kind === 'token') tokens.push(p.delta!)
    })
    const { session_id } = (await client.request('agents.chat', { agent_id: 'echo', prompt: 'hi', session_id: 's1' })) as {
      session_id: string
    }
    expect(session_id).toBe('s1')
    const agent = launcher.latest('echo')
    for (let i = 0; i < 40; i++) agent.send(agentEvent('s1', { kind: 'token', delta: `t${i} ` }))
    await settle()
    // Nothing was acknowledged yet: the transport hit its high-water mark and the hub merged the rest.
    expect(transport.writable).toBe(false)
    expect(hub.stats().events_merged).toBeGreaterThan(0)
    // The page consumed everything that was posted (the chat response plus some tokens), no more.
    await vi.waitFor(() => expect(tokens.length + 1).toBe(transport.unacknowledged))
    const before = tokens.length
    expect(before).toBeLessThan(40)

    runTicks() // the page finishes its macrotask: one ack for everything consumed
    await vi.waitFor(() => expect(tokens.join('')).toBe(Array.from({ length: 40 }, (_, i) => `t${i} `).join('')))
    expect(tokens.length).toBeGreaterThan(before)
    expect(tokens.length).toBeLessThan(40) // merged while the window lagged
  })
})
