import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import { agentEvent, scriptedAgent, settle, type FakeAgentProcess } from '../support/fake-launcher.js'
import { rpcError, startHub } from '../support/hub-fixture.js'
import { agentSpec } from '../support/spec.js'
import { ackReply, agentMessage, type AckReply } from '../fixtures/fault/agent-input.js'
import { prototypeChanges, recordingLogger, snapshotPrototypes } from '../fixtures/fault/hygiene.js'

/**
 * A hostile agent (PROTOCOL.md §5, §6, §7): every malformed message is dropped and
 * counted without stopping the agent; every valid event reaches exactly its
 * session's host, re-addressed with `agent_id` and with nothing added or lost;
 * nothing crosses to another host, session or prototype; nothing leaks.
 */

const SEED = Number(process.env.CARHOST_FUZZ_SEED ?? 0x5eed_0002)
const NO_LAG = { highWaterBytes: 2 ** 30 }
/** Sessions of agent `a` (s0, s1: host one; t0: host two), one of agent `b` (u0: host two), and one that never existed. */
const SESSIONS = ['s0', 's1', 't0', 'u0', 'ghost'] as const

function cancelsSent(process: FakeAgentProcess): string[] {
  return process.inbox
    .filter((m) => (m as { method?: string }).method === 'agent.chat.cancel')
    .map((m) => (m as { params: { session_id: string } }).params.session_id)
}

describe('fuzz: agent input', () => {
  it(`routes schema-derived events exactly, drops and counts every broken one, and keeps the agent (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(agentMessage(SESSIONS), { minLength: 1, maxLength: 40 }), async (drafts) => {
        const before = snapshotPrototypes()
        const { logger, errors } = recordingLogger()
        const t = await startHub([agentSpec('a'), agentSpec('b')], { a: scriptedAgent(), b: scriptedAgent() }, { logger })
        const one = t.connect(NO_LAG)
        const two = t.connect(NO_LAG)
        await one.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's0' })
        await one.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 's1' })
        await two.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 't0' })
        await two.client.call('agents.chat', { agent_id: 'b', prompt: 'x', session_id: 'u0' })
        const a = t.launcher.latest('a')
        const droppedBefore = t.hub.stats().events_dropped

        // The model: PROTOCOL.md §7 rules 4 and 5, §8 (no merging: the hosts keep up).
        const owner = new Map([
          ['s0', one],
          ['s1', one],
          ['t0', two],
        ])
        const open = new Set(owner.keys())
        const approvals = new Map<string, Set<string>>([...open].map((s) => [s, new Set<string>()]))
        const expected = new Map([
          [one, [] as unknown[]],
          [two, [] as unknown[]],
        ])
        let dropped = 0
        for (const draft of drafts) {
          if (draft.type === 'event') {
            a.send(draft.wire)
            if (!open.has(draft.session)) {
              dropped++
              continue
            }
            expected.get(owner.get(draft.session)!)!.push({ ...draft.delivered, agent_id: 'a' })
            if (draft.kind === 'approval_pending') approvals.get(draft.session)!.add(draft.delivered.approval_id as string)
            if (draft.kind === 'approval_resolved') approvals.get(draft.session)!.delete(draft.delivered.approval_id as string)
            if (draft.kind === 'done' || draft.kind === 'error') open.delete(draft.session)
          } else {
            a.send(draft.message)
            if (draft.type === 'invalid') dropped++
          }
        }
        await settle()

        expect(one.events).toEqual(expected.get(one))
        expect(two.events).toEqual(expected.get(two))
        expect(t.hub.stats().events_dropped - droppedBefore).toBe(dropped)
        expect(t.hub.stats().events_merged).toBe(0)
        expect(t.hub.supervisor.get('a')?.status).toBe('running')
        expect(t.launcher.launched).toHaveLength(2)
        // The map holds exactly the sessions still open, with exactly their pending approvals.
        expect([...t.hub.router.sessions.values()].map((s) => s.sessionId).sort()).toEqual([...open, 'u0'].sort())
        for (const sid of open) expect([...t.hub.router.sessions.get(sid)!.pendingApprovals].sort()).toEqual([...approvals.get(sid)!].sort())
        expect(prototypeChanges(before)).toEqual([])
        expect(errors).toEqual([])

        // The other agent's session was never touched and still streams.
        t.launcher.latest('b').send(agentEvent('u0', { kind: 'token', delta: 'from b' }))
        await settle()
        expect(two.eventsOf('u0')).toEqual([{ session_id: 'u0', kind: 'token', delta: 'from b', agent_id: 'b' }])

        // Hosts leave: every remaining session goes, and each agent is told.
        one.dispose()
        two.dispose()
        await settle()
        expect(t.hub.stats().sessions_active).toBe(0)
        expect(cancelsSent(a).sort()).toEqual([...open].sort())
        await t.hub.shutdown()
      }),
      { seed: SEED, numRuns: 100 },
    )
  }, 60_000)

  it(`answers agents.chat by what the agent acknowledged: result, -32011 with its error, or -32004 (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ackReply, { minLength: 1, maxLength: 8 }), async (replies) => {
        const queue: AckReply[] = [...replies]
        const t = await startHub([agentSpec('c')], {
          c: (p) =>
            p.onHubMessage((m) => {
              const msg = m as { method?: string; id: number; params: { session_id: string } }
              if (msg.method !== 'agent.chat') return
              const answer = queue.shift()!.reply(msg.id, msg.params.session_id)
              if (answer !== undefined) p.send(answer)
            }),
        }, { ackTimeoutMs: 1_000 })
        const host = t.connect()
        const agent = t.launcher.latest('c')
        for (const [i, reply] of replies.entries()) {
          const sid = `ack-${i}`
          const call = host.client.call('agents.chat', { agent_id: 'c', prompt: 'x', session_id: sid })
          if (reply.outcome === 'accepted') {
            expect(await call, reply.label).toEqual({ accepted: true, session_id: sid })
            expect(t.hub.router.sessions.get(sid)?.phase).toBe('live')
            continue
          }
          const settled = rpcError(call)
          await settle()
          if (reply.outcome === 'timeout') {
            expect(t.hub.router.sessions.get(sid)?.phase, reply.label).toBe('pending')
            await t.advance(1_000)
          }
          const error = await settled
          expect(t.hub.router.sessions.has(sid), reply.label).toBe(false)
          if (reply.outcome === 'timeout') {
            expect(error.code, reply.label).toBe(ErrorCode.AckTimeout)
            await settle()
            expect(cancelsSent(agent)).toContain(sid)
          } else {
            expect(error.code, reply.label).toBe(ErrorCode.AgentUnavailable)
            if (reply.agentError) expect(error.data, reply.label).toEqual({ agent_error: reply.agentError })
            else expect((error.data as { agent_error?: unknown }).agent_error, reply.label).toBeDefined()
          }
        }
        const accepted = replies.filter((r) => r.outcome === 'accepted').length
        expect(t.hub.stats().sessions_active).toBe(accepted)
        expect(t.hub.supervisor.get('c')?.status).toBe('running')
        host.dispose()
        await settle()
        expect(t.hub.stats().sessions_active).toBe(0)
        await t.hub.shutdown()
      }),
      { seed: SEED + 1, numRuns: 100 },
    )
  }, 60_000)
})

describe('regressions found by the fault run', () => {
  it('a cancel before the chat result ends the session as cancelled, whatever the agent sends after it', async () => {
    const t = await startHub([agentSpec('a')], {
      a: (p) =>
        p.onHubMessage((m) => {
          const msg = m as { method?: string; id: number; params: { session_id: string } }
          if (msg.method === 'agent.chat') p.send({ jsonrpc: '2.0', id: msg.id, result: { accepted: true, session_id: msg.params.session_id } })
          if (msg.method === 'agent.chat.cancel') {
            // A sloppy agent: it keeps talking after the cancel, and even ends the turn itself.
            p.send(agentEvent(msg.params.session_id, { kind: 'token', delta: 'LATE' }))
            p.send(agentEvent(msg.params.session_id, { kind: 'done', finish_reason: 'stop', text: 'LATE' }))
          }
        }),
    })
    const host = t.connect()
    const chat = host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'early' })
    const cancel = host.client.call('agents.chat.cancel', { session_id: 'early' })
    expect(await chat).toEqual({ accepted: true, session_id: 'early' })
    expect(await cancel).toEqual({ cancelled: true })
    await settle()
    expect(host.eventsOf('early').map((e) => [e.kind, e.finish_reason])).toEqual([['done', 'cancelled']])
    expect(t.hub.stats().sessions_active).toBe(0)
  })

  it('a cancel that arrives after the agent already ended the turn (its end still held) is refused', async () => {
    const t = await startHub([agentSpec('a')], {
      a: (p) =>
        p.onHubMessage((m) => {
          const msg = m as { method?: string; id: number; params: { session_id: string } }
          if (msg.method !== 'agent.chat') return
          // The whole turn arrives before the acknowledgement, so the hub holds it (rule 3).
          p.send(agentEvent(msg.params.session_id, { kind: 'token', delta: 'all ' }))
          p.send(agentEvent(msg.params.session_id, { kind: 'done', finish_reason: 'stop' }))
          setTimeout(() => p.send({ jsonrpc: '2.0', id: msg.id, result: { accepted: true, session_id: msg.params.session_id } }), 5)
        }),
    })
    const host = t.connect()
    const chat = host.client.call('agents.chat', { agent_id: 'a', prompt: 'x', session_id: 'over' })
    await settle()
    expect(await host.client.call('agents.chat.cancel', { session_id: 'over' })).toEqual({ cancelled: false })
    await chat
    await settle()
    expect(host.eventsOf('over').map((e) => [e.kind, e.finish_reason])).toEqual([
      ['token', undefined],
      ['done', 'stop'],
    ])
  })
})
