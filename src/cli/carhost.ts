import { RpcError } from '../protocol/errors.js'
import { parseCommandLine, USAGE, type ParsedCommandLine } from './args.js'
import { agentsCommand } from './commands/agents.js'
import { chatCommand } from './commands/chat.js'
import { watchCommand } from './commands/watch.js'
import { CliError, ExitCode } from './exit-codes.js'
import { HubConnection } from './hub-connection.js'
import { locateHub } from './hub-location.js'
import { processIO, type CliIO } from './io.js'

/** `carhost`: the terminal host client. Resolves with the exit code. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let commandLine: ParsedCommandLine
  try {
    commandLine = parseCommandLine(argv)
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
    connection = await HubConnection.open(await locateHub(global))
    switch (command.name) {
      case 'agents':
        return await agentsCommand(connection, command, io)
      case 'watch':
        return await watchCommand(connection, io)
      case 'chat':
        return await chatCommand(connection, command, io)
      default:
        return ExitCode.Usage
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
    throw error
  } finally {
    await connection?.close()
  }
}

run(process.argv.slice(2), processIO()).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`carhost: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(ExitCode.Failed)
  },
)
