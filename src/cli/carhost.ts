import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { RpcError } from '../protocol/errors.js'
import { Limits } from '../protocol/limits.js'
import { parseCommandLine, USAGE, type Command, type ParsedCommandLine } from './args.js'
import { agentsCommand } from './commands/agents.js'
import { chatCommand } from './commands/chat.js'
import { exportCommand, historyCommand, searchCommand, showCommand } from './commands/conversations.js'
import { modelsCommand, providersAddCommand, providersCommand, providersRemoveCommand } from './commands/providers.js'
import { watchCommand } from './commands/watch.js'
import { CliError, ExitCode } from './exit-codes.js'
import { HubConnection } from './hub-connection.js'
import { locateHub } from './hub-location.js'
import { processIO, type CliIO } from './io.js'
import { readAllText } from './stdin.js'

/** `carhost`: the terminal host client. Resolves with the exit code. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let commandLine: ParsedCommandLine
  try {
    commandLine = parseCommandLine(argv, { stdinIsTerminal: io.stdin.isTTY === true })
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`carhost: ${error.message}\n${USAGE.split('\n', 1)[0]} (see --help)\n`)
      return error.exitCode
    }
    throw error
  }
  const { global, command } = commandLine
  if (command.name === 'help') {
    io.stdout.write(USAGE)
    return ExitCode.Ok
  }
  let connection: HubConnection | undefined
  try {
    // Read before connecting, so a prompt that cannot be sent is a usage error with no hub involved.
    const prompt = command.name === 'chat' ? await chatPrompt(command, io) : undefined
    connection = await HubConnection.open(await locateHub(global))
    switch (command.name) {
      case 'agents':
        return await agentsCommand(connection, command, io)
      case 'watch':
        return await watchCommand(connection, io)
      case 'chat': {
        let conversationId: string | undefined
        if (command.conversation.kind === 'continue') conversationId = command.conversation.id
        else if (command.conversation.kind === 'new') {
          conversationId = `cli-${randomUUID()}`
          io.stderr.write(`conversation: ${conversationId}\n`)
        }
        return await chatCommand(
          connection,
          { ...command, prompt: prompt!, promptFromStdin: command.prompt === null, conversationId },
          io,
        )
      }
      case 'history':
        return await historyCommand(connection, command, io)
      case 'show':
        return await showCommand(connection, command, io)
      case 'search':
        return await searchCommand(connection, command, io)
      case 'export':
        return await exportCommand(connection, command, io)
      case 'providers':
        return await providersCommand(connection, command, io)
      case 'providers-add':
        return await providersAddCommand(connection, command, io)
      case 'providers-remove':
        return await providersRemoveCommand(connection, command, io)
      case 'models':
        return await modelsCommand(connection, command, io)
      default:
        return command satisfies never
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`carhost: ${error.message}\n`)
      return error.exitCode
    }
    if (error instanceof RpcError) {
      io.stderr.write(`carhost: ${error.message} (${error.code})\n`)
      return ExitCode.Failed
    }
    if (error instanceof z.ZodError) {
      const issue = error.issues[0]
      io.stderr.write(`carhost: the hub's answer is not what the protocol says: ${issue ? `${issue.path.join('.') || 'result'}: ${issue.message}` : 'malformed'}\n`)
      return ExitCode.Failed
    }
    throw error
  } finally {
    await connection?.close()
  }
}

/**
 * The prompt of `chat`: its arguments, or all of stdin (issue 10: one argument is
 * limited to 128 KiB on Linux, a prompt to 256 KiB by §3).
 */
async function chatPrompt(command: Extract<Command, { name: 'chat' }>, io: CliIO): Promise<string> {
  if (command.prompt !== null) return command.prompt
  const prompt = await readAllText(io.stdin, Limits.promptMaxBytes, 'the prompt')
  if (prompt.trim() === '') throw new CliError(ExitCode.Usage, 'the prompt read from stdin is empty')
  return prompt
}

run(process.argv.slice(2), processIO()).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`carhost: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(ExitCode.Failed)
  },
)
