import { z } from 'zod'
import type { Attachment } from '../../protocol/host-api.js'
import { ProviderErrorCode } from '../../protocol/providers.js'
import { requestEventStream, requestJson, type RequestOptions } from './http.js'
import type { ModelClient, ModelInfo, ModelToolCall, RoundRequest, RoundResult, TranscriptEntry } from './model-client.js'
import { ProviderError, badResponse, serverDetail } from './provider-error.js'

/**
 * The OpenAI chat-completions wire format (§12 kind `openai`): `POST
 * {base_url}/chat/completions` streaming `chat.completion.chunk` events up to
 * `data: [DONE]`, and `GET {base_url}/models`. Only choice 0 is read.
 */
const ToolCallDeltaSchema = z.object({
  index: z.number().int().min(0).max(127).optional(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
})

const ChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().optional(),
        delta: z
          .object({
            content: z.string().nullish(),
            tool_calls: z.array(ToolCallDeltaSchema).nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.number().int().min(0), completion_tokens: z.number().int().min(0) }).nullish(),
  /** OpenRouter and some proxies report a failure inside a 200 stream. */
  error: z.unknown().optional(),
})

const ModelListSchema = z.object({
  data: z.array(z.object({ id: z.string().min(1) })),
})

export class OpenAiClient implements ModelClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | null,
  ) {}

  private headers(): Record<string, string> {
    return this.apiKey === null ? {} : { authorization: `Bearer ${this.apiKey}` }
  }

  private url(path: string): string {
    return `${this.baseUrl.replace(/\/+$/, '')}${path}`
  }

  async listModels(options: RequestOptions): Promise<ModelInfo[]> {
    const url = this.url('/models')
    const body = await requestJson({ method: 'GET', url, headers: this.headers() }, options)
    const parsed = ModelListSchema.safeParse(body)
    if (!parsed.success) throw badResponse(url, 'the model list is not in the OpenAI format')
    return parsed.data.data.map((model) => ({ id: model.id }))
  }

  async round(request: RoundRequest, onText: (delta: string) => void, options: RequestOptions): Promise<RoundResult> {
    const url = this.url('/chat/completions')
    const body: Record<string, unknown> = {
      model: request.model,
      messages: openAiMessages(request.system, request.transcript),
      stream: true,
      stream_options: { include_usage: true },
    }
    if (request.temperature !== null) body.temperature = request.temperature
    if (request.maxTokens !== null) body.max_tokens = request.maxTokens
    if (request.tools.length > 0) {
      body.tools = request.tools.map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description ?? '', parameters: tool.inputSchema },
      }))
      if (request.forbidTools) body.tool_choice = 'none'
    }

    const calls: ModelToolCall[] = []
    let finishReason: string | null = null
    let usage: RoundResult['usage'] = null
    let done = false
    await requestEventStream({ method: 'POST', url, model: request.model, headers: this.headers(), body }, options, (event) => {
      if (event.data === '[DONE]') {
        done = true
        return 'stop'
      }
      const chunk = parseChunk(event.data, url)
      if (chunk.error !== undefined && chunk.error !== null) {
        const detail = serverDetail(JSON.stringify({ error: chunk.error }))
        throw new ProviderError(
          ProviderErrorCode.ServerError,
          `The model server reported an error in the middle of the answer: try again.${detail ? ` The server said: ${detail}` : ''}`,
        )
      }
      if (chunk.usage) usage = { input_tokens: chunk.usage.prompt_tokens, output_tokens: chunk.usage.completion_tokens }
      const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0)
      if (!choice) return
      const delta = choice.delta
      if (delta?.content) onText(delta.content)
      if (delta?.tool_calls) for (const fragment of delta.tool_calls) addFragment(calls, fragment)
      if (choice.finish_reason) finishReason = choice.finish_reason
    })
    // Some servers end without `[DONE]`; an answer is whole once it has its finish_reason.
    if (!done && finishReason === null) throw badResponse(url, 'the stream ended before the answer was complete')
    return {
      finishReason: finishReason ?? 'stop',
      // `filter` skips the holes an index that jumps leaves.
      toolCalls: calls.filter(() => true).map((call, i) => (call.id ? call : { ...call, id: `call_${i}` })),
      usage,
    }
  }
}

function parseChunk(data: string, url: string): z.infer<typeof ChunkSchema> {
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    throw badResponse(url, 'an event of the stream is not JSON')
  }
  const parsed = ChunkSchema.safeParse(json)
  if (!parsed.success) throw badResponse(url, 'an event of the stream is not a chat completion chunk')
  return parsed.data
}

/**
 * Tool calls arrive in fragments: the first of an `index` has its id and name,
 * later ones add to its arguments. A server that sends no index sends whole
 * calls, each with its id.
 */
function addFragment(calls: ModelToolCall[], fragment: z.infer<typeof ToolCallDeltaSchema>): void {
  const index = fragment.index ?? (fragment.id || calls.length === 0 ? calls.length : calls.length - 1)
  const call = (calls[index] ??= { id: '', name: '', argumentsJson: '' })
  if (fragment.id) call.id = fragment.id
  if (fragment.function?.name) call.name += fragment.function.name
  if (fragment.function?.arguments) call.argumentsJson += fragment.function.arguments
}

function openAiMessages(system: string | null, transcript: readonly TranscriptEntry[]): unknown[] {
  const messages: unknown[] = []
  if (system) messages.push({ role: 'system', content: system })
  for (const entry of transcript) {
    switch (entry.role) {
      case 'user':
        messages.push({
          role: 'user',
          content: entry.attachments.length === 0 ? entry.text : [{ type: 'text', text: entry.text }, ...entry.attachments.map(imagePart)],
        })
        break
      case 'assistant':
        messages.push(
          entry.toolCalls.length === 0
            ? { role: 'assistant', content: entry.text }
            : {
                role: 'assistant',
                content: entry.text === '' ? null : entry.text,
                tool_calls: entry.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.argumentsJson },
                })),
              },
        )
        break
      case 'tool':
        for (const result of entry.results) {
          messages.push({ role: 'tool', tool_call_id: result.callId, content: result.isError ? `Error: ${result.content}` : result.content })
        }
        break
    }
  }
  return messages
}

function imagePart(attachment: Attachment): unknown {
  if (attachment.type === 'image_base64') {
    return { type: 'image_url', image_url: { url: `data:${attachment.media_type};base64,${attachment.data}` } }
  }
  return { type: 'image_url', image_url: attachment.detail ? { url: attachment.url, detail: attachment.detail } : { url: attachment.url } }
}
