import { randomUUID } from 'node:crypto'
import { RpcError } from '../../protocol/errors.js'
import type { HostChatEvent } from '../../protocol/chat-events.js'
import type { HubConnection } from '../hub-connection.js'
import type { CliIO } from '../io.js'
import { ExitCode } from '../exit-codes.js'
import { LineReader, dimmer, formatParams, printable } from '../terminal.js'

export interface ChatOptions {
  agentId: string
  prompt: string
  /** How tool approvals are answered: asked on stdin, or always yes / no. */
  approvals: 'ask' | 'yes' | 'no'
  /** The prompt came from stdin, so no approval can be asked there. */
  promptFromStdin: boolean
  /** A recorded turn of this conversation (§11); none: an ephemeral chat. */
  conversationId: string | undefined
  model: string | undefined
}

/** How long Ctrl-C waits for the hub to confirm the cancel before exiting anyway. */
const CANCEL_WAIT_MS = 3_000

/**
 * `carhost chat`: streams the answer's tokens to stdout as they arrive; tool calls,
 * results and statuses go to stderr (dimmed on a terminal); approvals are asked
 * on stdin. Resolves with the exit code.
 */
export function chatCommand(connection: HubConnection, options: ChatOptions, io: CliIO): Promise<number> {
  const sessionId = `cli-${randomUUID()}`
  const dim = dimmer(io.stderr)
  let lineOpen = false
  let printedTokens = false
  let finished = false
  let cancelling = false
  let approvalChain: Promise<void> = Promise.resolve()

  return new Promise<number>((resolve) => {
    const reader = new LineReader(io.stdin, io.stderr, () => interrupt())
    const offInterrupt = io.onInterrupt(() => interrupt())
    const subscriptions = [
      connection.onChatEvent((event) => {
        if (event.session_id === sessionId) onEvent(event)
      }),
      connection.onDidClose(() => {
        note('carhost: the hub closed the connection')
        finish(ExitCode.Unreachable)
      }),
    ]

    function finish(code: number): void {
      if (finished) return
      finished = true
      if (lineOpen) io.stdout.write('\n')
      lineOpen = false
      offInterrupt()
      for (const subscription of subscriptions) subscription.dispose()
      reader.dispose()
      resolve(code)
    }

    /** One line on stderr, starting on a fresh line when the answer is mid-line on the same terminal. */
    function note(text: string): void {
      breakLineOnTerminal()
      io.stderr.write(text + '\n')
    }

    /** Ends the answer's open line when stdout and stderr share a terminal; piped answers stay as the agent sent them. */
    function breakLineOnTerminal(): void {
      if (lineOpen && io.stdout.isTTY && io.stderr.isTTY) {
        io.stdout.write('\n')
        lineOpen = false
      }
    }

    function write(text: string): void {
      if (text === '') return
      io.stdout.write(printable(text))
      lineOpen = !text.endsWith('\n')
    }

    function onEvent(event: HostChatEvent): void {
      if (finished) return
      switch (event.kind) {
        case 'token':
          printedTokens = true
          write(event.delta)
          return
        case 'tool_call':
          note(dim(`→ ${printable(event.tool)}${formatParams(event.params)}`))
          return
        case 'tool_result':
          note(dim(`← ${event.ok ? 'ok' : 'failed'}${event.excerpt === undefined ? '' : `: ${printable(event.excerpt)}`}`))
          return
        case 'approval_pending':
          approvalChain = approvalChain.then(() => approve(event.approval_id, event.tool, event.params))
          return
        case 'approval_resolved':
          note(dim(`approval ${printable(event.approval_id)}: ${event.resolution}`))
          return
        case 'status':
          note(dim(`· ${printable(event.message)}`))
          return
        case 'done':
          if (!printedTokens && event.text !== undefined) write(event.text)
          if (event.finish_reason !== 'stop' && event.finish_reason !== 'cancelled') {
            note(dim(`(finished: ${printable(event.finish_reason)})`))
          }
          finish(cancelling || event.finish_reason === 'cancelled' ? ExitCode.Interrupted : ExitCode.Ok)
          return
        case 'error':
          note(`carhost: ${printable(event.error)}${event.code === undefined ? '' : ` (${printable(event.code)})`}`)
          finish(ExitCode.Failed)
          return
        default:
          return // kinds this client does not know are ignored (§5)
      }
    }

    async function approve(approvalId: string, tool: string, params: unknown): Promise<void> {
      if (finished) return
      const question = `allow ${printable(tool)}${formatParams(params)}? [y/N] `
      let decision: boolean
      if (options.approvals === 'ask' && options.promptFromStdin) {
        decision = false
        note(question + 'no (stdin held the prompt, so nothing can be asked there: use --yes to allow tools)')
      } else if (options.approvals === 'ask') {
        breakLineOnTerminal()
        const answer = await reader.ask(question)
        decision = answer !== null && /^\s*y(es)?\s*$/i.test(answer)
      } else {
        decision = options.approvals === 'yes'
        note(question + (decision ? 'yes (--yes)' : 'no (--no)'))
      }
      if (finished) return
      try {
        const { resolved } = await connection.client.call('agents.chat.approve', {
          session_id: sessionId,
          approval_id: approvalId,
          decision,
        })
        if (!resolved) note(dim(`approval ${printable(approvalId)} was no longer pending`))
      } catch (error) {
        note(`carhost: approval failed: ${(error as Error).message}`)
      }
    }

    function interrupt(): void {
      if (finished) return
      if (cancelling) {
        finish(ExitCode.Interrupted)
        return
      }
      cancelling = true
      note(dim('cancelling…'))
      const timer = setTimeout(() => finish(ExitCode.Interrupted), CANCEL_WAIT_MS)
      connection.client
        .call('agents.chat.cancel', { session_id: sessionId })
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer)
          finish(ExitCode.Interrupted)
        })
    }

    connection.client
      .call('agents.chat', {
        agent_id: options.agentId,
        prompt: options.prompt,
        session_id: sessionId,
        ...(options.conversationId === undefined ? {} : { conversation_id: options.conversationId }),
        ...(options.model === undefined ? {} : { model: options.model }),
      })
      .catch((error: unknown) => {
        if (finished) return
        const detail = error instanceof RpcError ? `${error.message} (${error.code})` : String(error)
        note(`carhost: chat refused: ${printable(detail)}`)
        finish(ExitCode.Failed)
      })
  })
}
