import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { ConversationMethods, ConversationSchema, SearchResultSchema } from '../../src/protocol/conversations.js'
import { builtOutputExists } from './support/headless-process.js'
import { useCliHub } from './support/cli-hub.js'

/**
 * `carhost history/show/search/export` and `chat --new/--conversation` (issue 8
 * item 6) against the real headless hub keeping conversations (PROTOCOL.md §11).
 */


/** Streams one token, then waits at an approval: its turn stays in flight until the test answers. */
const GATE_AGENT = `
const send = (message) => process.send(message)
const event = (session_id, fields) => send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id, ...fields } })
process.on('message', (m) => {
  if (m.method === 'agent.chat') {
    const sid = m.params.session_id
    send({ jsonrpc: '2.0', id: m.id, result: { accepted: true, session_id: sid } })
    event(sid, { kind: 'token', delta: 'waiting, ' })
    event(sid, { kind: 'approval_pending', approval_id: 'gate-1', tool: 'open_gate', params: { gate: 1 } })
  } else if (m.method === 'agent.chat.approve') {
    const sid = m.params.session_id
    send({ jsonrpc: '2.0', id: m.id, result: { resolved: true } })
    event(sid, { kind: 'approval_resolved', approval_id: 'gate-1', resolution: m.params.decision ? 'approve' : 'deny' })
    event(sid, { kind: 'token', delta: 'opened' })
    event(sid, { kind: 'done', finish_reason: 'stop' })
  }
})
process.on('disconnect', () => process.exit(0))
`

/** The CLI on this file's hub, found through its data folder. */
function run(args: string[], stdin = '') {
  return cli.run(['--data-dir', cli.dataDir, ...args], undefined, stdin)
}

/** `chat --new`: the id the CLI printed on stderr. */
async function newConversation(agent: string, prompt: string, flags: string[] = []): Promise<{ id: string; stdout: string }> {
  const { code, stdout, stderr } = await run(['chat', agent, prompt, '--new', ...flags])
  expect(code, stderr).toBe(0)
  const match = stderr.match(/^conversation: (\S+)$/m)
  expect(match, stderr).not.toBeNull()
  return { id: match![1]!, stdout }
}

const GetResult = ConversationMethods['conversations.get'].result

const cli = useCliHub('carhost-cli-conv-', GATE_AGENT)

// Each test starts several CLI processes one after the other: room for a busy 2-core machine, not a deadline.
describe.skipIf(!builtOutputExists())('carhost conversations against a headless hub (§11)', { timeout: 120_000 }, () => {
  it('chat --new starts a conversation and prints its id; --conversation ID continues it; show lists both turns', async () => {
    const first = await newConversation('echo', 'apples and pears')
    expect(first.stdout).toBe('apples and pears\n')

    const second = await run(['chat', 'echo', 'plums too', '--conversation', first.id])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toBe('plums too\n')
    expect(second.stderr).not.toMatch(/^conversation: /m)

    const shown = await run(['show', first.id])
    expect(shown.code, shown.stderr).toBe(0)
    const lines = shown.stdout.split('\n')
    expect(lines[0]).toBe('apples and pears')
    expect(lines[1]).toContain(`${first.id} · echo · 4 messages`)
    const headings = lines.filter((line) => line.startsWith('── '))
    expect(headings).toHaveLength(4)
    expect(headings[0]).toMatch(/^── You · \d{4}-\d\d-\d\dT\S+Z ──$/)
    expect(headings[1]).toMatch(/^── echo · \S+ ──$/)
    expect(shown.stdout).toMatch(/\n\n── You · \S+ ──\napples and pears\n\n── echo · \S+ ──\napples and pears\n\n── You · \S+ ──\nplums too\n\n── echo · \S+ ──\nplums too\n$/)

    const json = await run(['show', first.id, '--json'])
    expect(json.code).toBe(0)
    const record = GetResult.parse(JSON.parse(json.stdout))
    expect(record.conversation).toMatchObject({ conversation_id: first.id, title: 'apples and pears', message_count: 4, busy: false })
    expect(record.messages.map((m) => [m.role, m.text, m.state])).toEqual([
      ['user', 'apples and pears', 'done'],
      ['assistant', 'apples and pears', 'done'],
      ['user', 'plums too', 'done'],
      ['assistant', 'plums too', 'done'],
    ])
  })

  it('history: newest first, --limit N, --json', async () => {
    const older = await newConversation('echo', 'history older')
    const newer = await newConversation('echo', 'history newer')

    const table = await run(['history'])
    expect(table.code, table.stderr).toBe(0)
    const [header, ...rows] = table.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^ID\s+UPDATED\s+MESSAGES\s+AGENT\s+TITLE$/)
    const ids = rows.map((row) => row.split(/\s+/)[0])
    expect(ids.indexOf(newer.id)).toBeGreaterThanOrEqual(0)
    expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id))
    expect(rows.find((row) => row.startsWith(newer.id))).toMatch(/\s2\s+echo\s+history newer$/)

    const limited = await run(['history', '--limit', '1', '--json'])
    expect(limited.code).toBe(0)
    const conversations = z.array(ConversationSchema).parse(JSON.parse(limited.stdout))
    expect(conversations.map((c) => c.conversation_id)).toEqual([newer.id])
  })

  it('search finds a message by a word prefix, any case; a hostile query is text, never an error', async () => {
    const { id } = await newConversation('echo', 'Quixotic zephyrs bewilder')
    const found = await run(['search', 'quixo', 'ZEPHYR'])
    expect(found.code, found.stderr).toBe(0)
    expect(found.stdout).toMatch(new RegExp(`^${id}  \\S+  Quixotic zephyrs bewilder\\n  .*Quixotic`, 'm'))

    const json = await run(['search', 'bewilder', '--json', '--limit', '5'])
    const results = z.array(SearchResultSchema).parse(JSON.parse(json.stdout))
    expect(results.map((r) => r.conversation_id)).toContain(id)

    for (const hostile of ['"', '*', 'NEAR(', '-x', 'a:b', '((']) {
      const { code, stderr } = await run(['search', '--', hostile])
      expect(code, `${hostile}: ${stderr}`).toBe(0)
    }
    const none = await run(['search', 'nothingmatchesthisword'])
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'no matches\n' })
  })

  it('export: Markdown with each message, its author and time, tool calls and approvals; JSON is conversations.get', async () => {
    const { id } = await newConversation('toolbox', 'calculate 2+3', ['--yes'])
    const md = await run(['export', id])
    expect(md.code, md.stderr).toBe(0)
    expect(md.stdout.startsWith('# calculate 2+3\n')).toBe(true)
    expect(md.stdout).toMatch(/^## You · \d{4}-\S+Z\n\ncalculate 2\+3\n/m)
    expect(md.stdout).toMatch(/^## toolbox · \d{4}-\S+Z\n/m)
    expect(md.stdout).toContain('> Tool call `calculate`: done')
    expect(md.stdout).toContain('> Approval for `calculate`: approved')
    expect(md.stdout).toContain('2+3 = 5')

    const shown = await run(['show', id])
    expect(shown.stdout).toMatch(/→ calculate \{.*\}\n/)
    expect(shown.stdout).toContain('approval for calculate: approved')

    const json = await run(['export', id, '--format', 'json'])
    expect(json.code).toBe(0)
    const record = GetResult.parse(JSON.parse(json.stdout))
    const again = GetResult.parse(JSON.parse((await run(['show', id, '--json'])).stdout))
    expect(record).toEqual(again)
    expect(record.messages[1]!.parts.map((part) => part.type)).toEqual(expect.arrayContaining(['tool_call', 'approval', 'text']))
  })

  it('a conversation with a turn in flight refuses another (-32013, exit 1); history marks it busy', async () => {
    const first = cli.carhost(['--data-dir', cli.dataDir, 'chat', 'gate', 'hold the gate', '--new'])
    const [, id] = (await first.waitFor(/^conversation: (\S+)$/m, 'stderr')) as RegExpMatchArray
    await first.waitFor(/allow open_gate/, 'stderr')

    const refused = await run(['chat', 'gate', 'again', '--conversation', id!])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('-32013')

    const history = await run(['history'])
    expect(history.stdout.split('\n').find((row) => row.startsWith(id!))).toMatch(/hold the gate \(busy\)$/)

    first.child.stdin!.end('y\n')
    expect((await first.exited).code).toBe(0)
    expect(first.stdout).toBe('waiting, opened\n')
  })

  it('an unknown conversation: exit 1 with -32014; a malformed id: exit 2 naming it', async () => {
    for (const args of [['show', 'no-such-conversation'], ['export', 'no-such-conversation']]) {
      const { code, stderr } = await run(args)
      expect(code, args.join(' ')).toBe(1)
      expect(stderr).toContain('-32014')
    }
    const bad = await run(['chat', 'echo', 'hi', '--conversation', 'not valid!'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^carhost: --conversation: /)
  })
})
