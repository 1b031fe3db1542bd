import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { historyCommand } from '../../src/cli/commands/conversations.js'
import type { HubConnection } from '../../src/cli/hub-connection.js'
import type { CliIO } from '../../src/cli/io.js'
import type { Conversation } from '../../src/protocol/conversations.js'

function conversation(n: number): Conversation {
  const time = new Date(Date.UTC(2026, 0, 1) - n * 1000).toISOString()
  return { conversation_id: `c${n}`, title: `t${n}`, agent_id: 'echo', created_at: time, updated_at: time, message_count: 2, busy: false }
}

/** A hub with `total` conversations, answering `conversations.list` pages as §11 says; records each request. */
function fakeHub(total: number) {
  const all = Array.from({ length: total }, (_, i) => conversation(i))
  const requests: Array<{ limit?: number; cursor?: string }> = []
  const connection = {
    client: {
      call: async (method: string, params: { limit?: number; cursor?: string }) => {
        expect(method).toBe('conversations.list')
        requests.push(params)
        const start = params.cursor === undefined ? 0 : Number(params.cursor)
        const end = start + (params.limit ?? 50)
        return { conversations: all.slice(start, end), next_cursor: end < total ? String(end) : null }
      },
    },
  } as unknown as Pick<HubConnection, 'client'>
  return { connection, requests }
}

function captureIO() {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const io = { stdin: new PassThrough(), stdout, stderr, onInterrupt: () => () => {} } as unknown as CliIO
  return { io, out: () => out }
}

describe('carhost history', () => {
  it('follows next_cursor past one page of 500, asking only for what is still missing', async () => {
    const { connection, requests } = fakeHub(1300)
    const { io, out } = captureIO()
    expect(await historyCommand(connection, { limit: 1200, json: true }, io)).toBe(0)
    expect(requests).toEqual([{ limit: 500 }, { limit: 500, cursor: '500' }, { limit: 200, cursor: '1000' }])
    const ids = (JSON.parse(out()) as Conversation[]).map((c) => c.conversation_id)
    expect(ids).toHaveLength(1200)
    expect(ids.at(-1)).toBe('c1199')
  })

  it('stops when the hub has no more', async () => {
    const { connection, requests } = fakeHub(3)
    const { io, out } = captureIO()
    await historyCommand(connection, { limit: 20, json: false }, io)
    expect(requests).toEqual([{ limit: 20 }])
    expect(out().trimEnd().split('\n')).toHaveLength(4)
  })
})
