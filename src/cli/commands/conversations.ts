import { conversationMarkdown } from '../../protocol/conversation-markdown.js'
import type { Conversation, Message, Part } from '../../protocol/conversations.js'
import type { HubConnection } from '../hub-connection.js'
import type { CliIO } from '../io.js'
import { ExitCode } from '../exit-codes.js'
import { dimmer, formatParams, formatTable, printable } from '../terminal.js'

/** §11: `conversations.list` pages hold at most this many. */
const PAGE_MAX = 500

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n'
}

function titleOf(conversation: Conversation): string {
  return printable(conversation.title.replace(/\s+/g, ' ')) + (conversation.busy ? ' (busy)' : '')
}

/** `carhost history`: the `limit` most recently updated conversations, following `next_cursor` past one page. */
export async function historyCommand(connection: Pick<HubConnection, 'client'>, options: { limit: number; json: boolean }, io: CliIO): Promise<number> {
  const conversations: Conversation[] = []
  let cursor: string | undefined
  do {
    const page = await connection.client.call('conversations.list', {
      limit: Math.min(PAGE_MAX, options.limit - conversations.length),
      ...(cursor === undefined ? {} : { cursor }),
    })
    conversations.push(...page.conversations)
    cursor = page.next_cursor ?? undefined
  } while (cursor !== undefined && conversations.length < options.limit)
  const shown = conversations.slice(0, options.limit)
  if (options.json) {
    io.stdout.write(json(shown))
    return ExitCode.Ok
  }
  if (shown.length === 0) {
    io.stderr.write('no conversations yet\n')
    return ExitCode.Ok
  }
  const rows = shown.map((c) => [printable(c.conversation_id), c.updated_at, String(c.message_count), printable(c.agent_id), titleOf(c)])
  io.stdout.write(formatTable(['ID', 'UPDATED', 'MESSAGES', 'AGENT', 'TITLE'], rows))
  return ExitCode.Ok
}

/** `carhost show ID`: the conversation as a transcript (or `conversations.get`'s result with --json). */
export async function showCommand(connection: HubConnection, options: { conversationId: string; json: boolean }, io: CliIO): Promise<number> {
  const record = await connection.client.call('conversations.get', { conversation_id: options.conversationId })
  if (options.json) {
    io.stdout.write(json(record))
    return ExitCode.Ok
  }
  const dim = dimmer(io.stdout)
  const { conversation, messages } = record
  const out: string[] = [
    titleOf(conversation),
    dim(`${printable(conversation.conversation_id)} · ${printable(conversation.agent_id)} · ${conversation.message_count} messages · updated ${conversation.updated_at}`),
  ]
  for (const message of messages) out.push('', dim(`── ${messageHeading(message)} ──`), ...messageLines(message, dim))
  io.stdout.write(out.join('\n') + '\n')
  return ExitCode.Ok
}

function messageHeading(message: Message): string {
  const who = message.role === 'user' ? 'You' : printable(message.agent_id) + (message.model ? ` (${printable(message.model)})` : '')
  const state = message.state === 'done' ? '' : ` · ${message.state}`
  return `${who} · ${message.created_at}${state}`
}

function messageLines(message: Message, dim: (text: string) => string): string[] {
  const lines: string[] = []
  if (message.role === 'user') lines.push(printable(message.text))
  else for (const part of message.parts) lines.push(...partLines(part, dim))
  if (message.state === 'error') lines.push(dim(`(error: ${printable(message.error?.message ?? 'unknown')})`))
  return lines
}

function partLines(part: Part, dim: (text: string) => string): string[] {
  switch (part.type) {
    case 'text':
      return [printable(part.text)]
    case 'tool_call': {
      const lines = [dim(`→ ${printable(part.tool)}${formatParams(part.params)}`)]
      if (part.result) lines.push(dim(`← ${part.result.ok ? 'ok' : 'failed'}${part.result.excerpt === undefined ? '' : `: ${printable(part.result.excerpt)}`}`))
      return lines
    }
    case 'approval': {
      const outcome = part.resolution === 'approve' ? 'approved' : part.resolution === 'deny' ? 'denied' : 'not decided'
      return [dim(`approval for ${printable(part.tool)}: ${outcome}`)]
    }
  }
}

/** `carhost search WORDS…`: one line per matching message, its snippet indented below. */
export async function searchCommand(
  connection: HubConnection,
  options: { query: string; limit: number | undefined; json: boolean },
  io: CliIO,
): Promise<number> {
  const { results } = await connection.client.call('conversations.search', {
    query: options.query,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  })
  if (options.json) {
    io.stdout.write(json(results))
    return ExitCode.Ok
  }
  if (results.length === 0) {
    io.stderr.write('no matches\n')
    return ExitCode.Ok
  }
  const dim = dimmer(io.stdout)
  for (const result of results) {
    io.stdout.write(
      `${printable(result.conversation_id)}  ${result.created_at}  ${printable(result.title.replace(/\s+/g, ' '))}\n` +
        `  ${dim(printable(result.snippet.replace(/\s+/g, ' ')))}\n`,
    )
  }
  return ExitCode.Ok
}

/**
 * `carhost export ID`: Markdown (the exporter the window uses) or the
 * `conversations.get` result as JSON. Text is written as recorded, except that
 * control characters are replaced when stdout is a terminal.
 */
export async function exportCommand(connection: HubConnection, options: { conversationId: string; format: 'md' | 'json' }, io: CliIO): Promise<number> {
  const record = await connection.client.call('conversations.get', { conversation_id: options.conversationId })
  const text = options.format === 'json' ? json(record) : conversationMarkdown(record.conversation, record.messages)
  io.stdout.write(io.stdout.isTTY ? printable(text) : text)
  return ExitCode.Ok
}
