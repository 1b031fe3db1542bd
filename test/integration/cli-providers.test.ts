import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ProviderSchema } from '../../src/protocol/providers.js'
import { MockModelServer } from '../fixtures/model-servers/mock-model-server.js'
import { openAiFormat } from '../fixtures/model-servers/openai-format.js'
import { assertKeyNowhere } from '../support/key-secrecy.js'
import { CARHOST_JS, builtOutputExists, cleanEnv, startHub, startProcess, type RunningHub, type TestProcess } from './support/headless-process.js'
import { isRecord, WsTestClient } from './support/ws-test-client.js'

/**
 * `carhost providers/providers add/providers remove/models` and `chat --model`
 * (issue 9 item 6) against the real headless hub and a mock OpenAI-format server (§12).
 */

const KEY = 'sk-carhost-cli-0123456789-SECRET'

let root: string
let dataDir: string
let running: RunningHub
let server: MockModelServer
let observer: WsTestClient
const outputs: string[] = []
const cliProcesses: TestProcess[] = []

async function run(args: string[], stdin = '') {
  const proc = startProcess(CARHOST_JS, ['--data-dir', dataDir, ...args], cleanEnv())
  cliProcesses.push(proc)
  proc.child.stdin!.end(stdin)
  const exit = await proc.exited
  outputs.push(proc.stdout, proc.stderr)
  return { code: exit.code, stdout: proc.stdout, stderr: proc.stderr }
}

/** Resolves once the observer has seen `agentId` announce models (a `host.event` carrying its info). */
function modelsAnnounced(agentId: string): Promise<unknown> {
  return observer.waitFor((frame) => {
    if (!isRecord(frame) || frame.method !== 'host.event' || !isRecord(frame.params)) return false
    const payload = frame.params.payload
    const info = isRecord(payload) && isRecord(payload.agent) ? payload.agent : payload
    return frame.params.agent_id === agentId && isRecord(info) && Array.isArray(info.models) && info.models.length > 0
  })
}

// Each test starts several CLI processes one after the other: room for a busy 2-core machine, not a deadline.
describe.skipIf(!builtOutputExists())('carhost providers and models against a headless hub (§12)', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'carhost-cli-prov-'))
    dataDir = join(root, 'data')
    server = await MockModelServer.start(openAiFormat, { apiKey: KEY })
    server.models({ kind: 'list', models: [{ id: 'mock-model-1' }, { id: 'mock-model-2' }] })
    running = await startHub(['--port', '0', '--data-dir', dataDir, '--no-builtin-agents'])
    observer = await WsTestClient.authed(running.url, running.token)
    expect(await observer.call('host.subscribe', {})).toHaveProperty('result')
  })

  afterEach(async () => {
    for (const proc of cliProcesses.splice(0)) {
      proc.kill('SIGKILL')
      await proc.exited
    }
  })

  afterAll(async () => {
    await observer?.close()
    running?.process.kill('SIGTERM')
    await running?.process.exited
    await server?.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('add (key from stdin), list, models, chat --model, replace keeping the key, remove; the key shows nowhere', async () => {
    const empty = await run(['providers'])
    expect(empty).toMatchObject({ code: 0, stdout: '' })
    expect(empty.stderr).toMatch(/no providers yet/)

    const announced = modelsAnnounced('mock')
    const base = ['providers', 'add', 'mock', '--kind', 'openai', '--base-url', `${server.origin}/v1`, '--name', 'Mock Server']
    const added = await run([...base, '--model', 'mock-model-2', '--system', 'Be brief.', '--api-key-stdin'], `${KEY}\n`)
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toBe(`saved provider mock (openai, ${server.origin}/v1, model mock-model-2, with an API key)\n`)

    const table = await run(['providers'])
    expect(table.code).toBe(0)
    const [header, row] = table.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^ID\s+NAME\s+KIND\s+BASE URL\s+MODEL\s+KEY$/)
    expect(row!.split(/\s{2,}/)).toEqual(['mock', 'Mock Server', 'openai', `${server.origin}/v1`, 'mock-model-2', 'yes'])

    const json = await run(['providers', '--json'])
    expect(z.array(ProviderSchema).parse(JSON.parse(json.stdout))).toEqual([
      expect.objectContaining({ id: 'mock', has_api_key: true, default_model: 'mock-model-2', system_prompt: 'Be brief.' }),
    ])

    await announced
    const models = await run(['models', 'mock'])
    expect(models.code, models.stderr).toBe(0)
    expect(models.stdout.trimEnd().split('\n').slice(1)).toEqual(['   mock-model-1', '*  mock-model-2'])

    server.reply({ kind: 'stream', text: ['Hello', ' from', ' mock'] })
    const chat = await run(['chat', 'mock', 'hi there', '--model', 'mock-model-1'])
    expect(chat.code, chat.stderr).toBe(0)
    expect(chat.stdout).toBe('Hello from mock\n')
    const request = server.chatRequests().at(-1)!
    expect(request.body).toMatchObject({ model: 'mock-model-1' })
    expect(JSON.stringify(request.body)).toContain('Be brief.')
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`)

    // Without --api-key-stdin the stored key is kept (§12: api_key omitted).
    const replaced = await run([...base, '--model', 'mock-model-1'])
    expect(replaced.code, replaced.stderr).toBe(0)
    expect(replaced.stdout).toContain('with an API key')

    const removed = await run(['providers', 'remove', 'mock'])
    expect(removed).toMatchObject({ code: 0, stdout: 'removed provider mock\n' })
    const again = await run(['providers', 'remove', 'mock'])
    expect(again.code).toBe(1)
    expect(again.stderr).toBe(`carhost: no provider 'mock'\n`)

    assertKeyNowhere(KEY, { messages: observer.frames, logLines: [running.process.stdout, running.process.stderr], other: outputs })
  })

  it('an empty key on stdin is a usage error; nothing is saved', async () => {
    const { code, stderr } = await run(
      ['providers', 'add', 'nokey', '--kind', 'anthropic', '--base-url', 'https://api.anthropic.com', '--api-key-stdin'],
      '\n',
    )
    expect(code).toBe(2)
    expect(stderr).toMatch(/^carhost: --api-key-stdin: /)
    const list = await run(['providers', '--json'])
    expect(z.array(ProviderSchema).parse(JSON.parse(list.stdout)).map((p) => p.id)).not.toContain('nokey')
  })

  it('models of an agent that is not there: exit 1; a bad --kind: exit 2 naming it', async () => {
    const missing = await run(['models', 'nobody'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`no agent 'nobody'`)

    const bad = await run(['providers', 'add', 'p', '--kind', 'gemini', '--base-url', 'http://127.0.0.1:1/v1'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^carhost: --kind: must be openai or anthropic\n/)
  })
})
