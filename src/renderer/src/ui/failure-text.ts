import { ErrorCode } from '../../../protocol/errors.js'
import type { ChatFailure } from '../model/chat-store.js'

export interface FailureText {
  title: string
  detail?: string
}

/** Words for a failed turn: the hub's own codes get their own sentence, anything else shows what the agent or hub said. */
export function describeFailure(failure: ChatFailure): FailureText {
  switch (failure.reason) {
    case 'agent_exited':
      return { title: 'The agent crashed.', detail: 'Its process exited before the reply was finished.' }
    case 'session_expired':
      return { title: 'The session expired.', detail: 'The agent stayed silent for too long, so the hub ended the turn.' }
    case 'hub_shutdown':
      return { title: 'The hub shut down.', detail: 'The reply was cut off when the hub stopped.' }
    case 'connection_lost':
      return { title: 'Lost the connection to the hub.', detail: failure.message }
    case 'agent_error':
      return {
        title: 'The agent reported an error.',
        detail: failure.code === undefined ? failure.message : `${failure.message} (${failure.code})`,
      }
    case 'request_failed':
      return { title: requestTitle(failure.code), detail: failure.message }
  }
}

function requestTitle(code: string | number | undefined): string {
  switch (code) {
    case ErrorCode.UnknownAgent:
      return 'This agent does not exist (any more).'
    case ErrorCode.AgentUnavailable:
      return 'The agent is unavailable or refused the message.'
    case ErrorCode.AckTimeout:
      return 'The agent did not answer in time.'
    case ErrorCode.SessionInFlight:
      return 'This turn is already running.'
    case ErrorCode.InvalidParams:
      return 'The hub refused the message.'
    case ErrorCode.NotAuthenticated:
      return 'Not connected to the hub.'
    default:
      return 'The message could not be sent.'
  }
}
