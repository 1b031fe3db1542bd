import { afterEach, describe, expect, it } from 'vitest'
import { KINDS, ProviderRig, SECRET_KEY } from './support/provider-rig.js'

/**
 * The provider agent (PROTOCOL.md §12) as a real process against a local model
 * server of each wire format: models, streaming, the request it sends, history,
 * attachments and cancel.
 */
const rig = new ProviderRig()
afterEach(() => rig.dispose())

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

describe.each(KINDS)('provider agent, $kind format', (kind) => {
  it('announces the server models, streams the answer as tokens and ends with done {finish_reason, text, usage}', async () => {
    const server = await rig.server(kind)
    server.models({ kind: 'list', models: [{ id: 'alpha', name: 'Alpha' }, { id: 'beta' }] })
    server.reply({ kind: 'stream', text: ['Hel', 'lo ', 'wor', 'ld'], usage: { input: 17, output: 4 } })
    const agent = rig.agent(kind, kind.baseUrl(server), { default_model: 'beta', system_prompt: 'Be brief.', temperature: 0.3, max_tokens: 256 })

    const models = await agent.models()
    expect(models.models.map((m) => m.id)).toEqual(['alpha', 'beta'])
    expect(models.default_model).toBe('beta')
    if (kind.kind === 'anthropic') expect(models.models[0]!.name).toBe('Alpha')

    const { sessionId, ack } = await agent.chat('Say hello')
    expect(ack).toEqual({ accepted: true, session_id: sessionId })
    const done = await agent.terminal(sessionId)
    expect(done).toEqual({
      session_id: sessionId,
      kind: 'done',
      finish_reason: kind.stopReason,
      text: 'Hello world',
      usage: { input_tokens: 17, output_tokens: 4 },
    })
    expect(agent.kindsOf(sessionId)).toEqual(['token', 'token', 'token', 'token', 'done'])
    expect(agent.textOf(sessionId)).toBe('Hello world')

    const request = server.chatRequests()[0]!
    const body = request.body as Record<string, unknown>
    expect(body).toMatchObject({ model: 'beta', stream: true, temperature: 0.3, max_tokens: 256 })
    if (kind.kind === 'openai') {
      expect(request.headers.authorization).toBe(`Bearer ${SECRET_KEY}`)
      expect(body.stream_options).toEqual({ include_usage: true })
      expect(body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ])
    } else {
      expect(request.headers['x-api-key']).toBe(SECRET_KEY)
      expect(request.headers['anthropic-version']).toBe('2023-06-01')
      expect(body.system).toBe('Be brief.')
      expect(body.messages).toEqual([{ role: 'user', content: 'Say hello' }])
    }
  })

  it('multi-turn: the second request carries the first turn\'s messages from context.history', async () => {
    const server = await rig.server(kind)
    server.reply({ kind: 'stream', text: ['Your name is Ada.'] }, { kind: 'stream', text: ['Still Ada.'] })
    const agent = rig.agent(kind, kind.baseUrl(server))

    const first = await agent.chat('My name is Ada. What is my name?', { context: { host_client_id: 'h', conversation_id: 'c1' } })
    const firstDone = await agent.terminal(first.sessionId)
    const history = [
      { role: 'user' as const, text: 'My name is Ada. What is my name?', agent_id: 'p' },
      { role: 'assistant' as const, text: firstDone.text as string, agent_id: 'p' },
    ]
    const second = await agent.chat('And now?', { context: { host_client_id: 'h', conversation_id: 'c1', history } })
    expect(await agent.terminal(second.sessionId)).toMatchObject({ kind: 'done', text: 'Still Ada.' })

    const messages = (server.chatRequests()[1]!.body as { messages: unknown[] }).messages
    expect(messages).toEqual([
      { role: 'user', content: 'My name is Ada. What is my name?' },
      { role: 'assistant', content: 'Your name is Ada.' },
      { role: 'user', content: 'And now?' },
    ])
  })

  it('sends image attachments in the format\'s own shape, to the model the chat names', async () => {
    const server = await rig.server(kind)
    const agent = rig.agent(kind, kind.baseUrl(server))
    const { sessionId } = await agent.chat('What is in these?', {
      model: 'vision-model',
      attachments: [
        { type: 'image_base64', data: PNG_1PX, media_type: 'image/png' },
        { type: 'image_url', url: 'https://images.example/cat.jpg', detail: 'low' },
      ],
    })
    expect(await agent.terminal(sessionId)).toMatchObject({ kind: 'done' })
    const body = server.chatRequests()[0]!.body as { model: string; messages: unknown[] }
    expect(body.model).toBe('vision-model')
    if (kind.kind === 'openai') {
      expect(body.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1PX}` } },
            { type: 'image_url', image_url: { url: 'https://images.example/cat.jpg', detail: 'low' } },
          ],
        },
      ])
    } else {
      expect(body.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1PX } },
            { type: 'image', source: { type: 'url', url: 'https://images.example/cat.jpg' } },
            { type: 'text', text: 'What is in these?' },
          ],
        },
      ])
    }
  })

  it('without settings: the first announced model, no temperature, max_tokens only where the API requires it', async () => {
    const server = await rig.server(kind)
    server.reply({ kind: 'stream', text: ['ok'], usage: null })
    const agent = rig.agent(kind, kind.baseUrl(server), { default_model: null })
    expect((await agent.models()).default_model).toBeUndefined()
    const { sessionId } = await agent.chat('hi')
    const done = await agent.terminal(sessionId)
    expect(done).toMatchObject({ kind: 'done', text: 'ok' })
    const body = server.chatRequests()[0]!.body as Record<string, unknown>
    expect(body.model).toBe('mock-model-1')
    expect(body).not.toHaveProperty('temperature')
    expect(body).not.toHaveProperty('system')
    if (kind.kind === 'openai') {
      expect(body).not.toHaveProperty('max_tokens')
      // §12: usage is left out when the server sent none.
      expect(done).not.toHaveProperty('usage')
    } else {
      expect(body.max_tokens).toBe(4096)
    }
  })

  it('cancel closes the HTTP connection: the server sees it closed, and the turn sends nothing more', async () => {
    const server = await rig.server(kind)
    server.reply({ kind: 'stall', text: ['Once upon', ' a time'] })
    const agent = rig.agent(kind, kind.baseUrl(server))
    const { sessionId } = await agent.chat('Tell me a long story')
    await agent.until(() => (agent.textOf(sessionId) === 'Once upon a time' ? true : undefined), 'the streamed start')
    const request = server.chatRequests()[0]!
    expect(request.isClosed()).toBe(false)

    agent.cancel(sessionId)
    // The stalled reply never ends by itself: only the agent can close this connection.
    // Generous bound for a loaded machine; §12 asks for 1 s.
    await expect(Promise.race([request.closed.then(() => 'closed'), delay(5_000, 'still open')])).resolves.toBe('closed')

    // A later turn runs normally, and the cancelled one never got a terminal event.
    const next = await agent.chat('again')
    await agent.terminal(next.sessionId)
    expect(agent.kindsOf(sessionId)).toEqual(['token', 'token'])
  })
})

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref())
}
