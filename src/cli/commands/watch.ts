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
      // Ctrl-C is how `watch` ends: exit 0 quietly, and the socket closing after it is no news.
      const offInterrupt = io.onInterrupt(() => {
        end()
        resolve(ExitCode.Ok)
      })
      const closed = connection.onDidClose(() => {
        end()
        io.stderr.write('carhost: the hub closed the connection\n')
        resolve(ExitCode.Unreachable)
      })
      function end(): void {
        offInterrupt()
        closed.dispose()
      }
    })
  } finally {
    subscription.dispose()
  }
}
