import { afterEach, describe, expect, it, vi } from 'vitest'
import { Emitter } from '../../src/base/event.js'
import type { Disposable } from '../../src/base/lifecycle.js'
import { serveAgent, type AgentChannel, type AgentHandler, type ServeAgentOptions, type Turn } from '../../src/agent-sdk/index.js'
import { AgentChatEventSchema, isTerminalKind } from '../../src/protocol/chat-events.js'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { RpcPeer } from '../../src/protocol/rpc-peer.js'

type Sent = { jsonrpc: '2.0'; method?: string; id?: number; params?: Record<string, unknown>; result?: unknown; error?: unknown }

/** Both ends of an in-memory agent link: the agent's channel and the hub's RPC peer. */
class Link implements AgentChannel {
  /** Everything the agent sent, in order. */
  readonly sent: Sent[] = []
  private readonly fromHub = new Emitter<unknown>()
  private readonly closed = new Emitter<void>()
  private readonly sentEmitter = new Emitter<Sent>()
  readonly hub: RpcPeer

  constructor() {
    this.hub = new RpcPeer({
      // Crosses asynchronously, like a real IPC channel.
      send: (message) => queueMicrotask(() => this.fromHub.fire(message)),
      requestTimeoutMs: 0,
    })
  }

  send(message: object): void {
    const sent = structuredClone(message) as Sent
    this.sent.push(sent)
    this.sentEmitter.fire(sent)
    if (!('method' in sent)) this.hub.receive(sent)
  }

  onMessage(listener: (message: unknown) => void): Disposable {
    return this.fromHub.event(listener)
  }

  onDidClose(listener: () => void): Disposable {
    return this.closed.event(listener)
  }

  close(): void {
    this.closed.fire()
  }

  /** Raw data to the agent, as a hub (or a broken hub) would send it. */
  deliver(message: unknown): void {
    this.fromHub.fire(message)
  }

  chat(sessionId: string, prompt: string, extra: Record<string, unknown> = {}): Promise<unknown> {
    return this.hub.request('agent.chat', {
      session_id: sessionId,
      prompt,
      stream: true,
      context: { host_client_id: 'host-1' },
      ...extra,
    })
  }

  approve(sessionId: string, approvalId: string, decision: boolean): Promise<unknown> {
    return this.hub.request('agent.chat.approve', { session_id: sessionId, approval_id: approvalId, decision })
  }

  cancel(sessionId: string): void {
    this.hub.notify('agent.chat.cancel', { session_id: sessionId })
  }

  events(sessionId?: string): Array<Record<string, unknown>> {
    return this.sent
      .filter((m) => m.method === 'agent.chat.event' && (sessionId === undefined || m.params?.session_id === sessionId))
      .map((m) => m.params!)
  }

  kinds(sessionId: string): string[] {
    return this.events(sessionId).map((e) => e.kind as string)
  }

  /** Resolves with the first event of `kind` (already sent or to come). */
  nextEvent(sessionId: string, kind: string): Promise<Record<string, unknown>> {
    return this.nthEvent(sessionId, kind, 0)
  }

  /** Resolves with the event of `kind` numbered `n` from 0 (already sent or to come). */
  nthEvent(sessionId: string, kind: string, n: number): Promise<Record<string, unknown>> {
    const matching = () => this.events(sessionId).filter((e) => e.kind === kind)
    const found = matching()[n]
    if (found) return Promise.resolve(found)
    return new Promise((resolve) => {
      const sub = this.sentEmitter.event(() => {
        const event = matching()[n]
        if (!event) return
        sub.dispose()
        resolve(event)
      })
    })
  }

  terminal(sessionId: string): Promise<Record<string, unknown>> {
    return Promise.race([this.nextEvent(sessionId, 'done'), this.nextEvent(sessionId, 'error')])
  }
}

/** Resolves once every macrotask queued so far (the SDK's deferred steps) has run. */
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve))

const servers: Disposable[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.dispose()
  vi.restoreAllMocks()
})

function serve(handler: AgentHandler, options: Omit<ServeAgentOptions, 'channel'> = {}): Link {
  const link = new Link()
  servers.push(serveAgent(handler, { ...options, channel: link }))
  return link
}

/** A promise the test resolves by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('serveAgent', () => {
  it('acknowledges agent.chat and hands the handler the whole request', async () => {
    const seen = deferred<Turn>()
    const link = serve((turn) => {
      seen.resolve(turn)
      return 'ok'
    })
    const ack = await link.chat('s1', 'hello', {
      model: 'm-1',
      context: { host_client_id: 'host-7', conversation_id: 'c-1' },
      attachments: [{ type: 'image_url', url: 'https://example.com/a.png' }],
    })
    expect(ack).toEqual({ accepted: true, session_id: 's1' })
    const turn = await seen.promise
    expect(turn.sessionId).toBe('s1')
    expect(turn.prompt).toBe('hello')
    expect(turn.stream).toBe(true)
    expect(turn.model).toBe('m-1')
    expect(turn.context).toEqual({ host_client_id: 'host-7', conversation_id: 'c-1' })
    expect(turn.attachments).toEqual([{ type: 'image_url', url: 'https://example.com/a.png' }])
    expect(turn.signal.aborted).toBe(false)
  })

  it('streams tokens after the acknowledgement, then one done with the returned text', async () => {
    const link = serve((turn) => {
      turn.token('a ')
      turn.token('') // nothing to send
      turn.token('b')
      return 'the answer'
    })
    await link.chat('s1', 'x')
    expect(await link.terminal('s1')).toEqual({ session_id: 's1', kind: 'done', finish_reason: 'stop', text: 'the answer' })
    const ackIndex = link.sent.findIndex((m) => m.id !== undefined && 'result' in m)
    const firstEvent = link.sent.findIndex((m) => m.method === 'agent.chat.event')
    expect(ackIndex).toBeGreaterThanOrEqual(0)
    expect(ackIndex).toBeLessThan(firstEvent)
    expect(link.events('s1')).toEqual([
      { session_id: 's1', kind: 'token', delta: 'a ' },
      { session_id: 's1', kind: 'token', delta: 'b' },
      { session_id: 's1', kind: 'done', finish_reason: 'stop', text: 'the answer' },
    ])
    for (const event of link.events()) expect(AgentChatEventSchema.safeParse(event).success).toBe(true)
  })

  it('uses the streamed text for done when the handler returns nothing', async () => {
    const link = serve(async (turn) => {
      turn.token('one ')
      await macrotask()
      turn.token('two')
    })
    await link.chat('s1', 'x')
    expect(await link.terminal('s1')).toMatchObject({ kind: 'done', finish_reason: 'stop', text: 'one two' })
  })

  it('takes finish_reason and usage for done from a returned TurnResult, the text from the stream', async () => {
    const link = serve((turn) => {
      turn.token('cut sho')
      return { finish_reason: 'length', usage: { input_tokens: 12, output_tokens: 3 } }
    })
    await link.chat('s1', 'x')
    const done = await link.terminal('s1')
    expect(done).toEqual({
      session_id: 's1',
      kind: 'done',
      finish_reason: 'length',
      text: 'cut sho',
      usage: { input_tokens: 12, output_tokens: 3 },
    })
    expect(AgentChatEventSchema.parse(done)).toEqual(done)
  })

  it('sends no tokens when the host asked not to stream, only the full text in done', async () => {
    const link = serve((turn) => {
      turn.token('one ')
      turn.token('two')
    })
    await link.chat('s1', 'x', { stream: false })
    expect(await link.terminal('s1')).toMatchObject({ kind: 'done', text: 'one two' })
    expect(link.kinds('s1')).toEqual(['done'])
  })

  it('sends tool calls, results, status and custom kinds', async () => {
    const link = serve((turn) => {
      const callId = turn.toolCall('clock', { tz: 'UTC' })
      turn.toolResult(callId, true, 'noon')
      turn.status('thinking')
      turn.emit('progress', { percent: 50, session_id: 'forged', kind: 'forged' })
      return ''
    })
    await link.chat('s1', 'x')
    await link.terminal('s1')
    const [call, result, status, custom] = link.events('s1')
    expect(call).toEqual({ session_id: 's1', kind: 'tool_call', call_id: expect.any(String), tool: 'clock', params: { tz: 'UTC' } })
    expect(result).toEqual({ session_id: 's1', kind: 'tool_result', call_id: call!.call_id, ok: true, excerpt: 'noon' })
    expect(status).toEqual({ session_id: 's1', kind: 'status', message: 'thinking' })
    // The SDK owns session_id and kind: fields cannot forge them.
    expect(custom).toEqual({ session_id: 's1', kind: 'progress', percent: 50 })
  })

  it('refuses a chat when accept throws: the hub gets the JSON-RPC error, the handler never runs', async () => {
    const handler = vi.fn(() => 'never')
    const link = serve(handler, {
      accept(request) {
        if (request.prompt === 'busy') throw new RpcError(ErrorCode.AgentUnavailable, 'too busy')
        if (request.prompt === 'broken') throw new Error('boom')
      },
    })
    await expect(link.chat('s1', 'busy')).rejects.toMatchObject({ code: ErrorCode.AgentUnavailable, message: 'too busy' })
    await expect(link.chat('s2', 'broken')).rejects.toMatchObject({ code: ErrorCode.InternalError, message: 'boom' })
    expect(await link.chat('s3', 'fine')).toEqual({ accepted: true, session_id: 's3' })
    await link.terminal('s3')
    expect(handler).toHaveBeenCalledTimes(1)
    expect(link.events('s1')).toEqual([])
    expect(link.events('s2')).toEqual([])
  })

  it('answers invalid params, unknown methods and a session already running with errors, and ignores junk', async () => {
    const release = deferred()
    const link = serve(async () => {
      await release.promise
    })
    await expect(link.hub.request('agent.chat', { session_id: 'bad id!', prompt: 'x' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    })
    await expect(link.hub.request('agent.nope', {})).rejects.toMatchObject({ code: ErrorCode.MethodNotFound })
    link.deliver('not json-rpc')
    link.deliver({ jsonrpc: '2.0', method: 'agent.chat.cancel', params: { session_id: 42 } })
    link.deliver({ __proto__: { method: 'agent.chat' } })
    await link.chat('s1', 'x')
    await expect(link.chat('s1', 'again')).rejects.toMatchObject({ code: ErrorCode.SessionInFlight })
    release.resolve()
    expect(await link.terminal('s1')).toMatchObject({ kind: 'done' })
  })

  it('turns a throw into one error event, with the error code when it has one', async () => {
    const link = serve((turn) => {
      turn.token('partial')
      throw Object.assign(new Error('model unavailable'), { code: 'upstream_down' })
    })
    await link.chat('s1', 'x')
    expect(await link.terminal('s1')).toEqual({ session_id: 's1', kind: 'error', error: 'model unavailable', code: 'upstream_down' })
    expect(link.kinds('s1')).toEqual(['token', 'error'])
  })

  it('sends exactly one terminal and nothing after it, whatever the handler does later', async () => {
    let kept: Turn | undefined
    const link = serve((turn) => {
      kept = turn
      return 'first'
    })
    await link.chat('s1', 'x')
    await link.terminal('s1')
    kept!.token('late')
    kept!.status('late')
    kept!.emit('late', {})
    await expect(kept!.approval('tool')).rejects.toThrow(/ended/)
    await macrotask()
    expect(link.kinds('s1')).toEqual(['done'])
    expect(kept!.isOpen).toBe(false)
  })

  it('refuses emit of a terminal kind (the handler ends with an error) and invalid events', async () => {
    const link = serve((turn) => {
      turn.emit('done', { finish_reason: 'stop' })
    })
    await link.chat('s1', 'x')
    expect(await link.terminal('s1')).toMatchObject({ kind: 'error', error: expect.stringMatching(/ends the turn/) })
    expect(link.events('s1').filter((e) => isTerminalKind(e.kind as string))).toHaveLength(1)

    const link2 = serve((turn) => {
      turn.toolCall('x'.repeat(300))
    })
    await link2.chat('s2', 'x')
    expect(await link2.terminal('s2')).toMatchObject({ kind: 'error', error: expect.stringMatching(/invalid 'tool_call' event/) })
    expect(link2.kinds('s2')).toEqual(['error'])
  })

  it('leaves text out of done when it would make the event too large', async () => {
    const link = serve(() => 'x'.repeat(5 * 1024 * 1024))
    await link.chat('s1', 'x')
    expect(await link.terminal('s1')).toEqual({ session_id: 's1', kind: 'done', finish_reason: 'stop' })
  })
})

describe('approvals', () => {
  it('asks, resolves on the hub’s approve, reports the resolution, and answers the hub before resuming', async () => {
    const decisions: boolean[] = []
    const link = serve(async (turn) => {
      decisions.push(await turn.approval('calculate', { expression: '1+1' }))
      turn.token('after approval')
      decisions.push(await turn.approval('calculate', { expression: '2+2' }))
      return 'end'
    })
    await link.chat('s1', 'x')
    const first = await link.nthEvent('s1', 'approval_pending', 0)
    expect(first).toEqual({
      session_id: 's1',
      kind: 'approval_pending',
      approval_id: expect.any(String),
      tool: 'calculate',
      params: { expression: '1+1' },
    })
    expect(await link.approve('s1', 'no-such-approval', true)).toEqual({ resolved: false })
    expect(await link.approve('other-session', first.approval_id as string, true)).toEqual({ resolved: false })
    expect(await link.approve('s1', first.approval_id as string, true)).toEqual({ resolved: true })
    const answerIndex = link.sent.findIndex((m) => (m.result as { resolved?: boolean } | undefined)?.resolved === true)

    const second = await link.nthEvent('s1', 'approval_pending', 1)
    expect(second.approval_id).not.toBe(first.approval_id)
    expect(await link.approve('s1', first.approval_id as string, true)).toEqual({ resolved: false }) // already used
    expect(await link.approve('s1', second.approval_id as string, false)).toEqual({ resolved: true })
    expect(await link.terminal('s1')).toMatchObject({ kind: 'done', text: 'end' })
    expect(decisions).toEqual([true, false])

    const events = link.events('s1')
    expect(events.map((e) => e.kind)).toEqual([
      'approval_pending',
      'approval_resolved',
      'token',
      'approval_pending',
      'approval_resolved',
      'done',
    ])
    expect(events[1]).toEqual({ session_id: 's1', kind: 'approval_resolved', approval_id: first.approval_id, resolution: 'approve' })
    expect(events[4]).toMatchObject({ kind: 'approval_resolved', resolution: 'deny' })
    // The hub has its answer before the handler sends anything that follows the approval.
    const tokenIndex = link.sent.findIndex((m) => m.params?.kind === 'token')
    expect(answerIndex).toBeLessThan(tokenIndex)
  })

  it('rejects a pending approval with the abort reason when the turn is cancelled', async () => {
    const outcome = deferred<unknown>()
    const link = serve(async (turn) => {
      try {
        await turn.approval('calculate')
        outcome.resolve('resolved')
      } catch (error) {
        outcome.resolve(error)
      }
    })
    await link.chat('s1', 'x')
    const pending = await link.nextEvent('s1', 'approval_pending')
    link.cancel('s1')
    const error = await outcome.promise
    expect(error).toBeInstanceOf(DOMException)
    expect((error as DOMException).name).toBe('AbortError')
    expect(await link.approve('s1', pending.approval_id as string, true)).toEqual({ resolved: false })
    await macrotask()
    expect(link.kinds('s1')).toEqual(['approval_pending'])
  })
})

describe('cancellation', () => {
  it('aborts the signal, and the SDK sends nothing more for the session', async () => {
    const aborted = deferred<unknown>()
    const finished = deferred()
    const link = serve(async (turn) => {
      turn.token('first')
      await new Promise<void>((resolve) => turn.signal.addEventListener('abort', () => resolve(), { once: true }))
      aborted.resolve(turn.signal.reason)
      turn.token('after cancel')
      turn.status('after cancel')
      finished.resolve()
      return 'ignored'
    })
    await link.chat('s1', 'x')
    await link.nextEvent('s1', 'token')
    link.cancel('s1')
    expect(await aborted.promise).toMatchObject({ name: 'AbortError' })
    await finished.promise
    await macrotask()
    expect(link.kinds('s1')).toEqual(['token'])
  })

  it('does not run the handler of a turn cancelled while accept was pending, and ignores unknown sessions', async () => {
    const accepting = deferred()
    const gate = deferred()
    const handler = vi.fn(() => 'never')
    const link = serve(handler, {
      async accept() {
        accepting.resolve()
        await gate.promise
      },
    })
    const ack = link.chat('s1', 'x')
    await accepting.promise
    link.cancel('s1')
    link.cancel('unknown')
    gate.resolve()
    expect(await ack).toEqual({ accepted: true, session_id: 's1' })
    await macrotask()
    await macrotask()
    expect(handler).not.toHaveBeenCalled()
    expect(link.events('s1')).toEqual([])
  })

  it('keeps other sessions running when one is cancelled', async () => {
    const link = serve(async (turn) => {
      if (turn.prompt === 'wait') await new Promise((_, reject) => turn.signal.addEventListener('abort', () => reject(turn.signal.reason)))
      return turn.prompt
    })
    await link.chat('a', 'wait')
    await link.chat('b', 'wait')
    link.cancel('a')
    await link.chat('c', 'quick')
    expect(await link.terminal('c')).toMatchObject({ kind: 'done', text: 'quick' })
    await macrotask()
    expect(link.events('a')).toEqual([])
    expect(link.events('b')).toEqual([])
    link.cancel('b')
  })

  it('exits the process cleanly when the hub goes away, cancelling every turn', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
    const signal = deferred<AbortSignal>()
    const link = new Link()
    servers.push(
      serveAgent(
        async (turn) => {
          signal.resolve(turn.signal)
          await new Promise(() => {})
        },
        { channel: link, exitWithHub: true },
      ),
    )
    await link.chat('s1', 'x')
    const turnSignal = await signal.promise
    link.close()
    expect(turnSignal.aborted).toBe(true)
    expect(exit).toHaveBeenCalledWith(0)
  })
})

describe('serveAgent: readiness and models (§6 v2)', () => {
  it('sends agent.ready once, before anything else, as soon as it listens', () => {
    const link = serve(() => 'ok')
    expect(link.sent).toEqual([{ jsonrpc: '2.0', method: 'agent.ready', params: {} }])
  })

  it('announceModels sends agent.models, replacing the list each time, and refuses lists beyond the bounds', () => {
    const link = new Link()
    const server = serveAgent(() => 'ok', { channel: link })
    servers.push(server)
    server.announceModels([{ id: 'small', name: 'Small' }, { id: 'large' }], 'small')
    server.announceModels([{ id: 'only' }])
    expect(link.sent.filter((m) => m.method === 'agent.models').map((m) => m.params)).toEqual([
      { models: [{ id: 'small', name: 'Small' }, { id: 'large' }], default_model: 'small' },
      { models: [{ id: 'only' }] },
    ])
    expect(() => server.announceModels(Array.from({ length: 1_001 }, (_, i) => ({ id: `m${i}` })))).toThrow()
    expect(() => server.announceModels([{ id: 'x'.repeat(257) }])).toThrow()
    expect(link.sent.filter((m) => m.method === 'agent.models')).toHaveLength(2)
  })
})
