import type { HubConnection } from '../hub-connection.js'
import type { CliIO } from '../io.js'
import { ExitCode } from '../exit-codes.js'
import { dimmer, printable } from '../terminal.js'

/** `carhost watch`: prints every host event, one line each, until Ctrl-C or the hub goes away. */
export async function watchCommand(connection: HubConnection, io: CliIO): Promise<number> {
  const dim = dimmer(io.stderr)
  const subscription = connection.onHostEvent((event) => {
    io.stdout.write(`${event.timestamp} ${event.kind} ${printable(event.agent_id ?? '-')} ${printable(event.message)}\n`)
  })
  try {
    const { agents, event_sequence } = await connection.client.call('host.subscribe')
    io.stderr.write(dim(`watching ${agents.length} agent(s) from event ${event_sequence}; Ctrl-C to stop`) + '\n')
    return await new Promise<number>((resolve) => {
      const offInterrupt = io.onInterrupt(() => {
        offInterrupt()
        resolve(ExitCode.Ok)
      })
      connection.onDidClose(() => {
        offInterrupt()
        io.stderr.write('carhost: the hub closed the connection\n')
        resolve(ExitCode.Failed)
      })
    })
  } finally {
    subscription.dispose()
  }
}
