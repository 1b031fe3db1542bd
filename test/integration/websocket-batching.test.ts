import { afterEach, describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { FakeLauncher, agentEvent, scriptedAgent } from '../support/fake-launcher.js'
import { agentSpec } from '../support/spec.js'
import { WsTestClient, isRecord } from './support/ws-test-client.js'

/**
 * The WebSocket transport corks one tick's frames into one write and, by default,
 * lets the hub merge a tick's consecutive tokens of a session into one frame.
 */
const TOKEN = 'batching-token'
const COUNT = 200

async function setUp(mergeWithinTick?: boolean) {
  const launcher = new FakeLauncher({ a: scriptedAgent() })
  const hub = new Hub({ agents: [agentSpec('a')], launcher })
  await hub.start()
  const server = await HubServer.listen({
    hub,
    token: TOKEN,
    port: 0,
    staticRoot: null,
    ...(mergeWithinTick === undefined ? {} : { mergeWithinTick }),
  })
  const client = await WsTestClient.authed(server.wsUrl, TOKEN)
  const reply = await client.call('agents.chat', { agent_id: 'a', prompt: 'go', session_id: 's' })
  expect(reply.result).toEqual({ accepted: true, session_id: 's' })
  const agent = launcher.latest('a')
  // One tick's worth of tokens, then the end.
  let expected = ''
  for (let i = 0; i < COUNT; i++) {
    expected += `t${i} `
    agent.send(agentEvent('s', { kind: 'token', delta: `t${i} ` }))
  }
  agent.send(agentEvent('s', { kind: 'done', finish_reason: 'stop' }))
  await client.waitFor((frame) => isRecord(frame) && isRecord(frame.params) && frame.params.kind === 'done')
  const tokens = client.frames.filter((frame) => isRecord(frame) && isRecord(frame.params) && frame.params.kind === 'token') as Array<{
    params: { delta: string }
  }>
  cleanups.push(async () => {
    await client.close()
    await server.close()
    await hub.shutdown()
  })
  return { hub, tokens, text: tokens.map((t) => t.params.delta).join(''), expected }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

describe('WebSocket batching', () => {
  it('merges the tokens of one tick into fewer frames, losing no text', async () => {
    const { hub, tokens, text, expected } = await setUp()
    expect(text).toBe(expected)
    expect(tokens.length).toBeLessThan(COUNT / 4)
    expect(hub.stats().events_merged).toBe(COUNT - tokens.length)
  })

  it('sends one frame per token when merging within a tick is off', async () => {
    const { hub, tokens, text, expected } = await setUp(false)
    expect(text).toBe(expected)
    expect(tokens).toHaveLength(COUNT)
    expect(hub.stats().events_merged).toBe(0)
  })
})
