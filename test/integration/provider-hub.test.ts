import { resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { providerAgentEnv } from '../../src/agents/provider/settings.js'
import { Hub } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { HostChatEventSchema } from '../../src/protocol/chat-events.js'
import { ManifestAgentSchema } from '../../src/protocol/manifest.js'
import type { MockModelServer } from '../fixtures/model-servers/mock-model-server.js'
import { KINDS, ProviderRig, SECRET_KEY } from './support/provider-rig.js'

/**
 * The provider agent behind the real hub, as a manifest agent would run: a host
 * sees its stream and the `done` with usage, and no message to the host holds the key.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const rig = new ProviderRig()
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await rig.dispose()
})

describe('provider agent behind the hub', () => {
  it('a host chats with it: tokens, then done with finish_reason, text and usage; the key stays out of every message', async () => {
    const kind = KINDS[1]!
    const server: MockModelServer = await rig.server(kind)
    server.reply({ kind: 'stream', text: ['Hi', ' there'], usage: { input: 9, output: 2 } })
    const launcher = new ChildProcessLauncher({ execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
    const spec = ManifestAgentSchema.parse({
      id: 'claude',
      name: 'Claude',
      module: resolve(ROOT, 'src/agents/provider/provider-agent.ts'),
      env: providerAgentEnv({ kind: 'anthropic', base_url: server.origin, default_model: 'mock-model-1' }, SECRET_KEY, null),
    })
    // Until the hub waits for agent.ready (§6), the acknowledgement window covers the agent's start under tsx.
    const hub = new Hub({ agents: [spec], launcher, ackTimeoutMs: 30_000 })
    cleanups.push(() => launcher.dispose(), () => hub.shutdown())
    await hub.start()

    const host = new InProcessHost()
    hub.connectHost(host.transport)
    const received: unknown[] = []
    const done = new Promise<Record<string, unknown>>((resolveDone) =>
      host.onNotification((notification) => {
        received.push(notification)
        const params = notification.params as Record<string, unknown>
        if (notification.method === 'agents.chat.event' && params.kind === 'done') resolveDone(params)
      }),
    )
    const { session_id: sessionId } = (await host.client.call('agents.chat', { agent_id: 'claude', prompt: 'hello' })) as { session_id: string }
    expect(await done).toEqual({
      session_id: sessionId,
      agent_id: 'claude',
      kind: 'done',
      finish_reason: 'end_turn',
      text: 'Hi there',
      usage: { input_tokens: 9, output_tokens: 2 },
    })
    const events = received.filter((n) => (n as { method: string }).method === 'agents.chat.event').map((n) => (n as { params: unknown }).params)
    for (const event of events) expect(HostChatEventSchema.safeParse(event).success).toBe(true)
    // The hub may fold tokens into one (§8): the text is what counts.
    const tokens = events.filter((e) => (e as { kind: string }).kind === 'token').map((e) => (e as { delta: string }).delta)
    expect(tokens.join('')).toBe('Hi there')
    expect(events.at(-1)).toMatchObject({ kind: 'done' })
    expect(JSON.stringify(received)).not.toContain(SECRET_KEY)
  })
})
