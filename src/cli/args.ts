import { parseArgs } from 'node:util'
import { z } from 'zod'
import { ConversationIdSchema } from '../protocol/conversations.js'
import { Limits } from '../protocol/limits.js'
import { ProviderSaveParamsSchema } from '../protocol/providers.js'
import { isWebSocketUrl } from '../platform/node/hub-endpoint.js'
import { joinOptionValues } from '../platform/node/option-values.js'
import { CliError, ExitCode } from './exit-codes.js'
import type { ProviderAddOptions } from './commands/providers.js'

export const USAGE = `Usage: carhost [--url URL] [--token T] [--data-dir DIR] COMMAND

Commands:
  agents                    list the hub's agents (--json for JSON)
  chat AGENT [PROMPT...]    send PROMPT to AGENT and stream the answer to stdout; the prompt is read
                            from stdin when it is '-', or when it is left out and stdin is not a terminal
                            (--yes / --no answer every tool approval; otherwise you are asked)
                            --conversation ID  a turn of conversation ID (created if new), with its history
                            --new              start a new conversation; its id is printed on stderr
                            --model M          the model to use (see 'carhost models AGENT')
  history [--limit N]       the most recently updated conversations (default 20; --json for JSON)
  show ID [--json]          a conversation's messages
  search WORDS...           messages containing every word (word prefixes match; --limit N, --json)
  export ID [--format md|json]
                            a conversation as Markdown (default) or as JSON, on stdout
  providers                 list the model providers (--json for JSON)
  providers add ID --kind openai|anthropic --base-url URL [--model M] [--system PROMPT] [--name NAME]
                [--api-key-stdin]
                            create or replace a provider; with --api-key-stdin the API key is read from
                            stdin (typed without echo on a terminal); without it a stored key is kept
  providers remove ID       delete a provider (its agent stops)
  models AGENT              the models AGENT offers, its default marked with * (--json for JSON)
  watch                     print hub events (agent status changes) until Ctrl-C
  help                      show this help

Options:
  --url URL        the hub's WebSocket URL (default $CARHOST_URL, else <data-dir>/hub-endpoint.json)
  --token T        the host token (default $CARHOST_TOKEN, else <data-dir>/hub-token)
  --data-dir DIR   the hub's data folder (default: the desktop app's folder)
  --help           show this help

Exit codes: 0 ok (also 'watch' ended with Ctrl-C), 1 the chat ended with an error or the hub refused a
request, 2 usage (a bad flag or variable), 3 cannot find, read, reach or authenticate to the hub, or lost
it, 130 a chat interrupted with Ctrl-C.
`

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  yes: { type: 'boolean', short: 'y' },
  no: { type: 'boolean', short: 'n' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  format: { type: 'string' },
  conversation: { type: 'string' },
  new: { type: 'boolean' },
  model: { type: 'string' },
  kind: { type: 'string' },
  'base-url': { type: 'string' },
  system: { type: 'string' },
  name: { type: 'string' },
  'api-key-stdin': { type: 'boolean' },
} as const

/** Flags that belong to one command or another (the global ones apply everywhere). */
type CommandFlag = Exclude<keyof typeof OPTIONS, 'url' | 'token' | 'data-dir' | 'help'>
const COMMAND_FLAGS = Object.keys(OPTIONS).filter((name) => !['url', 'token', 'data-dir', 'help'].includes(name)) as CommandFlag[]

const GlobalSchema = z.object({
  url: z.string().refine(isWebSocketUrl, '--url: must be a ws:// or wss:// URL').optional(),
  token: z.string().min(1, '--token: must not be empty').optional(),
  'data-dir': z.string().min(1, '--data-dir: must not be empty').optional(),
  help: z.boolean().default(false),
})

export interface GlobalOptions {
  url: string | undefined
  token: string | undefined
  dataDir: string | undefined
}

/** Which conversation a chat belongs to: none (ephemeral), a given one, or a new one the CLI names. */
export type ChatConversation = { kind: 'none' } | { kind: 'continue'; id: string } | { kind: 'new' }

export type Command =
  | { name: 'help' }
  | { name: 'agents'; json: boolean }
  | {
      name: 'chat'
      agentId: string
      /** null: read from stdin. */
      prompt: string | null
      approvals: 'ask' | 'yes' | 'no'
      conversation: ChatConversation
      model: string | undefined
    }
  | { name: 'watch' }
  | { name: 'history'; limit: number; json: boolean }
  | { name: 'show'; conversationId: string; json: boolean }
  | { name: 'search'; query: string; limit: number | undefined; json: boolean }
  | { name: 'export'; conversationId: string; format: 'md' | 'json' }
  | { name: 'providers'; json: boolean }
  | ({ name: 'providers-add' } & ProviderAddOptions)
  | { name: 'providers-remove'; id: string }
  | { name: 'models'; agentId: string; json: boolean }

export interface ParsedCommandLine {
  global: GlobalOptions
  command: Command
}

export interface ParseContext {
  /** Whether stdin is a terminal: when it is not, `chat AGENT` without a prompt reads it from there. */
  stdinIsTerminal: boolean
}

const COMMANDS = 'agents, chat, history, show, search, export, providers, models or watch'
export const DEFAULT_HISTORY_LIMIT = 20

function usage(message: string): CliError {
  return new CliError(ExitCode.Usage, message)
}

function firstIssue(error: z.ZodError): string {
  return error.issues[0]!.message
}

/** `--limit`: a whole number from 1 to `max`. */
function parseLimit(raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw usage(`--limit: must be a whole number from 1 to ${max}`)
  return value
}

function conversationId(raw: string | undefined, what: string, command: string): string {
  if (raw === undefined) throw usage(`usage: carhost ${command} ID`)
  const checked = ConversationIdSchema.safeParse(raw)
  if (!checked.success) throw usage(`${what}: ${firstIssue(checked.error)}`)
  return raw
}

/** Which flag a `providers.save` field comes from, so a refusal names what the user typed. */
const PROVIDER_FIELD_FLAG: Record<string, string> = {
  id: 'ID',
  name: '--name',
  kind: '--kind',
  base_url: '--base-url',
  default_model: '--model',
  system_prompt: '--system',
}

export function parseCommandLine(argv: string[], context: ParseContext): ParsedCommandLine {
  // A key on the command line is visible to every user of the machine (ps, shell history); refuse it outright,
  // without repeating its value.
  if (argv.some((arg) => arg === '--api-key' || arg.startsWith('--api-key='))) {
    throw usage('--api-key is not accepted (a key on the command line can be seen by others): use --api-key-stdin')
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: joinOptionValues(argv, OPTIONS), options: OPTIONS, strict: true, allowPositionals: true })
  } catch (error) {
    throw usage((error as Error).message.split('\n', 1)[0]!)
  }
  const checked = GlobalSchema.safeParse(parsed.values)
  if (!checked.success) throw usage(firstIssue(checked.error))
  const global: GlobalOptions = { url: checked.data.url, token: checked.data.token, dataDir: checked.data['data-dir'] }
  if (checked.data.help) return { global, command: { name: 'help' } }

  const values = parsed.values as Partial<Record<CommandFlag, string | boolean>>
  const flag = (name: CommandFlag): string | undefined => values[name] as string | undefined
  const has = (name: CommandFlag): boolean => values[name] === true
  const [name, ...rest] = parsed.positionals
  const subcommand = name === 'providers' && (rest[0] === 'add' || rest[0] === 'remove') ? `providers ${rest[0]}` : name
  const only = (allowed: CommandFlag[]) => {
    for (const candidate of COMMAND_FLAGS) {
      if (values[candidate] !== undefined && !allowed.includes(candidate)) throw usage(`--${candidate} does not apply to '${subcommand}'`)
    }
  }
  const noArguments = (args: string[]) => {
    if (args.length > 0) throw usage(`'${subcommand}' takes no arguments`)
  }

  const command = ((): Command => {
    switch (name) {
      case undefined:
        throw usage(`missing command (${COMMANDS})`)
      case 'help':
        only([])
        return { name: 'help' }
      case 'agents':
        only(['json'])
        noArguments(rest)
        return { name: 'agents', json: has('json') }
      case 'watch':
        only([])
        noArguments(rest)
        return { name: 'watch' }
      case 'chat':
        only(['yes', 'no', 'conversation', 'new', 'model'])
        return parseChat(rest, values, context)
      case 'history':
        only(['limit', 'json'])
        noArguments(rest)
        return { name: 'history', limit: parseLimit(flag('limit'), 100_000) ?? DEFAULT_HISTORY_LIMIT, json: has('json') }
      case 'show': {
        only(['json'])
        const [id, ...extra] = rest
        noArguments(extra)
        return { name: 'show', conversationId: conversationId(id, 'ID', 'show'), json: has('json') }
      }
      case 'search': {
        only(['limit', 'json'])
        const query = rest.join(' ').trim()
        if (query === '') throw usage('usage: carhost search WORDS...')
        if (query.length > 512) throw usage(`the query is ${query.length} characters, over 512`)
        return { name: 'search', query, limit: parseLimit(flag('limit'), 200), json: has('json') }
      }
      case 'export': {
        only(['format'])
        const [id, ...extra] = rest
        noArguments(extra)
        const format = flag('format') ?? 'md'
        if (format !== 'md' && format !== 'json') throw usage(`--format: must be md or json`)
        return { name: 'export', conversationId: conversationId(id, 'ID', 'export'), format }
      }
      case 'providers':
        return parseProviders(rest, values, only)
      case 'models': {
        only(['json'])
        const [agentId, ...extra] = rest
        if (agentId === undefined) throw usage('usage: carhost models AGENT')
        noArguments(extra)
        return { name: 'models', agentId, json: has('json') }
      }
      default:
        throw usage(`unknown command '${name}' (${COMMANDS})`)
    }
  })()
  return { global, command }
}

function parseChat(rest: string[], values: Partial<Record<CommandFlag, string | boolean>>, context: ParseContext): Command {
  if (values.yes === true && values.no === true) throw usage('--yes and --no exclude each other')
  const [agentId, ...words] = rest
  if (agentId === undefined) throw usage(`usage: carhost chat AGENT "prompt" (or the prompt on stdin)`)
  let prompt: string | null
  if (words.length === 1 && words[0] === '-') prompt = null
  else if (words.length === 0) {
    if (context.stdinIsTerminal) throw usage(`usage: carhost chat AGENT "prompt" (or the prompt on stdin)`)
    prompt = null
  } else {
    prompt = words.join(' ')
    if (prompt.trim() === '') throw usage('the prompt is empty')
  }

  const id = values.conversation as string | undefined
  if (id !== undefined && values.new === true) throw usage('--conversation and --new exclude each other')
  let conversation: ChatConversation = { kind: 'none' }
  if (values.new === true) conversation = { kind: 'new' }
  else if (id !== undefined) {
    const checked = ConversationIdSchema.safeParse(id)
    if (!checked.success) throw usage(`--conversation: ${firstIssue(checked.error)}`)
    conversation = { kind: 'continue', id }
  }

  const model = values.model as string | undefined
  if (model !== undefined && (model === '' || model.length > Limits.modelMaxChars)) {
    throw usage(`--model: must be 1 to ${Limits.modelMaxChars} characters`)
  }
  return {
    name: 'chat',
    agentId,
    prompt,
    approvals: values.yes === true ? 'yes' : values.no === true ? 'no' : 'ask',
    conversation,
    model,
  }
}

function parseProviders(
  rest: string[],
  values: Partial<Record<CommandFlag, string | boolean>>,
  only: (allowed: CommandFlag[]) => void,
): Command {
  const [action, id, ...extra] = rest
  if (action === undefined) {
    only(['json'])
    return { name: 'providers', json: values.json === true }
  }
  if (action === 'remove') {
    only([])
    if (id === undefined || extra.length > 0) throw usage('usage: carhost providers remove ID')
    return { name: 'providers-remove', id }
  }
  if (action !== 'add') throw usage(`unknown providers action '${action}' (add or remove)`)
  only(['kind', 'base-url', 'model', 'system', 'name', 'api-key-stdin'])
  if (id === undefined || extra.length > 0) throw usage('usage: carhost providers add ID --kind openai|anthropic --base-url URL')
  if (values.kind === undefined) throw usage('--kind is required (openai or anthropic)')
  if (values['base-url'] === undefined) throw usage('--base-url is required')
  const fields = {
    id,
    name: (values.name as string | undefined) ?? id,
    kind: values.kind,
    base_url: values['base-url'],
    default_model: values.model,
    system_prompt: values.system,
  }
  // The hub checks the same schema (§12); checking here names the flag instead of the field.
  const checked = ProviderSaveParamsSchema.safeParse(fields)
  if (!checked.success) {
    const issue = checked.error.issues[0]!
    const field = String(issue.path[0] ?? '')
    const detail = field === 'kind' ? 'must be openai or anthropic' : issue.message
    throw usage(`${PROVIDER_FIELD_FLAG[field] ?? field}: ${detail}`)
  }
  return {
    name: 'providers-add',
    id,
    providerName: checked.data.name,
    kind: checked.data.kind,
    baseUrl: checked.data.base_url,
    model: checked.data.default_model ?? undefined,
    system: checked.data.system_prompt ?? undefined,
    apiKeyFromStdin: values['api-key-stdin'] === true,
  }
}
