import type { Attachment } from '../../protocol/host-api.js'
import type { Usage } from '../../protocol/conversations.js'
import type { RequestOptions } from './http.js'

/**
 * The conversation of one turn as both wire formats see it; each format's
 * module turns it into its own request body.
 */
export type TranscriptEntry =
  | { role: 'user'; text: string; attachments: readonly Attachment[] }
  | { role: 'assistant'; text: string; toolCalls: readonly ModelToolCall[] }
  | { role: 'tool'; results: readonly ToolOutcome[] }

/** A tool call as the model made it. */
export interface ModelToolCall {
  id: string
  /** The name the model used (`SERVER__TOOL`). */
  name: string
  /** The arguments as the model sent them (OpenAI: a JSON string; Anthropic: the joined `partial_json`). */
  argumentsJson: string
}

/** What the model is told about one tool call's outcome. */
export interface ToolOutcome {
  callId: string
  content: string
  isError: boolean
}

/** A tool as offered to the model. */
export interface ToolSpec {
  name: string
  description?: string
  inputSchema: Record<string, unknown>
}

export interface RoundRequest {
  model: string
  system: string | null
  transcript: readonly TranscriptEntry[]
  tools: readonly ToolSpec[]
  /** The last round after the tool limit: tools stay described (the transcript names them) but may not be called. */
  forbidTools: boolean
  temperature: number | null
  maxTokens: number | null
}

/** One request's answer, after its stream ended. */
export interface RoundResult {
  finishReason: string
  toolCalls: ModelToolCall[]
  /** Null when the server reported none. */
  usage: Usage | null
}

export interface ModelInfo {
  id: string
  name?: string
}

/** A model server of one wire format (§12). */
export interface ModelClient {
  listModels(options: RequestOptions): Promise<ModelInfo[]>
  /** Streams one request; text deltas go to `onText` as they arrive. */
  round(request: RoundRequest, onText: (delta: string) => void, options: RequestOptions): Promise<RoundResult>
}

/** Parses a tool call's arguments: an object, or the reason it is not one. */
export function parseToolArguments(argumentsJson: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  if (argumentsJson.trim() === '') return { ok: true, value: {} }
  let value: unknown
  try {
    value = JSON.parse(argumentsJson)
  } catch {
    return { ok: false, reason: 'the arguments are not valid JSON' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'the arguments are not a JSON object' }
  return { ok: true, value: value as Record<string, unknown> }
}

/**
 * The transcript a turn starts from: `context.history` (§11), then the prompt.
 * Both formats want alternating roles starting with the user, so adjacent
 * messages of one role become one and a leading assistant message is left out.
 */
export function turnTranscript(
  history: ReadonlyArray<{ role: 'user' | 'assistant'; text: string }>,
  prompt: string,
  attachments: readonly Attachment[],
): TranscriptEntry[] {
  const entries: Array<{ role: 'user' | 'assistant'; text: string }> = []
  for (const message of [...history, { role: 'user' as const, text: prompt }]) {
    if (message.text === '') continue
    const last = entries.at(-1)
    if (last?.role === message.role) last.text = `${last.text}\n\n${message.text}`
    else if (last !== undefined || message.role === 'user') entries.push({ role: message.role, text: message.text })
  }
  return entries.map((entry, i) =>
    entry.role === 'user'
      ? { role: 'user', text: entry.text, attachments: i === entries.length - 1 ? attachments : [] }
      : { role: 'assistant', text: entry.text, toolCalls: [] },
  )
}
