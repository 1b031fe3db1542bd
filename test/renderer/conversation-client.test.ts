import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConversationClient } from '../../src/renderer/src/model/conversation-client.js'
import { FakeConversationHub } from './helpers/fake-bridge.js'

afterEach(() => vi.restoreAllMocks())

describe('ConversationClient.get', () => {
  const hub = new FakeConversationHub()
  hub.seed('long', Array.from({ length: 500 }, (_, i): [string, string] => [`q${i}`, `a${i}`]))

  it('validates every message, yielding between slices instead of one long task', async () => {
    let clock = 0
    // Each message takes 1 ms of the slice budget.
    vi.spyOn(performance, 'now').mockImplementation(() => clock++)
    let yields = 0
    const client = new ConversationClient(
      async (method, params) => hub.handle(method, params),
      async () => void yields++,
    )
    const { conversation, messages } = await client.get('long')
    expect(conversation.message_count).toBe(1000)
    expect(messages.map((m) => m.text)).toEqual(hub.messages('long').map((m) => m.text))
    expect(yields).toBeGreaterThan(50)
  })

  it('refuses a record with a malformed message', async () => {
    const client = new ConversationClient(async (method, params) => {
      const record = hub.handle(method, params) as { messages: Array<Record<string, unknown>> }
      record.messages[700]!.state = 'exploded'
      return record
    })
    await expect(client.get('long')).rejects.toThrow(/state/)
  })
})
