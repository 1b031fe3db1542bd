import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../src/protocol/errors.js'
import {
  builtOutputExists,
  cleanEnv,
  isRunning,
  startHub,
  startProcess,
  HEADLESS_JS,
  type RunningHub,
  type TestProcess,
} from './support/headless-process.js'
import { WsTestClient, isRecord } from './support/ws-test-client.js'

const RENDERER_INDEX = resolve('out/renderer/index.html')

let root: string
const started: TestProcess[] = []
const clients: WsTestClient[] = []

function tempDir(name: string): string {
  const dir = join(root, `${name}-${started.length}-${Math.random().toString(36).slice(2)}`)
  mkdirSync(dir)
  return dir
}

async function hub(args: string[], env?: NodeJS.ProcessEnv): Promise<RunningHub> {
  const running = await startHub(args, env)
  started.push(running.process)
  return running
}

async function connect(running: RunningHub): Promise<WsTestClient> {
  const c = await WsTestClient.authed(running.url, running.token)
  clients.push(c)
  return c
}

/** Runs the hub with arguments that must fail; resolves with its exit and output. */
async function runFailing(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startProcess(HEADLESS_JS, args)
  started.push(proc)
  const exit = await proc.exited
  return { code: exit.code, stdout: proc.stdout, stderr: proc.stderr }
}

function httpGet(port: number, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', fail)
    req.end()
  })
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'carhost-headless-'))
})

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.terminate()
  for (const proc of started.splice(0)) {
    proc.kill('SIGKILL')
    await proc.exited
  }
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe.skipIf(!builtOutputExists())('headless hub (node out/main/headless.js)', () => {
  it('prints one ready line, writes the token (0600, dir 0700) and the endpoint, and chats with echo over ws', async () => {
    const dataDir = join(tempDir('data'), 'nested', 'CarHost')
    const running = await hub(['--port', '0', '--data-dir', dataDir])
    expect(running.process.stdout.split('\n').filter(Boolean)).toHaveLength(1)
    expect(running.url).toBe(`ws://127.0.0.1:${running.port}`)
    expect(running.browserUrl).toBe(`http://127.0.0.1:${running.port}/#token=${encodeURIComponent(running.token)}`)

    const tokenFile = join(dataDir, 'hub-token')
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(running.token)
    expect(running.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600)
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(JSON.parse(readFileSync(join(dataDir, 'hub-endpoint.json'), 'utf8'))).toEqual({
      url: running.url,
      pid: running.process.child.pid,
    })

    const c = await connect(running)
    const { result } = (await c.call('agents.list')) as { result: { agents: Array<{ id: string; status: string }> } }
    expect(result.agents.map((a) => [a.id, a.status])).toEqual([
      ['echo', 'running'],
      ['toolbox', 'running'],
    ])
    const from = c.frames.length
    c.sendJson({ jsonrpc: '2.0', id: 'c', method: 'agents.chat', params: { agent_id: 'echo', prompt: 'hello headless world' } })
    await c.waitFor((f) => isRecord(f) && isRecord(f.params) && f.params.kind === 'done', from)
    const events = c.frames.slice(from + 1).map((f) => (f as { params: { kind: string; delta?: string } }).params)
    expect(events.filter((e) => e.kind === 'token').map((e) => e.delta).join('')).toBe('hello headless world')
  })

  it('SIGINT with a chat in flight: the host gets error hub_shutdown, exit code 0, no agent left, endpoint removed', async () => {
    const dataDir = tempDir('data')
    const running = await hub(['--port', '0', '--data-dir', dataDir], cleanEnv({ CARHOST_ECHO_DELAY_MS: '200' }))
    const c = await connect(running)
    const { result } = (await c.call('agents.list')) as { result: { agents: Array<{ pid: number | null }> } }
    const pids = result.agents.map((a) => a.pid).filter((pid): pid is number => pid !== null)
    expect(pids).toHaveLength(2)

    c.sendJson({
      jsonrpc: '2.0',
      id: 'slow',
      method: 'agents.chat',
      params: { agent_id: 'echo', prompt: 'a b c d e f g h i j k l m n o p q r s t u v w x y z', session_id: 'slow-1' },
    })
    await c.waitFor((f) => isRecord(f) && isRecord(f.params) && f.params.kind === 'token')
    running.process.kill('SIGINT')

    const terminal = (await c.waitFor(
      (f) => isRecord(f) && isRecord(f.params) && (f.params.kind === 'error' || f.params.kind === 'done'),
    )) as { params: Record<string, unknown> }
    expect(terminal.params).toMatchObject({ session_id: 'slow-1', agent_id: 'echo', kind: 'error', code: 'hub_shutdown' })
    await c.closed
    const exit = await running.process.exited
    expect(exit).toEqual({ code: 0, signal: null })
    for (const pid of pids) expect(isRunning(pid), `agent pid ${pid}`).toBe(false)
    expect(existsSync(join(dataDir, 'hub-endpoint.json'))).toBe(false)
    // Nothing after the terminal event.
    const index = c.frames.indexOf(terminal)
    expect(c.frames.slice(index + 1)).toEqual([])
  })

  it('a restarted hub keeps the token of its data folder (§2); --new-token replaces it', async () => {
    const dataDir = tempDir('data')
    const args = ['--port', '0', '--data-dir', dataDir, '--no-builtin-agents']
    const first = await hub(args)
    first.process.kill('SIGINT')
    expect((await first.process.exited).code).toBe(0)

    const second = await hub(args)
    expect(second.token).toBe(first.token)
    await connect(second)
    second.process.kill('SIGINT')
    expect((await second.process.exited).code).toBe(0)

    const third = await hub([...args, '--new-token'])
    expect(third.token).not.toBe(first.token)
    expect(readFileSync(join(dataDir, 'hub-token'), 'utf8').trim()).toBe(third.token)
    await connect(third)
  })

  it('takes --token, or $CARHOST_TOKEN, and then writes no token file', async () => {
    const dataDir = tempDir('data')
    const running = await hub(['--port', '0', '--data-dir', dataDir, '--token', 'from-the-flag-0123456789'])
    expect(running.token).toBe('from-the-flag-0123456789')
    await connect(running)
    expect(existsSync(join(dataDir, 'hub-token'))).toBe(false)

    // Its own folder: the first hub holds `dataDir` (one hub per data folder, §2).
    const envDataDir = tempDir('data')
    const fromEnv = await hub(['--port', '0', '--data-dir', envDataDir, '--no-builtin-agents'], cleanEnv({ CARHOST_TOKEN: 'from-the-env-0123456789' }))
    expect(fromEnv.token).toBe('from-the-env-0123456789')
    const c = await connect(fromEnv)
    expect(((await c.call('agents.list')) as { result: { agents: unknown[] } }).result.agents).toEqual([])
    expect(existsSync(join(envDataDir, 'hub-token'))).toBe(false)
  })

  it('--host 0.0.0.0 without --allow-remote: exit 2 with one line', async () => {
    const { code, stderr, stdout } = await runFailing(['--host', '0.0.0.0', '--port', '0', '--data-dir', tempDir('data')])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stderr).toContain('--allow-remote')
  })

  it('--help prints the usage and exits 0; a port in use: exit 1 with one line', async () => {
    const help = startProcess(HEADLESS_JS, ['--help'])
    started.push(help)
    expect((await help.exited).code).toBe(0)
    expect(help.stdout).toContain('--allow-remote')

    const first = await hub(['--port', '0', '--data-dir', tempDir('data'), '--no-builtin-agents'])
    const { code, stderr } = await runFailing(['--port', String(first.port), '--data-dir', tempDir('data'), '--no-builtin-agents'])
    expect(code).toBe(1)
    expect(stderr.trimEnd().split('\n').filter((line) => !line.includes(' info: '))).toEqual([
      expect.stringContaining('EADDRINUSE'),
    ])
  })

  it('bad flags: exit 2 with one line naming the problem', async () => {
    for (const [args, expected] of [
      [['--bogus'], '--bogus'],
      [['--port', 'abc'], '--port'],
      [['--port', '70000'], '--port'],
      [['--ack-timeout-ms', '-5'], '--ack-timeout-ms'],
      [['stray'], 'stray'],
      [['--token', ''], '--token'],
    ] as const) {
      const { code, stderr } = await runFailing([...args, '--data-dir', tempDir('data')])
      expect(code, args.join(' ')).toBe(2)
      expect(stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1)
      expect(stderr, args.join(' ')).toContain(expected)
    }
  })

  it('a bad manifest: exit 2 with one line naming the file, the agent and the field', async () => {
    const dir = tempDir('manifest')
    writeFileSync(join(dir, 'agent.js'), '')
    const cases: Array<[object | string, string[]]> = [
      [{ agents: [{ id: 'ok1', name: 'Ok', module: 'agent.js' }, { id: 'named', module: 'agent.js' }] }, ["agent 'named' (#1)", "field 'name'"]],
      [{ agents: [{ id: 'bad id!', name: 'X', module: 'agent.js' }] }, ["agent 'bad id!' (#0)", "field 'id'"]],
      [{ agents: [{ name: 'X', module: 'agent.js' }] }, ['agent #0', "field 'id'"]],
      [{ agents: [{ id: 'x', name: 'X', module: 'missing.js' }] }, ["agent 'x' (#0)", "field 'module'", join(dir, 'missing.js')]],
      [{ agents: [{ id: 'x', name: 'X', module: 'agent.js', colour: 'red' }] }, ["agent 'x' (#0)", "'colour'"]],
      [{ agents: [{ id: 'x', name: 'X', module: 'agent.js' }, { id: 'x', name: 'Y', module: 'agent.js' }] }, ["agent 'x' (#1)", "field 'id'", 'duplicate']],
      [{ agents: [{ id: 'echo', name: 'Mine', module: 'agent.js' }] }, ["agent 'echo' (#0)", "field 'id'", 'built-in']],
      ['{"agents": [', ['not valid JSON']],
    ]
    for (const [index, [manifest, expected]] of cases.entries()) {
      const file = join(dir, `manifest-${index}.json`)
      writeFileSync(file, typeof manifest === 'string' ? manifest : JSON.stringify(manifest))
      const { code, stderr } = await runFailing(['--agents', file, '--port', '0', '--data-dir', tempDir('data')])
      expect(code, stderr).toBe(2)
      expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(1)
      for (const text of [file, ...expected]) expect(stderr).toContain(text)
    }
  })

  it('loads a manifest agent, its module resolved against the manifest folder', async () => {
    const dir = tempDir('manifest')
    mkdirSync(join(dir, 'agents'))
    writeFileSync(
      join(dir, 'agents', 'mini.js'),
      `process.on('message', (m) => {
  if (m.method !== 'agent.chat') return
  const sid = m.params.session_id
  process.send({ jsonrpc: '2.0', id: m.id, result: { accepted: true, session_id: sid } })
  process.send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: sid, kind: 'token', delta: 'mini heard ' + m.params.prompt + ' from ' + process.env.CARHOST_AGENT_ID + process.env.MINI_SUFFIX } })
  process.send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: sid, kind: 'done', finish_reason: 'stop' } })
})
process.on('disconnect', () => process.exit(0))
`,
    )
    const manifest = join(dir, 'manifest.json')
    writeFileSync(
      manifest,
      JSON.stringify({ agents: [{ id: 'mini', name: 'Mini', module: 'agents/mini.js', env: { MINI_SUFFIX: '!' } }] }),
    )
    const running = await hub(['--agents', manifest, '--no-builtin-agents', '--port', '0', '--data-dir', tempDir('data')])
    const c = await connect(running)
    const listed = (await c.call('agents.list')) as { result: { agents: Array<{ id: string; status: string }> } }
    expect(listed.result.agents.map((a) => [a.id, a.status])).toEqual([['mini', 'running']])
    const from = c.frames.length
    c.sendJson({ jsonrpc: '2.0', id: 'm', method: 'agents.chat', params: { agent_id: 'mini', prompt: 'ping' } })
    const token = (await c.waitFor((f) => isRecord(f) && isRecord(f.params) && f.params.kind === 'token', from)) as {
      params: { delta: string }
    }
    expect(token.params.delta).toBe('mini heard ping from mini!')
  })

  it('serves the built renderer over HTTP with security headers, and nothing outside it', async (ctx) => {
    const running = await hub(['--port', '0', '--data-dir', tempDir('data'), '--no-builtin-agents'])
    const traversal = await httpGet(running.port, '/../../../../etc/passwd')
    expect(traversal.status).toBe(404)
    const encoded = await httpGet(running.port, '/%2e%2e/%2e%2e/%2e%2e/etc/passwd')
    expect(encoded.status).toBe(404)
    expect(encoded.body).not.toContain('root:')
    expect((await httpGet(running.port, '/no-such-file.js')).status).toBe(404)
    if (!existsSync(RENDERER_INDEX)) {
      ctx.skip('out/renderer/index.html is not built')
      return
    }
    const page = await httpGet(running.port, '/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toBe(readFileSync(RENDERER_INDEX, 'utf8'))
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain(`connect-src 'self' `)
    expect(csp).toContain(`ws://127.0.0.1:${running.port}`)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-eval')
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    const script = page.body.match(/src="([^"]+\.js)"/)?.[1]
    if (script) {
      const asset = await httpGet(running.port, script.startsWith('/') ? script : `/${script.replace(/^\.\//, '')}`)
      expect(asset.status).toBe(200)
      expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8')
    }
  })

  it('a WebSocket chat error code from a missing agent comes back as -32010', async () => {
    const running = await hub(['--port', '0', '--data-dir', tempDir('data'), '--no-builtin-agents'])
    const c = await connect(running)
    const reply = await c.call('agents.chat', { agent_id: 'nobody', prompt: 'hi' })
    expect(reply).toMatchObject({ error: { code: ErrorCode.UnknownAgent } })
  })
})
