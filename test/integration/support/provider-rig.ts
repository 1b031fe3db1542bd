import { expect } from 'vitest'
import type { ProviderSettings } from '../../../src/agents/provider/settings.js'
import { anthropicFormat } from '../../fixtures/model-servers/anthropic-format.js'
import { MockModelServer, type WireFormat } from '../../fixtures/model-servers/mock-model-server.js'
import { openAiFormat } from '../../fixtures/model-servers/openai-format.js'
import { ProviderAgentProcess, type ProviderAgentOptions } from './provider-agent.js'

/** The two wire formats of §12, with what differs between them in the tests. */
export interface KindCase {
  kind: 'openai' | 'anthropic'
  format: WireFormat
  baseUrl(server: MockModelServer): string
  /** The finish reason the mock gives a plain answer. */
  stopReason: string
}

export const KINDS: KindCase[] = [
  { kind: 'openai', format: openAiFormat, baseUrl: (server) => `${server.origin}/v1`, stopReason: 'stop' },
  { kind: 'anthropic', format: anthropicFormat, baseUrl: (server) => server.origin, stopReason: 'end_turn' },
]

/** A key no event, error or log line may contain (§12). */
export const SECRET_KEY = 'sk-carhost-test-0123456789-SECRET'

/** Starts mocks and agents and stops them after the test, checking every agent kept the key to itself. */
export class ProviderRig {
  private readonly servers: MockModelServer[] = []
  private readonly agents: ProviderAgentProcess[] = []

  async server(kind: KindCase, options: { apiKey?: string | null } = {}): Promise<MockModelServer> {
    const server = await MockModelServer.start(kind.format, { apiKey: options.apiKey === undefined ? SECRET_KEY : options.apiKey })
    this.servers.push(server)
    return server
  }

  agent(kind: KindCase, baseUrl: string, settings: Partial<ProviderSettings> = {}, options: Omit<ProviderAgentOptions, 'settings'> = {}): ProviderAgentProcess {
    const agent = ProviderAgentProcess.start({
      settings: { kind: kind.kind, base_url: baseUrl, default_model: 'mock-model-1', ...settings },
      apiKey: SECRET_KEY,
      ...options,
    })
    this.agents.push(agent)
    return agent
  }

  async dispose(): Promise<void> {
    const agents = this.agents.splice(0)
    await Promise.all(agents.map((agent) => agent.stop()))
    for (const server of this.servers.splice(0)) await server.close()
    for (const agent of agents) {
      expect(agent.invalid).toEqual([])
      expect(JSON.stringify(agent.raw)).not.toContain(SECRET_KEY)
      expect(agent.stderr).not.toContain(SECRET_KEY)
    }
  }
}
