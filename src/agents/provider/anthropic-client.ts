import { z } from 'zod'
import type { Attachment } from '../../protocol/host-api.js'
import { ProviderErrorCode } from '../../protocol/providers.js'
import { requestEventStream, requestJson, type RequestOptions } from './http.js'
import { parseToolArguments, type ModelClient, type ModelInfo, type ModelToolCall, type RoundRequest, type RoundResult, type TranscriptEntry } from './model-client.js'
import { ProviderError, badResponse } from './provider-error.js'

/**
 * The Anthropic Messages wire format (§12 kind `anthropic`): `POST
 * {base_url}/v1/messages` streaming `message_start`, content blocks (`text`,
 * `tool_use` with `input_json_delta`), `message_delta`, `message_stop`, `ping`
 * and `error`; `GET {base_url}/v1/models`.
 */
const ANTHROPIC_VERSION = '2023-06-01'
/** §12: Anthropic requires max_tokens. */
const DEFAULT_MAX_TOKENS = 4096
const MODEL_PAGES_MAX = 10

const UsageSchema = z.object({
  input_tokens: z.number().int().min(0).nullish(),
  output_tokens: z.number().int().min(0).nullish(),
  cache_creation_input_tokens: z.number().int().min(0).nullish(),
  cache_read_input_tokens: z.number().int().min(0).nullish(),
})

const MessageStartSchema = z.object({ message: z.object({ usage: UsageSchema.nullish() }) })
const BlockStartSchema = z.object({
  index: z.number().int().min(0),
  content_block: z.looseObject({ type: z.string(), id: z.string().optional(), name: z.string().optional() }),
})
const BlockDeltaSchema = z.object({
  index: z.number().int().min(0),
  delta: z.looseObject({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }),
})
const MessageDeltaSchema = z.object({
  delta: z.object({ stop_reason: z.string().nullish() }),
  usage: UsageSchema.nullish(),
})
const StreamErrorSchema = z.object({ error: z.object({ type: z.string(), message: z.string() }) })
const EventTypeSchema = z.object({ type: z.string() })

const ModelPageSchema = z.object({
  data: z.array(z.object({ id: z.string().min(1), display_name: z.string().nullish() })),
  has_more: z.boolean().nullish(),
  last_id: z.string().nullish(),
})

export class AnthropicClient implements ModelClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | null,
  ) {}

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION }
    if (this.apiKey !== null) headers['x-api-key'] = this.apiKey
    return headers
  }

  private url(path: string): string {
    return `${this.baseUrl.replace(/\/+$/, '')}${path}`
  }

  async listModels(options: RequestOptions): Promise<ModelInfo[]> {
    const models: ModelInfo[] = []
    let after: string | null = null
    for (let page = 0; page < MODEL_PAGES_MAX; page++) {
      const url = this.url(`/v1/models?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ''}`)
      const parsed = ModelPageSchema.safeParse(await requestJson({ method: 'GET', url, headers: this.headers() }, options))
      if (!parsed.success) throw badResponse(url, 'the model list is not in the Anthropic format')
      for (const model of parsed.data.data) models.push(model.display_name ? { id: model.id, name: model.display_name } : { id: model.id })
      if (!parsed.data.has_more || !parsed.data.last_id) break
      after = parsed.data.last_id
    }
    return models
  }

  async round(request: RoundRequest, onText: (delta: string) => void, options: RequestOptions): Promise<RoundResult> {
    const url = this.url('/v1/messages')
    const body: Record<string, unknown> = {
      model: request.model,
      max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
      messages: anthropicMessages(request.transcript),
      stream: true,
    }
    if (request.system) body.system = request.system
    if (request.temperature !== null) body.temperature = request.temperature
    if (request.tools.length > 0) {
      body.tools = request.tools.map((tool) => ({ name: tool.name, description: tool.description ?? '', input_schema: tool.inputSchema }))
      if (request.forbidTools) body.tool_choice = { type: 'none' }
    }

    const blocks: Array<ModelToolCall | null> = []
    let stopReason: string | null = null
    let inputTokens: number | null = null
    let outputTokens: number | null = null
    let stopped = false
    const takeUsage = (usage: z.infer<typeof UsageSchema> | null | undefined) => {
      if (!usage) return
      // message_delta counts are cumulative (the latest wins); input includes what the cache served.
      if (usage.input_tokens != null) {
        inputTokens = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0)
      }
      if (usage.output_tokens != null) outputTokens = usage.output_tokens
    }

    await requestEventStream({ method: 'POST', url, model: request.model, headers: this.headers(), body }, options, (event) => {
      const json = parseData(event.data, url)
      const type = EventTypeSchema.safeParse(json)
      if (!type.success) throw badResponse(url, 'an event of the stream has no type')
      switch (type.data.type) {
        case 'message_start':
          takeUsage(parse(MessageStartSchema, json, url).message.usage)
          return
        case 'content_block_start': {
          const start = parse(BlockStartSchema, json, url)
          const block = start.content_block
          blocks[start.index] = block.type === 'tool_use' ? { id: block.id ?? `toolu_${start.index}`, name: block.name ?? '', argumentsJson: '' } : null
          if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') onText(block.text)
          return
        }
        case 'content_block_delta': {
          const { index, delta } = parse(BlockDeltaSchema, json, url)
          if (delta.type === 'text_delta' && delta.text) onText(delta.text)
          else if (delta.type === 'input_json_delta' && delta.partial_json) {
            const call = blocks[index]
            if (call) call.argumentsJson += delta.partial_json
          }
          return
        }
        case 'message_delta': {
          const delta = parse(MessageDeltaSchema, json, url)
          if (delta.delta.stop_reason) stopReason = delta.delta.stop_reason
          takeUsage(delta.usage)
          return
        }
        case 'message_stop':
          stopped = true
          return 'stop'
        case 'error': {
          // §12: an error event in the middle of a stream (e.g. overloaded_error) is server_error.
          const { error } = parse(StreamErrorSchema, json, url)
          throw new ProviderError(
            ProviderErrorCode.ServerError,
            `The model server failed in the middle of the answer (${error.type}): try again in a moment. The server said: ${error.message.slice(0, 300)}`,
          )
        }
        default:
          // `ping`, `content_block_stop`, and event types added later.
          return
      }
    })
    if (!stopped && stopReason === null) throw badResponse(url, 'the stream ended before the answer was complete')
    return {
      finishReason: stopReason ?? 'end_turn',
      toolCalls: blocks.filter((block): block is ModelToolCall => block != null),
      usage: inputTokens === null && outputTokens === null ? null : { input_tokens: inputTokens ?? 0, output_tokens: outputTokens ?? 0 },
    }
  }
}

function parseData(data: string, url: string): unknown {
  try {
    return JSON.parse(data)
  } catch {
    throw badResponse(url, 'an event of the stream is not JSON')
  }
}

function parse<T>(schema: z.ZodType<T>, json: unknown, url: string): T {
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw badResponse(url, `a '${(json as { type: string }).type}' event is not in the Anthropic format`)
  return parsed.data
}

function anthropicMessages(transcript: readonly TranscriptEntry[]): unknown[] {
  return transcript.map((entry) => {
    switch (entry.role) {
      case 'user':
        return {
          role: 'user',
          content: entry.attachments.length === 0 ? entry.text : [...entry.attachments.map(imageBlock), { type: 'text', text: entry.text }],
        }
      case 'assistant': {
        if (entry.toolCalls.length === 0) return { role: 'assistant', content: entry.text }
        const content: unknown[] = entry.text === '' ? [] : [{ type: 'text', text: entry.text }]
        for (const call of entry.toolCalls) {
          const input = parseToolArguments(call.argumentsJson)
          content.push({ type: 'tool_use', id: call.id, name: call.name, input: input.ok ? input.value : {} })
        }
        return { role: 'assistant', content }
      }
      case 'tool':
        return {
          role: 'user',
          content: entry.results.map((result) => ({ type: 'tool_result', tool_use_id: result.callId, content: result.content, is_error: result.isError })),
        }
    }
  })
}

function imageBlock(attachment: Attachment): unknown {
  if (attachment.type === 'image_base64') {
    return { type: 'image', source: { type: 'base64', media_type: attachment.media_type, data: attachment.data } }
  }
  return { type: 'image', source: { type: 'url', url: attachment.url } }
}
