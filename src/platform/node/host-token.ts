import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writePrivateFile } from './private-file.js'

export const TOKEN_FILE = 'hub-token'
export const TOKEN_ENV = 'CARHOST_TOKEN'

export type TokenSource = 'flag' | 'env' | 'file'

export interface HostToken {
  token: string
  source: TokenSource
  /** Set when the token was generated and written to the data dir. */
  file?: string
}

export interface ChosenToken {
  token: string
  /** `stored`: the data folder's token file, reused (§2: links and the CLI keep working across restarts). */
  source: 'flag' | 'env' | 'stored' | 'generated'
}

/** 32 random bytes, base64url (§2), never beginning with `-`, which command lines would take for an option. */
export function generateToken(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const token = random(32).toString('base64url')
    if (!token.startsWith('-')) return token
  }
}

/** Why a token given by the user is unusable, or null. */
export function tokenProblem(token: string): string | null {
  if (token.length === 0) return 'is empty'
  if (token.length > 1024) return 'is longer than 1024 characters'
  if (/\s/.test(token)) return 'contains whitespace'
  return null
}

/**
 * The hub's token (§2): `--token`, else `$CARHOST_TOKEN`, else `stored` (the
 * data folder's token, see `readStoredToken`), else a fresh one, not yet written
 * anywhere (see `writeTokenFile`).
 */
export function chooseHostToken(options: { flag?: string | undefined; env?: NodeJS.ProcessEnv; stored?: string | undefined }): ChosenToken {
  if (options.flag !== undefined) return { token: options.flag, source: 'flag' }
  const fromEnv = (options.env ?? process.env)[TOKEN_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, source: 'env' }
  if (options.stored !== undefined) return { token: options.stored, source: 'stored' }
  return { token: generateToken(), source: 'generated' }
}

/**
 * `chooseHostToken` with the data folder's token unless `fresh`; a generated one
 * is written to `<dataDir>/hub-token` with mode 0600 so local clients (the CLI) can read it.
 */
export async function resolveHostToken(options: {
  flag?: string | undefined
  env?: NodeJS.ProcessEnv
  dataDir: string
  fresh?: boolean
}): Promise<HostToken> {
  const stored = options.fresh ? undefined : await readStoredToken(options.dataDir)
  const chosen = chooseHostToken({ ...options, stored })
  if (chosen.source === 'stored') return { token: chosen.token, source: 'file', file: tokenFile(options.dataDir) }
  if (chosen.source !== 'generated') return { token: chosen.token, source: chosen.source }
  return { token: chosen.token, source: 'file', file: await writeTokenFile(options.dataDir, chosen.token) }
}

/**
 * The token a previous hub left in `<dataDir>/hub-token`, to be reused (§2), or
 * undefined: no file, an empty or unusable one, or one others could read (a
 * token that may have leaked is replaced, not reused).
 */
export async function readStoredToken(dataDir: string): Promise<string | undefined> {
  const token = await readToken(dataDir)
  if (token === undefined || tokenProblem(token) !== null) return undefined
  if (process.platform !== 'win32' && ((await stat(tokenFile(dataDir))).mode & 0o077) !== 0) return undefined
  return token
}

/** Writes `<dataDir>/hub-token` with mode 0600 (the folder, if created, 0700); returns its path. */
export async function writeTokenFile(dataDir: string, token: string): Promise<string> {
  const file = tokenFile(dataDir)
  await writePrivateFile(file, token + '\n')
  return file
}

export function tokenFile(dataDir: string): string {
  return join(dataDir, TOKEN_FILE)
}

/** The token a hub using `dataDir` wrote, or undefined when there is none; an unreadable file is an error naming it. */
export async function readToken(dataDir: string): Promise<string | undefined> {
  const file = tokenFile(dataDir)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new Error(`cannot read ${file}: ${code ?? (error as Error).message}`)
  }
  const token = text.trim()
  return token === '' ? undefined : token
}
