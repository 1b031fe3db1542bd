import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { MockModelServer } from '../fixtures/model-servers/mock-model-server.js'
import type { ProviderAgentProcess } from './support/provider-agent.js'
import { KINDS, ProviderRig, SECRET_KEY, type KindCase } from './support/provider-rig.js'

/**
 * Tools over MCP (§12): the servers of `mcp.json` started by the provider agent,
 * their tools offered to the model, each call through approval (unless
 * auto-approved) to a result the model continues with.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const FIXTURE = resolve(ROOT, 'test/fixtures/mcp/fixture-server.ts')
const [OPENAI, ANTHROPIC] = KINDS as [KindCase, KindCase]

const rig = new ProviderRig()
const dirs: string[] = []
afterEach(async () => {
  await rig.dispose()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

type McpServers = Record<string, { command: string; args?: string[]; env?: Record<string, string>; autoApprove?: string[] }>

function fixtureServer(extra: { env?: Record<string, string>; autoApprove?: string[] } = {}) {
  return { command: process.execPath, args: ['--import', 'tsx', FIXTURE], ...extra }
}

function dataDir(servers: McpServers): string {
  const dir = mkdtempSync(join(tmpdir(), 'carhost-mcp-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'mcp.json'), JSON.stringify({ mcpServers: servers }))
  return dir
}

async function start(kind: KindCase, servers: McpServers): Promise<{ server: MockModelServer; agent: ProviderAgentProcess }> {
  const server = await rig.server(kind)
  const agent = rig.agent(kind, kind.baseUrl(server), {}, { dataDir: dataDir(servers) })
  return { server, agent }
}

const toolNames = (body: unknown, kind: KindCase) =>
  ((body as { tools?: Array<{ name?: string; function?: { name: string } }> }).tools ?? []).map((t) => (kind.kind === 'openai' ? t.function!.name : t.name))

/** Live (non-zombie) processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const [, state, ppid] = /\) (\S) (\d+) /.exec(stat) ?? []
      if (Number(ppid) === pid && state !== 'Z') children.push(Number(entry))
    } catch {
      // Gone meanwhile.
    }
  }
  return children
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** For a condition no event announces: checks every few ms, up to a deadline. */
async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('provider agent tools over MCP', () => {
  it('approve: tool_call, approval_pending, approval_resolved, tool_result, then the model continues with the result', async () => {
    const { server, agent } = await start(OPENAI, { calc: fixtureServer() })
    server.reply(
      { kind: 'stream', text: ['Adding.'], toolCalls: [{ id: 'call_1', name: 'calc__add', arguments: '{"a": 2, "b": 40}' }], usage: { input: 10, output: 5 } },
      { kind: 'stream', text: [' It is 42.'], usage: { input: 30, output: 6 } },
    )
    const { sessionId } = await agent.chat('What is 2 + 40?')
    const pending = await agent.event(sessionId, 'approval_pending')
    expect(pending).toMatchObject({ tool: 'calc.add', params: { a: 2, b: 40 } })
    expect(await agent.approve(sessionId, pending.approval_id as string, true)).toEqual({ resolved: true })

    const done = await agent.terminal(sessionId)
    expect(done).toEqual({
      session_id: sessionId,
      kind: 'done',
      finish_reason: 'stop',
      text: 'Adding. It is 42.',
      usage: { input_tokens: 40, output_tokens: 11 },
    })
    const events = agent.eventsOf(sessionId).filter((e) => e.kind !== 'token')
    expect(events.map((e) => e.kind)).toEqual(['tool_call', 'approval_pending', 'approval_resolved', 'tool_result', 'done'])
    expect(events[0]).toMatchObject({ tool: 'calc.add', params: { a: 2, b: 40 } })
    expect(events[2]).toMatchObject({ approval_id: pending.approval_id, resolution: 'approve' })
    expect(events[3]).toMatchObject({ call_id: events[0]!.call_id, ok: true, excerpt: '42' })

    const [first, second] = server.chatRequests()
    expect(toolNames(first!.body, OPENAI)).toEqual(['calc__add', 'calc__env', 'calc__fail', 'calc__crash'])
    expect((second!.body as { messages: unknown[] }).messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: 'Adding.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'calc__add', arguments: '{"a": 2, "b": 40}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '42' },
    ])
  })

  it('deny: the tool does not run, tool_result says so, and the model is told the user denied it', async () => {
    const { server, agent } = await start(ANTHROPIC, { calc: fixtureServer() })
    server.reply(
      { kind: 'stream', toolCalls: [{ id: 'toolu_1', name: 'calc__add', arguments: '{"a":1,"b":1}' }] },
      { kind: 'stream', text: ['Fine, I will not.'] },
    )
    const { sessionId } = await agent.chat('add 1 and 1')
    const pending = await agent.event(sessionId, 'approval_pending')
    await agent.approve(sessionId, pending.approval_id as string, false)
    expect(await agent.terminal(sessionId)).toMatchObject({ kind: 'done', finish_reason: 'end_turn', text: 'Fine, I will not.' })
    expect(agent.eventsOf(sessionId).find((e) => e.kind === 'approval_resolved')).toMatchObject({ resolution: 'deny' })
    expect(agent.eventsOf(sessionId).find((e) => e.kind === 'tool_result')).toMatchObject({ ok: false, excerpt: 'denied by the user' })

    const messages = (server.chatRequests()[1]!.body as { messages: unknown[] }).messages
    expect(messages.slice(-2)).toEqual([
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'calc__add', input: { a: 1, b: 1 } }] },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'The user denied this tool call; it was not run.', is_error: true }],
      },
    ])
  })

  it('auto-approve runs the tool without asking; a failing tool is ok:false with its reason; the server env is only mcp.json\'s', async () => {
    const { server, agent } = await start(OPENAI, {
      'my tools': fixtureServer({ env: { FIXTURE_GREETING: 'hello-from-mcp-json' }, autoApprove: ['env', 'fail'] }),
    })
    server.reply(
      {
        kind: 'stream',
        toolCalls: [
          { id: 'call_env', name: 'my_tools__env', arguments: '{}' },
          { id: 'call_fail', name: 'my_tools__fail', arguments: '' },
        ],
      },
      { kind: 'stream', text: ['Done.'] },
    )
    const { sessionId } = await agent.chat('look around')
    expect(await agent.terminal(sessionId)).toMatchObject({ kind: 'done', text: 'Done.' })
    expect(agent.kindsOf(sessionId).filter((k) => k !== 'token')).toEqual(['tool_call', 'tool_result', 'tool_call', 'tool_result', 'done'])
    const [envCall, envResult, failCall, failResult] = agent.eventsOf(sessionId).filter((e) => e.kind.startsWith('tool_'))
    expect(envCall).toMatchObject({ tool: 'my tools.env', params: {} })
    expect(failCall).toMatchObject({ tool: 'my tools.fail' })
    expect(failResult).toMatchObject({ ok: false })
    expect(failResult!.excerpt).toContain('the fixture tool failed on purpose')

    const env = JSON.parse(envResult!.excerpt as string) as Record<string, string>
    expect(envResult).toMatchObject({ ok: true })
    expect(env.FIXTURE_GREETING).toBe('hello-from-mcp-json')
    for (const name of Object.keys(env)) expect(name).not.toMatch(/^CARHOST_/)
    const toolMessages = (server.chatRequests()[1]!.body as { messages: Array<{ role: string; content: string }> }).messages.filter((m) => m.role === 'tool')
    expect(toolMessages.map((m) => m.content)).toEqual([expect.stringContaining('hello-from-mcp-json'), expect.stringContaining('failed on purpose')])
    expect(JSON.stringify(toolMessages)).not.toContain(SECRET_KEY)
  })

  it('a server that fails to start is reported on the first turn and in agent.tools; a server that crashes mid-call fails that call and is announced stopped; the rest keep working', async () => {
    const { server, agent } = await start(OPENAI, {
      broken: { command: process.execPath, args: ['-e', 'process.exit(1)'] },
      missing: { command: '/nonexistent/mcp-server' },
      calc: fixtureServer({ autoApprove: ['add', 'crash'] }),
      spare: fixtureServer({ autoApprove: ['add'], env: { SPARE_TOKEN: 'mcp-env-secret' } }),
    })
    const fixtureTools = [
      { name: 'add', description: expect.any(String) },
      { name: 'env', description: expect.any(String) },
      { name: 'fail', description: expect.any(String) },
      { name: 'crash', description: expect.any(String) },
    ]
    const announced = await agent.until(() => agent.toolAnnouncements[0], 'agent.tools')
    expect(announced.servers).toEqual([
      { name: 'broken', state: 'failed', tools: [], error: expect.any(String) },
      { name: 'missing', state: 'failed', tools: [], error: expect.stringContaining('ENOENT') },
      { name: 'calc', state: 'ready', tools: fixtureTools },
      { name: 'spare', state: 'ready', tools: fixtureTools },
    ])
    expect(announced.servers[0]!.error).not.toBe('')
    // The models first: a window takes the first agent.updated after a save as the model list.
    const methods = agent.raw.map((m) => (m as { method?: string }).method)
    expect(methods.indexOf('agent.models')).toBeGreaterThanOrEqual(0)
    expect(methods.indexOf('agent.models')).toBeLessThan(methods.indexOf('agent.tools'))
    expect(agent.invalid).toEqual([])
    server.reply(
      { kind: 'stream', toolCalls: [{ id: 'c1', name: 'calc__crash', arguments: '{}' }] },
      { kind: 'stream', text: ['The tool crashed.'] },
      { kind: 'stream', toolCalls: [{ id: 'c2', name: 'spare__add', arguments: '{"a":1,"b":2}' }] },
      { kind: 'stream', text: ['3'] },
    )
    const first = await agent.chat('crash it')
    expect(await agent.terminal(first.sessionId)).toMatchObject({ kind: 'done', text: 'The tool crashed.' })
    const statuses = agent.eventsOf(first.sessionId).filter((e) => e.kind === 'status').map((e) => e.message as string)
    expect(statuses).toHaveLength(2)
    expect(statuses).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^The MCP server 'broken' did not start \(.+\); its tools are not offered, the other servers' tools are\.$/),
        expect.stringMatching(/^The MCP server 'missing' did not start \(.*ENOENT.*\)/),
      ]),
    )
    expect(toolNames(server.chatRequests()[0]!.body, OPENAI)).toEqual([
      'calc__add', 'calc__env', 'calc__fail', 'calc__crash',
      'spare__add', 'spare__env', 'spare__fail', 'spare__crash',
    ])
    expect(agent.eventsOf(first.sessionId).find((e) => e.kind === 'tool_result')).toMatchObject({ ok: false })

    const second = await agent.chat('add 1 and 2')
    expect(await agent.terminal(second.sessionId)).toMatchObject({ kind: 'done', text: '3' })
    expect(agent.eventsOf(second.sessionId).find((e) => e.kind === 'status')).toMatchObject({
      message: "The MCP server 'calc' stopped; its tools are not offered until the provider restarts.",
    })
    expect(agent.eventsOf(second.sessionId).find((e) => e.kind === 'tool_result')).toMatchObject({ ok: true, excerpt: '3' })
    expect(toolNames(server.chatRequests()[2]!.body, OPENAI)).toEqual(['spare__add', 'spare__env', 'spare__fail', 'spare__crash'])
    expect(agent.toolAnnouncements.map((a) => a.servers.map((s) => [s.name, s.state, s.tools.length]))).toEqual([
      [['broken', 'failed', 0], ['missing', 'failed', 0], ['calc', 'ready', 4], ['spare', 'ready', 4]],
      [['broken', 'failed', 0], ['missing', 'failed', 0], ['calc', 'stopped', 0], ['spare', 'ready', 4]],
    ])
    const sent = JSON.stringify(agent.toolAnnouncements)
    for (const secret of [SECRET_KEY, 'mcp-env-secret', 'SPARE_TOKEN', FIXTURE]) expect(sent).not.toContain(secret)
  })

  it('after 16 tool rounds the model is asked once more with tools forbidden, and that answer ends the turn', async () => {
    const { server, agent } = await start(ANTHROPIC, { calc: fixtureServer({ autoApprove: ['add'] }) })
    for (let i = 0; i < 16; i++) {
      server.reply({ kind: 'stream', toolCalls: [{ id: `toolu_${i}`, name: 'calc__add', arguments: `{"a":${i},"b":1}` }], usage: { input: 1, output: 1 } })
    }
    server.reply({ kind: 'stream', text: ['Enough adding.'], usage: { input: 1, output: 1 } })
    const { sessionId } = await agent.chat('loop forever')
    const done = await agent.terminal(sessionId)
    expect(done).toMatchObject({ kind: 'done', finish_reason: 'end_turn', text: 'Enough adding.', usage: { input_tokens: 17, output_tokens: 17 } })
    const requests = server.chatRequests()
    expect(requests).toHaveLength(17)
    expect(agent.kindsOf(sessionId).filter((k) => k === 'tool_result')).toHaveLength(16)
    for (const request of requests.slice(0, 16)) expect(request.body).not.toHaveProperty('tool_choice')
    expect((requests[16]!.body as { tool_choice: unknown }).tool_choice).toEqual({ type: 'none' })
  })

  it('a model the server says cannot use tools gets the request again without them', async () => {
    const { server, agent } = await start(OPENAI, { calc: fixtureServer() })
    server.reply(
      { kind: 'error', status: 400, message: 'registry.ollama.ai/library/gemma:2b does not support tools' },
      { kind: 'stream', text: ['Plain answer.'] },
    )
    const { sessionId } = await agent.chat('hi')
    expect(await agent.terminal(sessionId)).toMatchObject({ kind: 'done', text: 'Plain answer.' })
    expect(agent.eventsOf(sessionId).find((e) => e.kind === 'status')).toMatchObject({
      message: "The model 'mock-model-1' does not take tools; answering without them.",
    })
    const [refused, retried] = server.chatRequests()
    expect(toolNames(refused!.body, OPENAI)).toHaveLength(4)
    expect(retried!.body).not.toHaveProperty('tools')
  })

  it('cancel while an approval is pending ends the turn quietly', async () => {
    const { server, agent } = await start(OPENAI, { calc: fixtureServer() })
    server.reply({ kind: 'stream', toolCalls: [{ id: 'call_1', name: 'calc__add', arguments: '{"a":1,"b":2}' }] })
    const { sessionId } = await agent.chat('add')
    const pending = await agent.event(sessionId, 'approval_pending')
    agent.cancel(sessionId)
    expect(await agent.approve(sessionId, pending.approval_id as string, true)).toEqual({ resolved: false })
    const next = await agent.chat('next')
    await agent.terminal(next.sessionId)
    expect(agent.kindsOf(sessionId)).toEqual(['tool_call', 'approval_pending'])
    expect(server.chatRequests()).toHaveLength(2)
  })

  it('the MCP servers are the agent\'s children and stop with it', async () => {
    const { agent } = await start(OPENAI, { one: fixtureServer(), two: fixtureServer() })
    const { sessionId } = await agent.chat('hi')
    await agent.terminal(sessionId)
    const servers = childrenOf(agent.pid)
    expect(servers).toHaveLength(2)
    expect(await agent.stop()).toBe(0)
    await eventually(() => servers.every((pid) => !isAlive(pid)), 'the MCP servers to exit')
  })
})
