import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HEADLESS_JS, builtOutputExists, startHub, startProcess, type TestProcess } from './support/headless-process.js'
import { WsTestClient } from './support/ws-test-client.js'

/** PROTOCOL.md §2: one hub per data folder; a second one exits and changes nothing in it. */
const processes: TestProcess[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const proc of processes.splice(0)) {
    proc.kill('SIGKILL')
    await proc.exited
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'carhost-lock-'))
  dirs.push(dir)
  return dir
}

/** Each file of the folder with its contents and modification time. */
function snapshot(dir: string): Record<string, { text: string; mtimeMs: number }> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => [name, { text: readFileSync(join(dir, name), 'utf8'), mtimeMs: statSync(join(dir, name)).mtimeMs }]),
  )
}

async function hub(dataDir: string) {
  const running = await startHub(['--port', '0', '--data-dir', dataDir, '--no-builtin-agents'])
  processes.push(running.process)
  return running
}

describe.skipIf(!builtOutputExists())('one hub per data folder', () => {
  it('a second hub on the folder exits 1 with one line naming the folder and the first hub\'s pid, touching nothing', async () => {
    const dataDir = join(tempDir(), 'CarHost')
    const first = await hub(dataDir)
    const before = snapshot(dataDir)
    expect(Object.keys(before).sort()).toEqual(
      ['conversations.db', 'conversations.db-shm', 'conversations.db-wal', 'hub-endpoint.json', 'hub-token', 'hub.lock'],
    )

    const second = startProcess(HEADLESS_JS, ['--port', '0', '--data-dir', dataDir, '--no-builtin-agents'])
    processes.push(second)
    expect((await second.exited).code).toBe(1)
    expect(second.stdout).toBe('')
    expect(second.stderr).toBe(`carhost-hub: the data folder ${dataDir} is in use by a running hub (pid ${first.process.child.pid})\n`)
    expect(snapshot(dataDir)).toEqual(before)

    // The first hub still answers with the token the CLI finds in the folder.
    const client = await WsTestClient.authed(first.url, readFileSync(join(dataDir, 'hub-token'), 'utf8').trim())
    try {
      expect(await client.call('agents.list')).toMatchObject({ result: { agents: [] } })
    } finally {
      client.socket.terminate()
    }

    first.process.kill('SIGTERM')
    expect((await first.process.exited).code).toBe(0)
    expect(existsSync(join(dataDir, 'hub.lock'))).toBe(false)
  })

  it('a lock left by a hub that died is taken over', async () => {
    const dataDir = tempDir()
    // A pid that surely ran and is now gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    writeFileSync(join(dataDir, 'hub.lock'), JSON.stringify({ pid: Number(dead.stdout) }))
    const running = await hub(dataDir)
    expect(JSON.parse(readFileSync(join(dataDir, 'hub.lock'), 'utf8'))).toEqual({ pid: running.process.child.pid })
  })
})
