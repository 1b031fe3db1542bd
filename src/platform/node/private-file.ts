import { randomBytes } from 'node:crypto'
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Creates `dir` (and parents) readable only by the user; an existing folder is left as it is. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 })
  // mkdir's mode is filtered by the umask; the folder we just made must be 0700 whatever it is.
  if (created !== undefined) await chmod(dir, 0o700)
}

/**
 * Writes a file readable only by the user, atomically: a temporary file created
 * with mode 0600 is renamed over the target, so no reader ever sees it half
 * written or with looser permissions.
 */
export async function writePrivateFile(file: string, contents: string): Promise<void> {
  await ensurePrivateDir(dirname(file))
  const temp = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await writeFile(temp, contents, { mode: 0o600, flag: 'wx' })
    await chmod(temp, 0o600)
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}
