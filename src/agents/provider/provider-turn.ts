import type { Turn, TurnResult } from '../../agent-sdk/index.js'
import type { Usage } from '../../protocol/conversations.js'
import { abortable } from './abortable.js'
import type { McpToolbox, Toolset } from './mcp-toolbox.js'
import type { ModelCatalog } from './model-catalog.js'
import {
  parseToolArguments,
  turnTranscript,
  type ModelClient,
  type ModelToolCall,
  type RoundResult,
  type ToolOutcome,
} from './model-client.js'
import { ProviderError } from './provider-error.js'
import type { ProviderSettings } from './settings.js'

/** §12: after this many tool rounds the model is asked once more, without tools. */
export const MAX_TOOL_ROUNDS = 16
/** What a `tool_result` event shows of a tool's output. */
const EXCERPT_MAX_CHARS = 2000
/** What the model is given of one tool's output. */
const TOOL_CONTENT_MAX_CHARS = 100_000

export interface ProviderAgent {
  client: ModelClient
  catalog: ModelCatalog
  toolbox: McpToolbox
  settings: ProviderSettings
  timeoutMs: number
}

const NO_TOOLS: Toolset = { specs: [], resolve: () => undefined }

/**
 * One turn (§12): the system prompt, `context.history` and the prompt go to the
 * model; text streams as tokens; each tool call the model makes runs (after the
 * user's approval unless auto-approved) and the model continues with its result,
 * for at most 16 rounds.
 */
export async function runProviderTurn(turn: Turn, agent: ProviderAgent): Promise<TurnResult> {
  const model = await agent.catalog.pick(turn.model, turn.signal)
  await abortable(agent.toolbox.whenStarted(), turn.signal)
  for (const problem of agent.toolbox.takeProblems()) turn.status(problem)
  let toolset = agent.toolbox.toolset()

  const transcript = turnTranscript(turn.context.history ?? [], turn.prompt, turn.attachments)
  const usage = new UsageSum()
  const options = { signal: turn.signal, timeoutMs: agent.timeoutMs }
  const onText = (delta: string) => turn.token(delta)
  const { settings } = agent

  for (let round = 0; ; round++) {
    const forbidTools = round >= MAX_TOOL_ROUNDS
    const textBefore = turn.text.length
    let result: RoundResult
    try {
      result = await agent.client.round(
        {
          model,
          system: settings.system_prompt ?? null,
          transcript,
          tools: toolset.specs,
          forbidTools,
          temperature: settings.temperature ?? null,
          maxTokens: settings.max_tokens ?? null,
        },
        onText,
        options,
      )
    } catch (error) {
      if (round === 0 && toolset.specs.length > 0 && refusesTools(error)) {
        // Servers such as Ollama refuse tools for models that cannot use them: answer without.
        turn.status(`The model '${model}' does not take tools; answering without them.`)
        toolset = NO_TOOLS
        round--
        continue
      }
      throw error
    }
    usage.add(result.usage)
    if (forbidTools || result.toolCalls.length === 0 || toolset.specs.length === 0) {
      return { finish_reason: result.finishReason, usage: usage.total() }
    }
    transcript.push({ role: 'assistant', text: turn.text.slice(textBefore), toolCalls: result.toolCalls })
    const results: ToolOutcome[] = []
    for (const call of result.toolCalls) results.push(await runToolCall(turn, agent.toolbox, toolset, call))
    transcript.push({ role: 'tool', results })
  }
}

/** §12 order: `tool_call`, then `approval_pending` and `approval_resolved` unless auto-approved, then `tool_result`. */
async function runToolCall(turn: Turn, toolbox: McpToolbox, toolset: Toolset, call: ModelToolCall): Promise<ToolOutcome> {
  const target = toolset.resolve(call.name)
  const args = parseToolArguments(call.argumentsJson)
  const eventName = target?.eventName ?? (call.name.slice(0, 256) || 'unknown')
  const callId = turn.toolCall(eventName, args.ok ? args.value : { arguments: call.argumentsJson.slice(0, EXCERPT_MAX_CHARS) })
  const refuse = (excerpt: string, content: string): ToolOutcome => {
    turn.toolResult(callId, false, excerpt)
    return { callId: call.id, content, isError: true }
  }
  if (target === undefined) return refuse('no such tool', `There is no tool named '${call.name}'.`)
  if (!args.ok) return refuse(args.reason, `The tool was not run: ${args.reason}.`)
  if (!target.autoApprove && !(await turn.approval(eventName, args.value))) {
    return refuse('denied by the user', 'The user denied this tool call; it was not run.')
  }
  const output = await toolbox.call(target, args.value, turn.signal)
  turn.toolResult(callId, output.ok, cut(output.content, EXCERPT_MAX_CHARS))
  return { callId: call.id, content: cut(output.content, TOOL_CONTENT_MAX_CHARS), isError: !output.ok }
}

function refusesTools(error: unknown): boolean {
  return error instanceof ProviderError && error.status === 400 && /tool/i.test(error.detail ?? '')
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** §12: usage summed over every request of the turn; none when no request reported any. */
class UsageSum {
  private input = 0
  private output = 0
  private seen = false

  add(usage: Usage | null): void {
    if (usage === null) return
    this.seen = true
    this.input += usage.input_tokens
    this.output += usage.output_tokens
  }

  total(): Usage | undefined {
    return this.seen ? { input_tokens: this.input, output_tokens: this.output } : undefined
  }
}
