import type { HubConnection } from '../hub-connection.js'
import type { CliIO } from '../io.js'
import { ExitCode } from '../exit-codes.js'
import { formatTable, printable } from '../terminal.js'

/** `carhost agents`: one row per agent. */
export async function agentsCommand(connection: HubConnection, options: { json: boolean }, io: CliIO): Promise<number> {
  const { agents } = await connection.client.call('agents.list')
  if (options.json) {
    io.stdout.write(JSON.stringify(agents, null, 2) + '\n')
    return ExitCode.Ok
  }
  const rows = agents.map((agent) => [
    printable(agent.id),
    printable(agent.name),
    agent.status,
    agent.pid === null ? '-' : String(agent.pid),
    String(agent.restart_count),
    String(agent.sessions_active),
    printable(agent.capabilities.join(',')),
    printable(agent.description),
  ])
  io.stdout.write(formatTable(['ID', 'NAME', 'STATUS', 'PID', 'RESTARTS', 'SESSIONS', 'CAPABILITIES', 'DESCRIPTION'], rows))
  return ExitCode.Ok
}
