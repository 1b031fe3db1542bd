/**
 * The benchmark agent: speaks PROTOCOL.md §6 directly over the fork IPC channel
 * (no SDK, so the agent side costs the same in every scenario).
 *
 * One emission loop serves every stream, whoever asked for it:
 * - through the hub: `agent.chat` whose prompt is a JSON `StreamSpec`;
 * - raw baseline: `{bench: 'raw', streams: [...], spec}` from the parent (no hub), the
 *   very same event objects written to the very same channel.
 *
 * Flood streams go as fast as the channel drains: a chunk of events, then wait for
 * the write callback of its last one (so the child's queue stays bounded).
 * Paced streams share one global rate; each token's delta carries the wall-clock
 * time it was emitted (`performance.timeOrigin + performance.now()`, µs precision).
 */
import { performance } from 'node:perf_hooks'
import type { StreamSpec } from '../lib/stream-spec.js'

interface Stream {
  sessionId: string
  spec: StreamSpec
  left: number
  sent: number
}

const send = process.send!.bind(process)
const CHUNK = 128

const flood: Stream[] = []
const paced: Stream[] = []
let floodRunning = false
let pacerRunning = false

function event(sessionId: string, delta: string): object {
  return { jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: sessionId, kind: 'token', delta } }
}

function finish(stream: Stream): void {
  send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: stream.sessionId, kind: 'done', finish_reason: 'stop' } })
}

function add(stream: Stream): void {
  if (stream.spec.mode === 'paced') {
    paced.push(stream)
    if (!pacerRunning) startPacer(stream.spec.rate ?? 10_000)
  } else {
    flood.push(stream)
    if (!floodRunning) {
      floodRunning = true
      setImmediate(floodLoop)
    }
  }
}

function floodLoop(): void {
  let sent = 0
  let i = 0
  while (flood.length > 0) {
    if (i >= flood.length) i = 0
    const stream = flood[i]!
    if (stream.left === 0) {
      flood.splice(i, 1)
      finish(stream)
      continue
    }
    stream.left--
    i++
    if (++sent === CHUNK) {
      // Continue once this chunk has been written: the child never queues more than a chunk.
      send(event(stream.sessionId, stream.spec.delta ?? 'hello '), floodLoop)
      return
    }
    send(event(stream.sessionId, stream.spec.delta ?? 'hello '))
  }
  floodRunning = false
}

function startPacer(rate: number): void {
  pacerRunning = true
  const start = performance.now()
  let emitted = 0
  let next = 0
  const tick = () => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000) - emitted
    for (let n = 0; n < due && paced.length > 0; n++) {
      if (next >= paced.length) next = 0
      const stream = paced[next]!
      stream.left--
      emitted++
      const delta =
        stream.spec.payload === 'seq'
          ? String(stream.sent++).padStart(stream.spec.width ?? 16, '0')
          : `${(performance.timeOrigin + performance.now()).toFixed(3)} `
      send(event(stream.sessionId, delta))
      if (stream.left <= 0) {
        paced.splice(next, 1)
        finish(stream)
      } else next++
    }
    if (paced.length > 0) setTimeout(tick, 1)
    else pacerRunning = false
  }
  setTimeout(tick, 1)
}

interface Message {
  jsonrpc?: string
  id?: number
  method?: string
  params?: { session_id?: string; prompt?: string }
  bench?: 'raw'
  streams?: string[]
  spec?: StreamSpec
}

process.on('message', (raw: unknown) => {
  const message = raw as Message
  if (message.bench === 'raw') {
    for (const sessionId of message.streams ?? []) add({ sessionId, spec: message.spec!, left: message.spec!.count, sent: 0 })
    return
  }
  if (message.method === 'agent.chat' && message.params?.session_id && message.id !== undefined) {
    const sessionId = message.params.session_id
    const spec = JSON.parse(message.params.prompt ?? '{}') as StreamSpec
    send({ jsonrpc: '2.0', id: message.id, result: { accepted: true, session_id: sessionId } })
    setImmediate(() => add({ sessionId, spec, left: spec.count, sent: 0 }))
    return
  }
  if (message.method === 'agent.chat.cancel') {
    const sessionId = message.params?.session_id
    for (const list of [flood, paced]) {
      const at = list.findIndex((s) => s.sessionId === sessionId)
      if (at >= 0) list.splice(at, 1)
    }
  }
})
process.on('disconnect', () => process.exit(0))
