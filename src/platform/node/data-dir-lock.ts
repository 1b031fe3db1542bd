import { randomBytes } from 'node:crypto'
import { readFileSync, unlinkSync } from 'node:fs'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Disposable } from '../../base/lifecycle.js'
import { ensurePrivateDir } from './private-file.js'

export const LOCK_FILE = 'hub.lock'

/** What a hub writes into the lock file of the data folder it holds. */
export const DataDirLockSchema = z.object({ pid: z.number().int().positive() })
export type DataDirLockRecord = z.infer<typeof DataDirLockSchema>

/** The data folder is held by another live process (PROTOCOL.md §2: one hub per data folder). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data folder ${dataDir} is in use by a running hub (pid ${pid})`)
    this.name = 'DataDirInUseError'
  }
}

export interface DataDirLock extends Disposable {
  readonly file: string
}

export interface LockOptions {
  /** The pid written into the lock; default this process's. */
  pid?: number
  /** Whether a pid names a live process; `process.kill(pid, 0)` unless a test replaces it. */
  isAlive?: (pid: number) => boolean
  /** How long a lock file without a readable pid counts as being written rather than abandoned; default 2000. */
  unreadableGraceMs?: number
}

export function lockFile(dataDir: string): string {
  return join(dataDir, LOCK_FILE)
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it is only not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the data folder for this process: `<dataDir>/hub.lock` is created with
 * `wx` (atomic: exactly one creator wins) and holds the owner's pid. A lock whose
 * pid is dead is stale and taken over; a live one fails with `DataDirInUseError`
 * without anything in the folder changed. The lock is removed on `dispose()` or
 * when the process exits.
 */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataDirLock> {
  const pid = options.pid ?? process.pid
  const isAlive = options.isAlive ?? isProcessAlive
  const file = lockFile(dataDir)
  await ensurePrivateDir(dataDir)
  // Each round either creates the lock, or finds a live holder, or clears one stale lock;
  // a few rounds cover another hub clearing the same stale lock at the same time.
  for (let round = 0; round < 5; round++) {
    if (await create(file, pid)) return held(file, pid)
    const holder = await readHolder(file, options.unreadableGraceMs ?? 2_000)
    if (holder === 'gone') continue
    if (holder !== 'abandoned' && (holder === pid || isAlive(holder))) throw new DataDirInUseError(dataDir, holder)
    await clearStale(file, holder, isAlive, dataDir)
  }
  throw new Error(`cannot lock the data folder ${dataDir}: its lock file ${file} keeps changing`)
}

async function create(file: string, pid: number): Promise<boolean> {
  let handle
  try {
    handle = await open(file, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    await handle.writeFile(JSON.stringify({ pid } satisfies DataDirLockRecord) + '\n')
  } finally {
    await handle.close()
  }
  return true
}

/** The holder's pid; 'gone' when the file vanished meanwhile; 'abandoned' when it never got a readable pid. */
async function readHolder(file: string, unreadableGraceMs: number): Promise<number | 'gone' | 'abandoned'> {
  // Between another hub's `wx` create and its write the file is empty: give that write time to land.
  const deadline = Date.now() + unreadableGraceMs
  for (;;) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
      throw error
    }
    const parsed = parseLock(text)
    if (parsed !== null) return parsed.pid
    if (Date.now() >= deadline) return 'abandoned'
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function parseLock(text: string): DataDirLockRecord | null {
  try {
    const parsed = DataDirLockSchema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

/**
 * Moves a stale lock out of the way. It is renamed first (one rename wins), then
 * checked: when another hub replaced the stale lock with its own live one in the
 * meantime, that lock is put back and the folder is reported in use.
 */
async function clearStale(file: string, stalePid: number | 'abandoned', isAlive: (pid: number) => boolean, dataDir: string): Promise<void> {
  const aside = `${file}.${randomBytes(6).toString('hex')}.stale`
  try {
    await rename(file, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = parseLock(await readFile(aside, 'utf8').catch(() => ''))
  if (moved !== null && moved.pid !== stalePid && isAlive(moved.pid)) {
    await rename(aside, file).catch(() => undefined)
    throw new DataDirInUseError(dataDir, moved.pid)
  }
  await rm(aside, { force: true })
}

function held(file: string, pid: number): DataDirLock {
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release)
    try {
      // Only our own lock: a stale-lock takeover may have replaced it while this process hung.
      if (parseLock(readFileSync(file, 'utf8'))?.pid === pid) unlinkSync(file)
    } catch {
      // already gone
    }
  }
  process.on('exit', release)
  return { file, dispose: release }
}
