import { parseArgs } from 'node:util'
import { z } from 'zod'
import { isWebSocketUrl } from '../platform/node/hub-endpoint.js'
import { joinOptionValues } from '../platform/node/option-values.js'
import { CliError, ExitCode } from './exit-codes.js'

export const USAGE = `Usage: carhost [--url URL] [--token T] [--data-dir DIR] COMMAND

Commands:
  agents                    list the hub's agents (--json for JSON)
  chat AGENT PROMPT...      send PROMPT to AGENT and stream the answer to stdout
                            (--yes / --no answer every tool approval; otherwise you are asked)
  watch                     print hub events (agent status changes) until Ctrl-C

Options:
  --url URL        the hub's WebSocket URL (default $CARHOST_URL, else <data-dir>/hub-endpoint.json)
  --token T        the host token (default $CARHOST_TOKEN, else <data-dir>/hub-token)
  --data-dir DIR   the hub's data folder (default: the desktop app's folder)
  --help           show this help

Exit codes: 0 ok (also 'watch' ended with Ctrl-C), 1 the chat ended with an error, 2 usage (a bad flag or
variable), 3 cannot find, read, reach or authenticate to the hub, or lost it, 130 a chat interrupted with Ctrl-C.
`

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  yes: { type: 'boolean', short: 'y' },
  no: { type: 'boolean', short: 'n' },
  json: { type: 'boolean' },
} as const

const GlobalSchema = z.object({
  url: z.string().refine(isWebSocketUrl, '--url: must be a ws:// or wss:// URL').optional(),
  token: z.string().min(1, '--token: must not be empty').optional(),
  'data-dir': z.string().min(1, '--data-dir: must not be empty').optional(),
  help: z.boolean().default(false),
  yes: z.boolean().default(false),
  no: z.boolean().default(false),
  json: z.boolean().default(false),
})

export interface GlobalOptions {
  url: string | undefined
  token: string | undefined
  dataDir: string | undefined
}

export type Command =
  | { name: 'help' }
  | { name: 'agents'; json: boolean }
  | { name: 'chat'; agentId: string; prompt: string; approvals: 'ask' | 'yes' | 'no' }
  | { name: 'watch' }

export interface ParsedCommandLine {
  global: GlobalOptions
  command: Command
}

function usage(message: string): CliError {
  return new CliError(ExitCode.Usage, message)
}

export function parseCommandLine(argv: string[]): ParsedCommandLine {
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: joinOptionValues(argv, OPTIONS), options: OPTIONS, strict: true, allowPositionals: true })
  } catch (error) {
    throw usage((error as Error).message.split('\n', 1)[0]!)
  }
  const checked = GlobalSchema.safeParse(parsed.values)
  if (!checked.success) throw usage(checked.error.issues[0]!.message)
  const flags = checked.data
  const global: GlobalOptions = { url: flags.url, token: flags.token, dataDir: flags['data-dir'] }
  if (flags.help) return { global, command: { name: 'help' } }

  const [name, ...rest] = parsed.positionals
  const only = (allowed: Array<'yes' | 'no' | 'json'>) => {
    for (const flag of ['yes', 'no', 'json'] as const) {
      if (flags[flag] && !allowed.includes(flag)) throw usage(`--${flag} does not apply to '${name}'`)
    }
  }
  switch (name) {
    case undefined:
      throw usage('missing command (agents, chat or watch)')
    case 'agents':
      only(['json'])
      if (rest.length > 0) throw usage(`'agents' takes no arguments`)
      return { global, command: { name: 'agents', json: flags.json } }
    case 'watch':
      only([])
      if (rest.length > 0) throw usage(`'watch' takes no arguments`)
      return { global, command: { name: 'watch' } }
    case 'chat': {
      only(['yes', 'no'])
      if (flags.yes && flags.no) throw usage('--yes and --no exclude each other')
      const [agentId, ...words] = rest
      if (agentId === undefined || words.length === 0) throw usage(`usage: carhost chat AGENT "prompt"`)
      const prompt = words.join(' ')
      if (prompt.trim() === '') throw usage('the prompt is empty')
      return {
        global,
        command: { name: 'chat', agentId, prompt, approvals: flags.yes ? 'yes' : flags.no ? 'no' : 'ask' },
      }
    }
    default:
      throw usage(`unknown command '${name}' (agents, chat or watch)`)
  }
}
