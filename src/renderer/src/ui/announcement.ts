import type { AssistantMessage } from '../model/chat-message.js'
import { describeFailure } from './failure-text.js'

/** Of a long reply, the live region reads this much; the rest is in the message itself. */
export const ANNOUNCED_CHARS = 400

/** What the live region says about a reply whose state key changed from `before` (undefined: new), or nothing. */
export function announcement(message: AssistantMessage, agentName: string, before: string | undefined): string | undefined {
  if (message.state === 'streaming') {
    const pending = message.parts.findLast((p) => p.type === 'approval' && p.status === 'pending')
    const hadPending = before !== undefined && !before.endsWith(':0')
    if (pending?.type === 'approval' && !hadPending) return `${agentName} asks for approval to run ${pending.tool}.`
    return undefined
  }
  if (before !== undefined && !before.startsWith('streaming')) return undefined
  if (message.state === 'error') {
    const failure = message.failure && describeFailure(message.failure)
    return `${agentName}'s reply failed${failure ? `: ${failure.title}` : '.'}`
  }
  if (message.state === 'cancelled') return `${agentName}'s reply was stopped.`
  let text = ''
  for (const part of message.parts) if (part.type === 'text') text += part.text
  text = text.trim()
  if (!text) return `${agentName} replied.`
  return `${agentName} replied: ${text.length > ANNOUNCED_CHARS ? `${text.slice(0, ANNOUNCED_CHARS)}…` : text}`
}
