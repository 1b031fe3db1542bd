import { ManualClock } from './manual-clock.js'
import { Hub, type HubOptions } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import type { AgentSpec } from '../../src/protocol/manifest.js'
import { FakeLauncher, settle, type AgentBehaviour } from './fake-launcher.js'

export interface ChatEventParams {
  session_id: string
  agent_id: string
  kind: string
  [key: string]: unknown
}

/** A host plus what it has seen, for assertions. */
export class TestHost extends InProcessHost {
  readonly events: ChatEventParams[] = []
  readonly hostEvents: Array<{ kind: string; sequence: number; agent_id: string | null; payload: Record<string, unknown> }> = []

  constructor(options?: ConstructorParameters<typeof InProcessHost>[0]) {
    super(options)
    this.onNotification(({ method, params }) => {
      if (method === 'agents.chat.event') this.events.push(params as ChatEventParams)
      if (method === 'host.event') this.hostEvents.push(params as TestHost['hostEvents'][number])
    })
  }

  eventsOf(sessionId: string): ChatEventParams[] {
    return this.events.filter((e) => e.session_id === sessionId)
  }

  textOf(sessionId: string): string {
    return this.eventsOf(sessionId)
      .filter((e) => e.kind === 'token')
      .map((e) => e.delta as string)
      .join('')
  }

  terminalsOf(sessionId: string): ChatEventParams[] {
    return this.eventsOf(sessionId).filter((e) => e.kind === 'done' || e.kind === 'error')
  }
}

export async function startHub(
  specs: AgentSpec[],
  behaviours: Record<string, AgentBehaviour>,
  options: Partial<HubOptions> = {},
) {
  const clock = new ManualClock()
  const launcher = new FakeLauncher(behaviours)
  const hub = new Hub({ agents: specs, launcher, clock, ...options })
  await hub.start()
  const hosts: TestHost[] = []
  const connect = (hostOptions?: ConstructorParameters<typeof InProcessHost>[0]) => {
    const host = new TestHost(hostOptions)
    hub.connectHost(host.transport)
    hosts.push(host)
    return host
  }
  /** Moves the manual clock and lets the consequences settle. */
  const advance = async (ms: number) => {
    clock.advance(ms)
    await settle()
  }
  return { hub, clock, launcher, connect, advance, settle, hosts }
}

/** Catches a rejected call's JSON-RPC error. */
export async function rpcError(promise: Promise<unknown>): Promise<{ code: number; message: string; data?: unknown }> {
  try {
    await promise
  } catch (error) {
    return error as { code: number; message: string; data?: unknown }
  }
  throw new Error('expected the call to fail')
}
