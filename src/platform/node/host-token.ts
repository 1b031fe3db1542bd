import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
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
  source: 'flag' | 'env' | 'generated'
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
 * The hub's token (§2): `--token`, else `$CARHOST_TOKEN`, else a fresh one, not
 * yet written anywhere (see `writeTokenFile`).
 */
export function chooseHostToken(options: { flag?: string | undefined; env?: NodeJS.ProcessEnv }): ChosenToken {
  if (options.flag !== undefined) return { token: options.flag, source: 'flag' }
  const fromEnv = (options.env ?? process.env)[TOKEN_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, source: 'env' }
  return { token: generateToken(), source: 'generated' }
}

/**
 * `chooseHostToken`, then a fresh token is written to `<dataDir>/hub-token` with
 * mode 0600 so local clients (the CLI) can read it.
 */
export async function resolveHostToken(options: {
  flag?: string | undefined
  env?: NodeJS.ProcessEnv
  dataDir: string
}): Promise<HostToken> {
  const chosen = chooseHostToken(options)
  if (chosen.source !== 'generated') return { token: chosen.token, source: chosen.source }
  return { token: chosen.token, source: 'file', file: await writeTokenFile(options.dataDir, chosen.token) }
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
