import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { builtOutputExists, cleanEnv, startHub } from './support/headless-process.js'
import { useCliHub } from './support/cli-hub.js'
import { WsTestClient } from './support/ws-test-client.js'


/**
 * A manifest agent that streams a first token, then waits at an approval before it
 * sends the rest: the test decides when the turn may go on, so it can observe
 * what the CLI printed meanwhile without any timing.
 */
const GATE_AGENT = `
const send = (message) => process.send(message)
const event = (session_id, fields) => send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id, ...fields } })
const waiting = new Set()
process.on('message', (m) => {
  if (m.method === 'agent.chat') {
    const sid = m.params.session_id
    send({ jsonrpc: '2.0', id: m.id, result: { accepted: true, session_id: sid } })
    event(sid, { kind: 'token', delta: 'before the gate, ' })
    waiting.add(sid)
    event(sid, { kind: 'approval_pending', approval_id: 'gate-1', tool: 'open_gate', params: { gate: 1 } })
  } else if (m.method === 'agent.chat.approve') {
    const sid = m.params.session_id
    send({ jsonrpc: '2.0', id: m.id, result: { resolved: waiting.delete(sid) } })
    event(sid, { kind: 'approval_resolved', approval_id: 'gate-1', resolution: m.params.decision ? 'approve' : 'deny' })
    event(sid, { kind: 'token', delta: m.params.decision ? 'after the gate' : 'gate stays shut' })
    event(sid, { kind: 'done', finish_reason: 'stop' })
  } else if (m.method === 'agent.chat.cancel') {
    if (waiting.delete(m.params.session_id)) event(m.params.session_id, { kind: 'done', finish_reason: 'cancelled' })
  }
})
process.on('disconnect', () => process.exit(0))
`

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}

describe.skipIf(!builtOutputExists())('carhost CLI (bin/carhost.js) against a headless hub', () => {
  const cli = useCliHub('carhost-cli-', GATE_AGENT)

  it('agents: a table of the hub\'s agents, found through the data dir', async () => {
    const { code, stdout } = await cli.run(['--data-dir', cli.dataDir, 'agents'])
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+PID/)
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['echo', 'Echo', 'running'],
      ['toolbox', 'Toolbox', 'running'],
      ['gate', 'Gate', 'running'],
    ])
  })

  it('agents --json, with the hub given by $CARHOST_URL and $CARHOST_TOKEN', async () => {
    const empty = join(cli.root, 'empty')
    const { code, stdout } = await cli.run(
      ['--data-dir', empty, 'agents', '--json'],
      cleanEnv({ CARHOST_URL: cli.running.url, CARHOST_TOKEN: cli.running.token }),
    )
    expect(code).toBe(0)
    expect((JSON.parse(stdout) as Array<{ id: string }>).map((a) => a.id)).toEqual(['echo', 'toolbox', 'gate'])
  })

  it('chat echo "hello world": prints the streamed text', async () => {
    const { code, stdout } = await cli.run(['--data-dir', cli.dataDir, 'chat', 'echo', 'hello world'])
    expect(code).toBe(0)
    expect(stdout).toBe('hello world\n')
  })

  it('chat streams tokens to stdout as they arrive, before the answer is complete', async () => {
    const proc = cli.carhost(['--url', cli.running.url, '--token', cli.running.token, 'chat', 'gate', 'go'])
    // The agent holds the rest of its answer until the approval is answered.
    await proc.waitFor(/allow open_gate \{"gate":1\}\? \[y\/N\]/, 'stderr')
    await proc.waitFor(/before the gate, /)
    expect(proc.stdout).toBe('before the gate, ')
    proc.child.stdin!.end('yes\n')
    const exit = await proc.exited
    expect(exit.code).toBe(0)
    expect(proc.stdout).toBe('before the gate, after the gate\n')
  })

  it('chat toolbox "calculate 2+3": the approval is asked and answered on stdin', async () => {
    const proc = cli.carhost(['--data-dir', cli.dataDir, 'chat', 'toolbox', 'calculate 2+3'])
    await proc.waitFor(/allow calculate.*\[y\/N\]/, 'stderr')
    expect(proc.stdout).toBe('')
    proc.child.stdin!.end('y\n')
    const exit = await proc.exited
    expect(exit.code).toBe(0)
    expect(proc.stdout).toBe('2+3 = 5\n')
    expect(proc.stderr).toContain('calculate')
    expect(proc.stderr).toMatch(/approve/)
  })

  it('chat toolbox: "n" on stdin denies the tool; --yes approves without asking', async () => {
    const denied = await cli.run(['--data-dir', cli.dataDir, 'chat', 'toolbox', 'calculate 6*7'], undefined, 'n\n')
    expect(denied.code).toBe(0)
    expect(denied.stdout).toContain('denied')
    expect(denied.stdout).not.toContain('42')

    const approved = await cli.run(['--data-dir', cli.dataDir, '--yes', 'chat', 'toolbox', 'calculate 6*7'])
    expect(approved.code).toBe(0)
    expect(approved.stdout).toBe('6*7 = 42\n')
  })

  it('chat reads a prompt past the 128 KiB argument limit from stdin: piped with no prompt, or as "-"', async () => {
    // 200 KiB: more than Linux allows in one argument, less than §3's 256 KiB prompt.
    const big = Array.from({ length: 200 * 1024 / 8 }, (_, i) => String(i % 10_000).padStart(7, '0')).join(' ') + '.'
    expect(Buffer.byteLength(big)).toBeGreaterThan(128 * 1024)
    for (const args of [['chat', 'echo'], ['chat', 'echo', '-']]) {
      const { code, stdout, stderr } = await cli.run(['--data-dir', cli.dataDir, ...args], undefined, big)
      expect(code, stderr).toBe(0)
      expect(stdout).toBe(`${big}\n`)
    }
  })

  it('a prompt from stdin: empty is a usage error; over §3\'s 256 KiB is refused before sending', async () => {
    const empty = await cli.run(['--data-dir', cli.dataDir, 'chat', 'echo'], undefined, '  \n')
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/^carhost: the prompt read from stdin is empty\n/)

    const tooBig = await cli.run(['--data-dir', cli.dataDir, 'chat', 'echo', '-'], undefined, 'x'.repeat(262_145))
    expect(tooBig.code).toBe(2)
    expect(tooBig.stderr).toMatch(/^carhost: the prompt on stdin is over 262144 bytes\n/)
    expect(tooBig.stdout).toBe('')
  })

  it('a prompt from stdin leaves no stdin for approvals: they are denied, and --yes still allows', async () => {
    const asked = await cli.run(['--data-dir', cli.dataDir, 'chat', 'toolbox'], undefined, 'calculate 6*7')
    expect(asked.code).toBe(0)
    expect(asked.stderr).toMatch(/allow calculate.*no \(stdin held the prompt/)
    expect(asked.stdout).toContain('denied')

    const allowed = await cli.run(['--data-dir', cli.dataDir, '--yes', 'chat', 'toolbox', '-'], undefined, 'calculate 6*7')
    expect(allowed.code).toBe(0)
    expect(allowed.stdout).toBe('6*7 = 42\n')
  })

  it('Ctrl-C during a chat cancels the turn and exits 130', async () => {
    const proc = cli.carhost(['--data-dir', cli.dataDir, 'chat', 'gate', 'go'])
    await proc.waitFor(/allow open_gate/, 'stderr')
    proc.kill('SIGINT')
    const exit = await proc.exited
    expect(exit.code).toBe(130)
    expect(proc.stderr).toContain('cancelling')
    expect(proc.stdout).not.toContain('after the gate')
  })

  it('chat with an unknown agent: exit 1', async () => {
    const { code, stderr } = await cli.run(['--data-dir', cli.dataDir, 'chat', 'nobody', 'hi'])
    expect(code).toBe(1)
    expect(stderr).toContain('nobody')
  })

  it('watch: prints a status change caused by another client', async () => {
    const watch = cli.carhost(['--data-dir', cli.dataDir, 'watch'])
    await watch.waitFor(/watching/, 'stderr')
    const other = await WsTestClient.authed(cli.running.url, cli.running.token)
    try {
      const restarted = await other.call('agents.restart', { agent_id: 'toolbox' })
      expect(restarted).toMatchObject({ result: { id: 'toolbox', status: 'running' } })
    } finally {
      other.socket.terminate()
    }
    await watch.waitFor(/agent\.status_changed toolbox .*running/)
    expect(watch.stdout).toMatch(/^\d{4}-\d\d-\d\dT[^ ]+ agent\.status_changed toolbox /m)
    watch.kill('SIGINT')
    expect((await watch.exited).code).toBe(0)
    // Ctrl-C ends `watch` quietly: the socket it then closes is no news.
    expect(watch.stderr).toMatch(/^watching \d+ agent\(s\) from event \d+; Ctrl-C to stop\n$/)
  })

  it('bad usage: exit 2', async () => {
    for (const args of [[], ['frobnicate'], ['chat'], ['chat', 'echo'], ['--bogus', 'agents'], ['agents', '--yes'], ['chat', 'echo', 'x', '--yes', '--no']]) {
      const { code, stderr } = await cli.run(['--data-dir', cli.dataDir, ...args])
      expect(code, args.join(' ')).toBe(2)
      expect(stderr, args.join(' ')).toMatch(/^carhost: /)
    }
  })

  it('a bad URL is a usage error naming where it came from: --url or $CARHOST_URL, exit 2', async () => {
    // More shapes of a bad URL: isWebSocketUrl's unit test.
    for (const url of ['nonsense', 'ws://[']) {
      const flag = await cli.run(['--url', url, '--token', 't', 'agents'])
      expect(flag.code, url).toBe(2)
      expect(flag.stderr, url).toMatch(/^carhost: --url: must be a ws:\/\/ or wss:\/\/ URL\n/)

      const env = await cli.run(['--data-dir', cli.dataDir, 'agents'], cleanEnv({ CARHOST_URL: url }))
      expect(env.code, url).toBe(2)
      expect(env.stderr, url).toBe('carhost: $CARHOST_URL: must be a ws:// or wss:// URL\n')
    }
  })

  it('a malformed or unreadable hub-endpoint.json or hub-token: exit 3 naming the file', async () => {
    const broken = join(cli.root, 'broken')
    mkdirSync(broken)
    const endpoint = join(broken, 'hub-endpoint.json')
    for (const [contents, problem] of [
      ['{"url": "ws://127.0.0.1:1", ', 'is not valid JSON'],
      ['{"url": "nonsense", "pid": 1}', 'is malformed: url: must be a ws:// or wss:// URL'],
      ['[]', 'is malformed'],
    ] as const) {
      writeFileSync(endpoint, contents)
      const { code, stderr } = await cli.run(['--data-dir', broken, 'agents'])
      expect(code, contents).toBe(3)
      expect(stderr, contents).toContain(`carhost: cannot find the hub: ${endpoint} ${problem}`)
      expect(stderr.trimEnd().split('\n'), contents).toHaveLength(1)
    }

    // A hub-token that cannot be read (a folder here: root reads any file).
    writeFileSync(endpoint, JSON.stringify({ url: cli.running.url, pid: 1 }))
    mkdirSync(join(broken, 'hub-token'))
    const token = await cli.run(['--data-dir', broken, 'agents'])
    expect(token.code).toBe(3)
    expect(token.stderr).toBe(`carhost: cannot read the host token: cannot read ${join(broken, 'hub-token')}: EISDIR\n`)
  })

  it('a hub that is gone: exit 3 naming the URL and the file it came from', async () => {
    const stale = join(cli.root, 'stale')
    mkdirSync(stale)
    const port = await freePort()
    writeFileSync(join(stale, 'hub-endpoint.json'), JSON.stringify({ url: `ws://127.0.0.1:${port}`, pid: 1 }))
    writeFileSync(join(stale, 'hub-token'), 'x\n')
    const { code, stderr } = await cli.run(['--data-dir', stale, 'agents'])
    expect(code).toBe(3)
    expect(stderr).toBe(`carhost: cannot connect to the hub at ws://127.0.0.1:${port} (from ${join(stale, 'hub-endpoint.json')}): ECONNREFUSED\n`)
  })

  it('a token beginning with "-" works as --token T and --token=T; watch exits 3 when that hub goes away', async () => {
    const dashed = '-dash-first-token-0123456789'
    const other = await startHub(['--port', '0', '--data-dir', join(cli.root, 'dashed'), '--no-builtin-agents', '--token', dashed])
    try {
      expect(other.token).toBe(dashed)
      for (const args of [['--token', dashed], [`--token=${dashed}`]]) {
        const { code, stdout, stderr } = await cli.run(['--url', other.url, ...args, 'agents', '--json'])
        expect(code, `${args.join(' ')}: ${stderr}`).toBe(0)
        expect(JSON.parse(stdout)).toEqual([])
      }
      const watch = cli.carhost(['--url', other.url, '--token', dashed, 'watch'])
      await watch.waitFor(/watching/, 'stderr')
      other.process.kill('SIGTERM')
      expect((await watch.exited).code).toBe(3)
      expect(watch.stderr).toContain('carhost: the hub closed the connection')
    } finally {
      other.process.kill('SIGKILL')
      await other.process.exited
    }
  })

  it('--help and help: usage on stdout, exit 0', async () => {
    for (const args of [['--help'], ['help']]) {
      const { code, stdout } = await cli.run(args)
      expect(code).toBe(0)
      expect(stdout).toContain('Usage: carhost')
      for (const listed of ['history', 'show ID', 'search WORDS', 'export ID', 'providers add ID', 'providers remove ID', 'models AGENT', '--api-key-stdin', '--conversation ID', '--new', '--model M']) {
        expect(stdout).toContain(listed)
      }
    }
  })

  it('unreachable hub, wrong token, or no hub at all: exit 3', async () => {
    const port = await freePort()
    const refused = await cli.run(['--url', `ws://127.0.0.1:${port}`, '--token', 'x', 'agents'])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain('cannot connect')

    const wrongToken = await cli.run(['--url', cli.running.url, '--token', 'not-the-token', 'agents'])
    expect(wrongToken.code).toBe(3)
    expect(wrongToken.stderr).toContain('token')

    const nothing = await cli.run(['--data-dir', join(cli.root, 'nowhere'), 'agents'])
    expect(nothing.code).toBe(3)
    expect(nothing.stderr).toContain('no hub found')
  })
})
