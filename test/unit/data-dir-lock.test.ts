import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DataDirInUseError, lockDataDir, lockFile } from '../../src/platform/node/data-dir-lock.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'carhost-lock-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A process table for the lock: only the pids listed are alive. */
const aliveOnly = (...pids: number[]) => (pid: number) => pids.includes(pid)

describe('lockDataDir', () => {
  it('creates hub.lock (0600) with the pid, in a folder it creates 0700, and removes it on dispose', async () => {
    const dir = join(tempDir(), 'new', 'CarHost')
    const lock = await lockDataDir(dir, { pid: 101 })
    expect(lock.file).toBe(lockFile(dir))
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual({ pid: 101 })
    if (process.platform !== 'win32') {
      expect(statSync(lock.file).mode & 0o777).toBe(0o600)
      expect(statSync(dir).mode & 0o777).toBe(0o700)
    }
    lock.dispose()
    expect(existsSync(lock.file)).toBe(false)
  })

  it('refuses a folder held by a live pid, naming the folder and that pid, and changes nothing', async () => {
    const dir = tempDir()
    const first = await lockDataDir(dir, { pid: 201, isAlive: aliveOnly(201) })
    const before = readFileSync(first.file, 'utf8')
    const error = await lockDataDir(dir, { pid: 202, isAlive: aliveOnly(201, 202) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataDirInUseError)
    expect((error as DataDirInUseError).message).toBe(`the data folder ${dir} is in use by a running hub (pid 201)`)
    expect(readFileSync(first.file, 'utf8')).toBe(before)
    expect(readdirSync(dir)).toEqual(['hub.lock'])
    first.dispose()
  })

  it('takes over a stale lock whose pid is dead', async () => {
    const dir = tempDir()
    writeFileSync(lockFile(dir), JSON.stringify({ pid: 301 }))
    const lock = await lockDataDir(dir, { pid: 302, isAlive: aliveOnly(302) })
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual({ pid: 302 })
    expect(readdirSync(dir)).toEqual(['hub.lock'])
    lock.dispose()
  })

  it('takes over a lock that never got a pid once its grace is over', async () => {
    const dir = tempDir()
    writeFileSync(lockFile(dir), '')
    const lock = await lockDataDir(dir, { pid: 401, isAlive: aliveOnly(401), unreadableGraceMs: 0 })
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual({ pid: 401 })
    lock.dispose()
  })

  it('of two takers racing for one stale lock, exactly one wins', async () => {
    const dir = tempDir()
    writeFileSync(lockFile(dir), JSON.stringify({ pid: 501 }))
    const isAlive = aliveOnly(502, 503)
    const results = await Promise.allSettled([lockDataDir(dir, { pid: 502, isAlive }), lockDataDir(dir, { pid: 503, isAlive })])
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(lost.reason).toBeInstanceOf(DataDirInUseError)
    const holder = JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid as number
    expect((lost.reason as DataDirInUseError).pid).toBe(holder)
    expect(readdirSync(dir)).toEqual(['hub.lock'])
  })

  it('dispose leaves a lock that is no longer its own', async () => {
    const dir = tempDir()
    const lock = await lockDataDir(dir, { pid: 601 })
    writeFileSync(lock.file, JSON.stringify({ pid: 602 }))
    lock.dispose()
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8'))).toEqual({ pid: 602 })
  })
})
