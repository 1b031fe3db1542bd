import { describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../support/manual-clock.js'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { RequestTimeoutError, RpcPeer } from '../../src/protocol/rpc-peer.js'

/** A peer whose sent messages the test reads and answers by hand. */
function peer(options: Partial<ConstructorParameters<typeof RpcPeer>[0]> = {}) {
  const sent: Array<Record<string, unknown>> = []
  const clock = new ManualClock()
  const rpc = new RpcPeer({ send: (m) => void sent.push(m as Record<string, unknown>), clock, ...options })
  const lastId = () => sent.at(-1)!.id as number
  return { rpc, sent, clock, lastId }
}

describe('RpcPeer, the one JSON-RPC client core', () => {
  it('numbers requests and settles each by its id, errors as RpcError', async () => {
    const { rpc, sent } = peer()
    const a = rpc.request('a', { x: 1 })
    const b = rpc.request('b')
    expect(sent).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'a', params: { x: 1 } },
      { jsonrpc: '2.0', id: 2, method: 'b' },
    ])
    rpc.receiveAll([
      { jsonrpc: '2.0', id: 2, error: { code: ErrorCode.UnknownAgent, message: 'unknown agent', data: { id: 'z' } } },
      { jsonrpc: '2.0', id: 1, result: 'ok' },
    ])
    await expect(a).resolves.toBe('ok')
    const error: unknown = await b.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect(error).toMatchObject({ code: ErrorCode.UnknownAgent, message: 'unknown agent', data: { id: 'z' } })
    expect(rpc.pendingRequests).toBe(0)
  })

  it('times out on the injected clock only when asked to', async () => {
    const { rpc, clock } = peer({ requestTimeoutMs: 1_000 })
    const timed = rpc.request('slow')
    const forever = rpc.request('slow', undefined, { timeoutMs: 0 })
    clock.advance(999)
    expect(rpc.pendingRequests).toBe(2)
    clock.advance(1)
    await expect(timed).rejects.toBeInstanceOf(RequestTimeoutError)
    clock.advance(60_000)
    expect(rpc.pendingRequests).toBe(1)
    rpc.close()
    await expect(forever).rejects.toMatchObject({ code: ErrorCode.InternalError })
  })

  it('close fails what is pending and what comes later, and fires onDidClose once', async () => {
    const { rpc, sent } = peer()
    const closes: RpcError[] = []
    rpc.onDidClose((error) => closes.push(error))
    const pending = rpc.request('a')
    rpc.close('the hub closed the connection')
    rpc.close('again')
    await expect(pending).rejects.toMatchObject({ message: 'the hub closed the connection' })
    await expect(rpc.request('b')).rejects.toBe(closes[0])
    expect(closes).toHaveLength(1)
    expect(rpc.closeError).toBe(closes[0])
    expect(sent).toHaveLength(1)
  })

  it('failPending fails what was sent on a reset link and stays usable', async () => {
    const { rpc, lastId } = peer()
    const closes = vi.fn()
    rpc.onDidClose(closes)
    const old = rpc.request('a')
    rpc.failPending(new RpcError(ErrorCode.InternalError, 'reset'))
    await expect(old).rejects.toMatchObject({ message: 'reset' })
    const next = rpc.request('b')
    rpc.receive({ jsonrpc: '2.0', id: lastId(), result: 2 })
    await expect(next).resolves.toBe(2)
    expect(closes).not.toHaveBeenCalled()
  })

  it('a send that throws rejects the request with an RpcError', async () => {
    const rpc = new RpcPeer({
      send: () => {
        throw new Error('socket gone')
      },
    })
    const error: unknown = await rpc.request('a').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect(error).toMatchObject({ code: ErrorCode.InternalError, message: 'socket gone' })
    expect(rpc.pendingRequests).toBe(0)
  })

  it('hands notifications and id-less errors to their handlers, answers requests it cannot serve with -32601', async () => {
    const notifications: unknown[] = []
    const unmatched: unknown[] = []
    const { rpc, sent } = peer({
      handleNotification: (method, params) => notifications.push({ method, params }),
      handleUnmatchedError: (error) => unmatched.push(error),
    })
    rpc.receive({ jsonrpc: '2.0', method: 'host.event', params: { n: 1 } })
    rpc.receive({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
    expect(rpc.receive({ jsonrpc: '1.0', method: 'x' })).toBe(false)
    rpc.receive({ jsonrpc: '2.0', id: 7, method: 'window.do' })
    await vi.waitFor(() => expect(sent).toHaveLength(1))
    expect(notifications).toEqual([{ method: 'host.event', params: { n: 1 } }])
    expect(unmatched).toEqual([{ code: -32700, message: 'parse error' }])
    expect(sent[0]).toMatchObject({ id: 7, error: { code: ErrorCode.MethodNotFound } })
  })
})
