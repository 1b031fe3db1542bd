import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { anthropicFormat } from '../fixtures/model-servers/anthropic-format.js'
import { MockModelServer } from '../fixtures/model-servers/mock-model-server.js'
import { openAiFormat } from '../fixtures/model-servers/openai-format.js'

/**
 * The mock model servers checked once against the official SDKs, so the
 * provider agent's tests run against the real wire formats and the mocks
 * cannot drift from them.
 */
const servers: MockModelServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function mock(format: typeof openAiFormat): Promise<MockModelServer> {
  const server = await MockModelServer.start(format, { apiKey: 'sdk-key' })
  servers.push(server)
  return server
}

describe('mock servers against the official SDKs', () => {
  it('openai: the SDK assembles the mock stream (text, a tool call in many fragments, finish, usage, [DONE]) and reads its errors', async () => {
    const server = await mock(openAiFormat)
    const args = JSON.stringify({ a: 2, b: 40, note: 'split across many chunks' })
    server.reply(
      { kind: 'stream', text: ['Hel', 'lo', ' there'], toolCalls: [{ id: 'call_1', name: 'calc__add', arguments: args }], usage: { input: 21, output: 9 }, fragment: 3 },
      { kind: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '20' } },
    )
    const client = new OpenAI({ baseURL: `${server.origin}/v1`, apiKey: 'sdk-key', maxRetries: 0 })

    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(['mock-model-1', 'mock-model-2'])

    const stream = client.chat.completions.stream({
      model: 'mock-model-1',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'calc__add', parameters: { type: 'object' } } }],
    })
    const deltas: string[] = []
    stream.on('content.delta', ({ delta }) => deltas.push(delta))
    const completion = await stream.finalChatCompletion()
    expect(deltas.join('')).toBe('Hello there')
    const choice = completion.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBe('Hello there')
    expect(choice.message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'calc__add', arguments: args } }])
    expect(completion.usage).toEqual({ prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 })

    const failure = await client.chat.completions
      .create({ model: 'mock-model-1', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .then(() => undefined, (error: unknown) => error)
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError)
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).message).toContain('Rate limit reached')
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('20')
  })

  it('anthropic: the SDK assembles the mock stream (ping, text, tool_use from input_json_delta, stop reason, usage) and reads its errors', async () => {
    const server = await mock(anthropicFormat)
    server.reply(
      {
        kind: 'stream',
        text: ['Let me ', 'add.'],
        toolCalls: [{ id: 'toolu_1', name: 'calc__add', arguments: JSON.stringify({ a: 2, b: 40 }) }],
        usage: { input: 30, output: 12 },
        fragment: 2,
      },
      { kind: 'stream-error', text: ['Par'], errorType: 'overloaded_error', message: 'Overloaded' },
      { kind: 'error', status: 401, message: 'invalid x-api-key' },
    )
    const client = new Anthropic({ baseURL: server.origin, apiKey: 'sdk-key', maxRetries: 0 })

    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(['mock-model-1', 'mock-model-2'])

    const stream = client.messages.stream({
      model: 'mock-model-1',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'calc__add', input_schema: { type: 'object' } }],
    })
    const deltas: string[] = []
    stream.on('text', (delta) => deltas.push(delta))
    const message = await stream.finalMessage()
    expect(deltas.join('')).toBe('Let me add.')
    expect(message.stop_reason).toBe('tool_use')
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me add.' },
      { type: 'tool_use', id: 'toolu_1', name: 'calc__add', input: { a: 2, b: 40 } },
    ])
    expect(message.usage).toMatchObject({ input_tokens: 30, output_tokens: 12 })

    const midStream = await client.messages
      .stream({ model: 'mock-model-1', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .then(() => undefined, (error: unknown) => error)
    expect(midStream).toBeInstanceOf(Anthropic.APIError)
    expect(String((midStream as Error).message)).toContain('overloaded_error')

    const refused = await client.messages
      .create({ model: 'mock-model-1', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true })
      .then(() => undefined, (error: unknown) => error)
    expect(refused).toBeInstanceOf(Anthropic.AuthenticationError)
  })
})
