import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import { HostMethods } from '../../src/protocol/host-api.js'
import { MemoryProviderStore } from '../../src/hub/memory-provider-store.js'
import { agentEvent, scriptedAgent, settle, type AgentBehaviour } from '../support/fake-launcher.js'
import { startHub, type TestHost } from '../support/hub-fixture.js'
import { agentSpec } from '../support/spec.js'
import {
  FOREIGN_SESSION,
  IdSource,
  KNOWN_AGENTS,
  allowedDomainErrors,
  expectedReply,
  rawGarbage,
  requestDraft,
  type Expected,
} from '../fixtures/fault/host-input.js'
import { deepValue, prototypeChanges, recordingLogger, snapshotPrototypes } from '../fixtures/fault/hygiene.js'

/**
 * A hostile host (PROTOCOL.md §1, §3): whatever it sends, the hub answers with the
 * right JSON-RPC error or nothing, never throws, never leaks a session, never
 * pollutes a prototype, and another host on the same hub keeps working.
 */

const SEED = Number(process.env.CARHOST_FUZZ_SEED ?? 0x5eed_0001)

interface Reply {
  jsonrpc?: string
  id?: unknown
  result?: unknown
  error?: { code: number; message: string }
}

async function fuzzHub() {
  const { logger, errors } = recordingLogger()
  // Every provider the fuzzer saves runs as an agent that announces itself ready (§6, §12).
  const ready: AgentBehaviour = (agent) => agent.send({ jsonrpc: '2.0', method: 'agent.ready', params: {} })
  const scripted: Record<string, AgentBehaviour> = { a: scriptedAgent({ echo: true }), quiet: scriptedAgent() }
  const behaviours = new Proxy(scripted, { get: (target, id) => (typeof id === 'string' && Object.hasOwn(target, id) ? target[id] : ready) })
  const providers = { store: new MemoryProviderStore(), agentModule: '/fuzz/provider-agent.js', agentEnv: () => ({}) }
  const t = await startHub([agentSpec('a'), agentSpec('quiet')], behaviours, { logger, providers })
  const healthy = t.connect()
  const fuzzer = t.connect()
  // The healthy host owns a session on `quiet` for the whole run.
  await healthy.client.call('agents.chat', { agent_id: 'quiet', prompt: 'mine', session_id: FOREIGN_SESSION })
  // On a trusted (IPC) transport `session.auth` just tells a host its client id.
  const healthyId = (await healthy.client.call('session.auth', { host_token: '' })).client_id
  const fuzzerId = (await fuzzer.client.call('session.auth', { host_token: '' })).client_id
  return { ...t, healthy, fuzzer, errors, healthyId, fuzzerId }
}

type Fuzz = Awaited<ReturnType<typeof fuzzHub>>

/** Answers (not notifications) the host received from index `from` on. */
function repliesSince(host: TestHost, from: number): unknown[] {
  return host.received.slice(from).filter((m) => Array.isArray(m) || !('method' in m))
}

function checkReply(reply: unknown, expected: Expected): void {
  if (expected.reply === 'none') throw new Error('checkReply called for no reply')
  if (expected.reply === 'batch') {
    expect(Array.isArray(reply), 'a batch is answered with an array').toBe(true)
    const items = reply as unknown[]
    expect(items).toHaveLength(expected.items.length)
    expected.items.forEach((item, i) => checkReply(items[i], item))
    return
  }
  const r = reply as Reply
  expect(r.jsonrpc).toBe('2.0')
  expect(r.id).toStrictEqual(expected.id)
  if (expected.reply === 'error') {
    expect(r.error?.code, `error code (got ${JSON.stringify(r)})`).toBe(expected.code)
    expect(typeof r.error?.message).toBe('string')
    if (expected.names !== undefined) expect(r.error!.message).toContain(`'${expected.names}'`)
    return
  }
  // A valid request: its result has the method's shape, or it is one of the domain errors the method may give.
  if ('error' in r) {
    expect(allowedDomainErrors[expected.method], `${expected.method} answered ${JSON.stringify(r.error)}`).toContain(r.error!.code)
  } else {
    const parsed = HostMethods[expected.method].result.safeParse(r.result)
    expect(parsed.success, `${expected.method} result ${JSON.stringify(r.result)}`).toBe(true)
  }
  const p = expected.params
  if (expected.method === 'agents.chat') {
    const known = (KNOWN_AGENTS as readonly string[]).includes(p.agent_id as string)
    if (!known) expect(r.error?.code).toBe(ErrorCode.UnknownAgent)
    if ('result' in r && typeof p.session_id === 'string') expect((r.result as { session_id: string }).session_id).toBe(p.session_id)
  }
  // §12: the hub's own agents are not providers; any other id is one.
  const agentsId = (KNOWN_AGENTS as readonly string[]).includes(p.id as string)
  if (expected.method === 'providers.save') {
    if (agentsId) expect(r.error?.message).toContain(`'id'`)
    else expect(r.result).toMatchObject({ id: p.id, has_api_key: expect.any(Boolean) })
  }
  if (expected.method === 'providers.delete') {
    if (agentsId) expect(r.error?.code).toBe(ErrorCode.UnknownProvider)
    else expect('result' in r, `providers.delete answered ${JSON.stringify(r)}`).toBe(true)
  }
}

/** After the storm: nothing leaked, nothing crossed hosts, the healthy host still works. */
async function checkAftermath(t: Fuzz, before: ReturnType<typeof snapshotPrototypes>, fuzzerSessions: Set<string>): Promise<void> {
  expect(prototypeChanges(before)).toEqual([])
  expect(t.errors, 'internal errors while answering').toEqual([])
  // Sessions the fuzzer opened by notification have ids it never learnt; what matters is that none is the other host's.
  for (const event of t.fuzzer.events) expect(event.session_id, 'the fuzzer saw the other host’s session').not.toBe(FOREIGN_SESSION)
  for (const session of t.hub.router.sessions.values()) {
    expect(session.hostClientId).toBe(session.sessionId === FOREIGN_SESSION ? t.healthyId : t.fuzzerId)
  }
  for (const id of fuzzerSessions) {
    const session = t.hub.router.sessions.get(id)
    if (session) expect(session.hostClientId).toBe(t.fuzzerId)
  }
  for (const event of t.healthy.events) expect(event.session_id).toBe(FOREIGN_SESSION)

  t.fuzzer.dispose()
  await settle()
  const left = [...t.hub.router.sessions.values()]
  expect(left.every((s) => s.sessionId === FOREIGN_SESSION), `sessions left: ${left.map((s) => s.sessionId)}`).toBe(true)

  // The healthy host's session still routes (or ended once, if the fuzzer stopped its agent).
  if (t.hub.router.sessions.get(FOREIGN_SESSION)) {
    expect(t.healthy.events).toEqual([])
    const quiet = t.launcher.latest('quiet')
    quiet.send(agentEvent(FOREIGN_SESSION, { kind: 'token', delta: 'still mine' }))
    quiet.send(agentEvent(FOREIGN_SESSION, { kind: 'done', finish_reason: 'stop' }))
    await settle()
    expect(t.healthy.textOf(FOREIGN_SESSION)).toBe('still mine')
  }
  expect(t.healthy.terminalsOf(FOREIGN_SESSION)).toHaveLength(1)
  // And it can chat again, whatever the fuzzer did to the agents.
  await t.healthy.client.call('agents.start', { agent_id: 'a' })
  const { session_id } = await t.healthy.client.call('agents.chat', { agent_id: 'a', prompt: 'one two three' })
  await settle()
  expect(t.healthy.textOf(session_id)).toBe('one two three')
  expect(t.healthy.terminalsOf(session_id).map((e) => e.kind)).toEqual(['done'])
  expect(t.hub.stats().sessions_active).toBe(0)
  expect([...t.hub.router.sessions.values()].flatMap((s) => [...s.pendingApprovals])).toEqual([])
  // Every provider the storm left saved runs as an agent under its id, none under the hub's own agents' (§12).
  const { providers } = await t.healthy.client.call('providers.list', {})
  const agentIds = t.hub.supervisor.list().map((agent) => agent.id)
  for (const provider of providers) expect(agentIds).toContain(provider.id)
  expect(providers.map((provider) => provider.id)).not.toContain('a')
  await t.hub.shutdown()
}

/** Notes which sessions the fuzzer legitimately opened, from the hub's own answers. */
function noteSessions(reply: unknown, into: Set<string>): void {
  for (const r of (Array.isArray(reply) ? reply : [reply]) as Reply[]) {
    const result = r?.result as { accepted?: boolean; session_id?: string } | undefined
    if (result?.accepted === true && typeof result.session_id === 'string') into.add(result.session_id)
  }
}

describe('fuzz: host input', () => {
  it(`answers schema-derived, near-valid and broken requests exactly as JSON-RPC and PROTOCOL.md say (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestDraft, { minLength: 1, maxLength: 25 }), async (drafts) => {
        const before = snapshotPrototypes()
        const t = await fuzzHub()
        const ids = new IdSource()
        const mine = new Set<string>()
        for (const draft of drafts) {
          const message = draft.build(draft.id, ids.value(draft.id))
          const expected = expectedReply(message, draft.verdict)
          const from = t.fuzzer.received.length
          t.fuzzer.sendRaw(message)
          await settle()
          const replies = repliesSince(t.fuzzer, from)
          if (expected.reply === 'none') {
            expect(replies, `${draft.label}: a notification gets no answer`).toEqual([])
            continue
          }
          expect(replies, draft.label).toHaveLength(1)
          checkReply(replies[0], expected)
          noteSessions(replies[0], mine)
        }
        await checkAftermath(t, before, mine)
      }),
      { seed: SEED, numRuns: 60 },
    )
  }, 60_000)

  it(`answers batches item by item and raw garbage with -32600, even values only structured clone can carry (seed ${SEED})`, async () => {
    const item = fc.oneof(
      { weight: 3, arbitrary: requestDraft.map((draft) => ({ draft })) },
      { weight: 1, arbitrary: rawGarbage.map((garbage) => ({ garbage })) },
    )
    const input = fc.oneof(
      { weight: 2, arbitrary: fc.array(item, { maxLength: 12 }).map((items) => ({ batch: items })) },
      { weight: 2, arbitrary: rawGarbage.map((garbage) => ({ single: garbage })) },
    )
    await fc.assert(
      fc.asyncProperty(fc.array(input, { minLength: 1, maxLength: 12 }), async (inputs) => {
        const before = snapshotPrototypes()
        const t = await fuzzHub()
        const ids = new IdSource()
        const mine = new Set<string>()
        for (const entry of inputs) {
          let message: unknown
          let expected: Expected
          if ('single' in entry) {
            message = entry.single
            fc.pre(!(typeof message === 'object' && message !== null && (message as { jsonrpc?: unknown }).jsonrpc === '2.0'))
            expected = expectedReply(message, undefined)
          } else {
            const built = entry.batch.map((part) => ('draft' in part ? part.draft.build(part.draft.id, ids.value(part.draft.id)) : part.garbage))
            message = built
            const items: Expected[] = []
            entry.batch.forEach((part, i) => {
              const one = expectedReply(built[i], 'draft' in part ? part.draft.verdict : undefined, false)
              if (one.reply !== 'none') items.push(one)
            })
            expected = built.length === 0 ? { reply: 'error', id: null, code: ErrorCode.InvalidRequest } : items.length ? { reply: 'batch', items } : { reply: 'none' }
          }
          const from = t.fuzzer.received.length
          t.fuzzer.sendRaw(message)
          await settle()
          const replies = repliesSince(t.fuzzer, from)
          if (expected.reply === 'none') {
            expect(replies).toEqual([])
            continue
          }
          expect(replies).toHaveLength(1)
          checkReply(replies[0], expected)
          noteSessions(replies[0], mine)
        }
        await checkAftermath(t, before, mine)
      }),
      { seed: SEED + 1, numRuns: 60 },
    )
  }, 60_000)

  it('survives pathological shapes: deep nesting, a huge batch of garbage, huge strings, poisoned keys', async () => {
    const before = snapshotPrototypes()
    const t = await fuzzHub()
    const cases: Array<{ message: unknown; check(replies: unknown[]): void }> = [
      {
        message: { jsonrpc: '2.0', id: 'deep-params', method: 'agents.chat', params: { agent_id: 'a', prompt: 'x', attachments: [deepValue(100_000, 'object')] } },
        check: (r) => expect((r[0] as Reply).error?.code).toBe(ErrorCode.InvalidParams),
      },
      {
        message: { jsonrpc: '2.0', id: 'deep-key', method: 'hub.stats', params: { nested: deepValue(100_000, 'array') } },
        check: (r) => expect((r[0] as Reply).error?.code).toBe(ErrorCode.InvalidParams),
      },
      { message: deepValue(100_000, 'array'), check: (r) => expect(r[0]).toEqual([{ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: ErrorCode.InvalidRequest }) }]) },
      { message: { jsonrpc: '2.0', id: deepValue(10_000, 'object'), method: 'hub.stats' }, check: (r) => expect((r[0] as Reply).id).toBeNull() },
      {
        message: Array.from({ length: 2_000 }, (_, i) => (i % 2 ? { junk: i } : i)),
        check: (r) => {
          const items = r[0] as Reply[]
          expect(items).toHaveLength(2_000)
          expect(items.every((x) => x.error?.code === ErrorCode.InvalidRequest && x.id === null)).toBe(true)
        },
      },
      {
        message: { jsonrpc: '2.0', id: 'huge', method: 'agents.chat', params: { agent_id: 'a', prompt: 'x'.repeat(8 * 1024 * 1024) } },
        check: (r) => expect((r[0] as Reply).error?.code).toBe(ErrorCode.InvalidParams),
      },
      {
        message: { jsonrpc: '2.0', id: 'huge-method', method: 'm'.repeat(4 * 1024 * 1024) },
        check: (r) => {
          expect((r[0] as Reply).error?.code).toBe(ErrorCode.MethodNotFound)
          // No amplification: the answer is not much bigger than the request.
          expect(JSON.stringify(r[0]).length).toBeLessThan(4 * 1024 * 1024 + 1024)
        },
      },
      {
        message: JSON.parse('{"jsonrpc":"2.0","id":"proto","method":"agents.chat","params":{"agent_id":"a","prompt":"x","__proto__":{"polluted":true,"session_id":"hijack"}}}'),
        check: (r) => {
          expect((r[0] as Reply).error?.code).toBe(ErrorCode.InvalidParams)
          expect((r[0] as Reply).error?.message).toContain("'__proto__'")
        },
      },
    ]
    for (const { message, check } of cases) {
      const from = t.fuzzer.received.length
      t.fuzzer.sendRaw(message)
      await settle()
      const replies = repliesSince(t.fuzzer, from)
      expect(replies).toHaveLength(1)
      check(replies)
    }
    await checkAftermath(t, before, new Set())
  }, 30_000)
})
