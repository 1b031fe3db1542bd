import { parseArgs } from 'node:util'
import { z } from 'zod'
import { joinOptionValues } from '../platform/node/option-values.js'

export const USAGE = `Usage: npm run hub -- [options]

Runs the CarHost hub without Electron: a WebSocket endpoint for host clients
(the carhost CLI, a browser tab) and the built-in agents as child processes.

Options:
  --host HOST              address to listen on (default 127.0.0.1; loopback only unless --allow-remote)
  --port N                 port to listen on (default 0: a free port)
  --token T                host token (default $CARHOST_TOKEN, else the one in <data-dir>/hub-token, else a new one written there)
  --new-token              replace the token in <data-dir>/hub-token by a new one (earlier links stop working)
  --agents FILE            load extra agents from a JSON manifest
  --no-builtin-agents      do not start the built-in agents
  --data-dir DIR           where the token, endpoint, conversations.db, providers and mcp.json live (default: the desktop app's folder)
  --no-history             keep conversations in memory only (nothing written to conversations.db)
  --ack-timeout-ms N       how long an agent has to acknowledge a chat (default 5000)
  --session-idle-ms N      end sessions whose agent sent nothing for this long (default 600000)
  --session-max-age-ms N   end sessions older than this (default 7200000)
  --allow-remote           allow a non-loopback --host (anyone who can reach it still needs the token)
  --help                   show this help
`

const Integer = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name}: must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name}: must be between ${min} and ${max}`)

const Optional = <T extends z.ZodType>(schema: T) => schema.optional()

/** The flags as strings/booleans from `parseArgs`, checked and converted. */
const HeadlessFlagsSchema = z.object({
  host: z.string().min(1, '--host: must not be empty').default('127.0.0.1'),
  port: Integer('--port', 0, 65_535).default(0),
  token: Optional(z.string()),
  'new-token': z.boolean().default(false),
  agents: Optional(z.string().min(1, '--agents: must not be empty')),
  'no-builtin-agents': z.boolean().default(false),
  'data-dir': Optional(z.string().min(1, '--data-dir: must not be empty')),
  'no-history': z.boolean().default(false),
  'ack-timeout-ms': Optional(Integer('--ack-timeout-ms', 1, 600_000)),
  'session-idle-ms': Optional(Integer('--session-idle-ms', 1, 2_147_483_647)),
  'session-max-age-ms': Optional(Integer('--session-max-age-ms', 1, 2_147_483_647)),
  'allow-remote': z.boolean().default(false),
  help: z.boolean().default(false),
})

export interface HeadlessOptions {
  host: string
  port: number
  token: string | undefined
  /** Generate a token even if the data folder has one. */
  newToken: boolean
  agentsFile: string | undefined
  builtinAgents: boolean
  dataDir: string | undefined
  /** §11: conversations in memory only. */
  history: boolean
  ackTimeoutMs: number | undefined
  sessionIdleMs: number | undefined
  sessionMaxAgeMs: number | undefined
  allowRemote: boolean
  help: boolean
}

/** A command line that cannot be run; `message` is one line. */
export class UsageError extends Error {
  override name = 'UsageError'
}

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  'new-token': { type: 'boolean' },
  agents: { type: 'string' },
  'no-builtin-agents': { type: 'boolean' },
  'data-dir': { type: 'string' },
  'no-history': { type: 'boolean' },
  'ack-timeout-ms': { type: 'string' },
  'session-idle-ms': { type: 'string' },
  'session-max-age-ms': { type: 'string' },
  'allow-remote': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

export function parseHeadlessArgs(argv: string[]): HeadlessOptions {
  let values: Record<string, unknown>
  try {
    values = parseArgs({ args: joinOptionValues(argv, OPTIONS), options: OPTIONS, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError(firstLine((error as Error).message))
  }
  const parsed = HeadlessFlagsSchema.safeParse(values)
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]!.message)
  const flags = parsed.data
  const options: HeadlessOptions = {
    host: flags.host,
    port: flags.port,
    token: flags.token,
    newToken: flags['new-token'],
    agentsFile: flags.agents,
    builtinAgents: !flags['no-builtin-agents'],
    dataDir: flags['data-dir'],
    history: !flags['no-history'],
    ackTimeoutMs: flags['ack-timeout-ms'],
    sessionIdleMs: flags['session-idle-ms'],
    sessionMaxAgeMs: flags['session-max-age-ms'],
    allowRemote: flags['allow-remote'],
    help: flags.help,
  }
  if (!options.allowRemote && !isLoopbackHost(options.host)) {
    throw new UsageError(`--host ${options.host} is not a loopback address; pass --allow-remote to listen on it`)
  }
  return options
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7))
  const parts = h.split('.')
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim()
}
