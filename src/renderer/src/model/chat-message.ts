import type { Usage } from '../../../protocol/conversations.js'

/**
 * A message as one window shows it: built from the chat events it streams
 * (ChatStore) or from the hub's stored copy (stored-messages.ts).
 */

/** §11 `Message.state`: `interrupted` is a reply the hub stopped recording when it died. */
export type MessageState = 'streaming' | 'done' | 'error' | 'cancelled' | 'interrupted'

export interface TextPart {
  readonly type: 'text'
  readonly id: number
  readonly text: string
}

export interface ToolResult {
  readonly ok: boolean
  readonly excerpt?: string
}

export interface ToolPart {
  readonly type: 'tool'
  readonly id: number
  readonly callId: string
  readonly tool: string
  readonly params: unknown
  readonly result?: ToolResult
}

/**
 * `submitting`: the user decided and `agents.chat.approve` is on its way; `expired`: nothing to decide any more;
 * `elsewhere`: still open, in a turn another window owns (only it may decide).
 */
export type ApprovalStatus = 'pending' | 'submitting' | 'approved' | 'denied' | 'expired' | 'elsewhere'

export interface ApprovalPart {
  readonly type: 'approval'
  readonly id: number
  readonly approvalId: string
  readonly tool: string
  readonly params: unknown
  readonly status: ApprovalStatus
  /** Why the last decision could not be sent; the user may try again. */
  readonly error?: string
}

export type AssistantPart = TextPart | ToolPart | ApprovalPart

/** Why a turn failed: the hub's own error codes (§7 rule 5), the agent's, or ours. */
export type FailureReason =
  | 'agent_exited'
  | 'session_expired'
  | 'hub_shutdown'
  | 'agent_error'
  | 'request_failed'
  | 'connection_lost'

export interface ChatFailure {
  readonly reason: FailureReason
  /** The event's `code` or the JSON-RPC error code. */
  readonly code?: string | number
  readonly message: string
}

export interface UserMessage {
  readonly role: 'user'
  /** The React key (see stored-messages.ts `messageKey`). */
  readonly id: string
  /** The hub's `message_id`, once known (a message this window just sent learns it when the turn is fetched back). */
  readonly messageId?: string
  readonly text: string
}

export interface AssistantMessage {
  readonly role: 'assistant'
  readonly id: string
  readonly messageId?: string
  readonly sessionId: string
  readonly agentId: string
  readonly state: MessageState
  readonly parts: readonly AssistantPart[]
  /** The latest `status` event, shown while streaming. */
  readonly status?: string
  /** Stop was pressed; the terminal event has not come yet. */
  readonly cancelling: boolean
  readonly finishReason?: string
  readonly failure?: ChatFailure
  /** The model the turn asked for (§3 `model`), or the one the hub recorded (§11 `Message.model`). */
  readonly model?: string
  /** `done`'s usage (§5), summed over the turn's requests (§12). */
  readonly usage?: Usage
}

export type ChatMessage = UserMessage | AssistantMessage
