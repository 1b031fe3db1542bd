import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { Hub, type HubOptions } from '../../src/hub/hub.js'
import { InProcessHost } from '../../src/platform/common/in-process-host.js'
import {
  MessagePortHostTransport,
  type MainPortLike,
  type MessagePortHostTransportOptions,
} from '../../src/platform/electron/message-port-host-transport.js'
import { HubPortClient, type HubPort } from '../../src/preload/hub-port-client.js'
import { ChildProcessLauncher } from '../../src/platform/node/child-process-launcher.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { ManifestAgentSchema } from '../../src/protocol/manifest.js'
import type { StreamSpec } from './stream-spec.js'
import type { DriverChat, DriverChatResult, DriverCommand } from '../agents/ws-client.js'
import { Collector, type ChatEventLike, type ChatResult } from './collector.js'
import { agentExecArgv, floodAgentPath, stopChild, wsClientPath } from './env.js'
import { wallMs } from './stats.js'

export interface ChatPlan {
  host: number
  agent: number
  sessionId: string
  spec: StreamSpec
  keepText?: boolean
  /** The host stops reading right after the chat is accepted. */
  pauseAfterAck?: boolean
  /** A recorded turn (§11): the conversation must not be busy (use one per concurrent session). */
  conversationId?: string
}

export interface ChatOutcome extends ChatResult {
  sessionId: string
}

export interface PlanResult {
  outcomes: ChatOutcome[]
  latencies: Float64Array
}

/** A set of hosts of one kind, all driven alike. */
export interface HostGroup {
  readonly kind: 'in-process' | 'websocket' | 'window'
  readonly size: number
  run(plans: ChatPlan[]): Promise<PlanResult>
  pause(host: number): Promise<void>
  resume(host: number): Promise<void>
  close(): Promise<void>
}

/** A real hub whose agents are bench agent processes (ChildProcessLauncher + tsx). */
export class HubRig {
  private readonly servers: HubServer[] = []
  private readonly token = randomBytes(32).toString('base64url')

  private constructor(
    readonly hub: Hub,
    readonly launcher: ChildProcessLauncher,
    readonly agentIds: string[],
  ) {}

  static async start(agentCount: number, options: Partial<HubOptions> = {}): Promise<HubRig> {
    const launcher = new ChildProcessLauncher({ execArgv: agentExecArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const agentIds = Array.from({ length: agentCount }, (_, i) => `flood-${i}`)
    const hub = new Hub({
      agents: agentIds.map((id) => ManifestAgentSchema.parse({ id, name: id, module: floodAgentPath })),
      launcher,
      ackTimeoutMs: 30_000,
      ...options,
    })
    await hub.start()
    for (const agent of hub.supervisor.list()) if (agent.status !== 'running') throw new Error(`agent ${agent.id} is ${agent.status}`)
    return new HubRig(hub, launcher, agentIds)
  }

  inProcessHosts(count: number, options: { highWaterBytes?: number } = {}): HostGroup {
    const hosts = Array.from({ length: count }, () => {
      const host = new InProcessHost(options)
      host.recordReceived = false
      this.hub.connectHost(host.transport)
      return host
    })
    const collector = new Collector()
    for (const host of hosts) {
      host.onNotification(({ method, params }) => {
        if (method === 'agents.chat.event') collector.onEvent(params as ChatEventLike)
      })
    }
    const agentIds = this.agentIds
    return {
      kind: 'in-process',
      size: count,
      async run(plans) {
        const startMs = wallMs()
        const outcomes = await Promise.all(
          plans.map(async (plan): Promise<ChatOutcome> => {
            const done = collector.expect(plan.sessionId, { stamped: plan.spec.mode === 'paced', keepText: plan.keepText ?? false })
            await hosts[plan.host]!.client.call('agents.chat', {
              agent_id: agentIds[plan.agent]!,
              prompt: JSON.stringify(plan.spec),
              session_id: plan.sessionId,
              ...(plan.conversationId === undefined ? {} : { conversation_id: plan.conversationId }),
            })
            if (plan.pauseAfterAck) hosts[plan.host]!.pause()
            await done
            return { sessionId: plan.sessionId, ...collector.result(plan.sessionId, startMs) }
          }),
        )
        return { outcomes, latencies: collector.takeLatencies() }
      },
      async pause(host) {
        hosts[host]!.pause()
      },
      async resume(host) {
        hosts[host]!.resume()
      },
      async close() {
        for (const host of hosts) host.dispose()
      },
    }
  }

  /**
   * Windows as the desktop app connects them: the hub's `MessagePortHostTransport`
   * on one end of a Node `MessageChannel` (a stand-in for `MessageChannelMain`:
   * structured clone, one event-loop hop), the preload's `HubPortClient` with its
   * `host.ack` flow control on the other. The "page" runs in this process.
   */
  windowHosts(count: number, options: MessagePortHostTransportOptions = {}): HostGroup {
    const collector = new Collector()
    const channels: MessageChannel[] = []
    const clients = Array.from({ length: count }, () => {
      const channel = new MessageChannel()
      channels.push(channel)
      this.hub.connectHost(new MessagePortHostTransport(mainPortOf(channel.port1), options))
      const client = new HubPortClient({ openNewWindow: async () => ({}) })
      client.attachPort(channel.port2 as unknown as HubPort)
      client.onNotification(({ method, params }) => {
        if (method === 'agents.chat.event') collector.onEvent(params as ChatEventLike)
      })
      return client
    })
    const agentIds = this.agentIds
    const unsupported = async () => {
      throw new Error('window hosts cannot pause')
    }
    return {
      kind: 'window',
      size: count,
      async run(plans) {
        const startMs = wallMs()
        const outcomes = await Promise.all(
          plans.map(async (plan): Promise<ChatOutcome> => {
            const done = collector.expect(plan.sessionId, { stamped: plan.spec.mode === 'paced', keepText: plan.keepText ?? false })
            await clients[plan.host]!.request('agents.chat', {
              agent_id: agentIds[plan.agent]!,
              prompt: JSON.stringify(plan.spec),
              session_id: plan.sessionId,
              ...(plan.conversationId === undefined ? {} : { conversation_id: plan.conversationId }),
            })
            await done
            return { sessionId: plan.sessionId, ...collector.result(plan.sessionId, startMs) }
          }),
        )
        return { outcomes, latencies: collector.takeLatencies() }
      },
      pause: unsupported,
      resume: unsupported,
      async close() {
        for (const channel of channels) channel.port1.close()
      },
    }
  }

  async webSocketHosts(count: number, options: { highWaterBytes?: number; mergeWithinTick?: boolean } = {}): Promise<HostGroup> {
    const server = await HubServer.listen({
      hub: this.hub,
      token: this.token,
      port: 0,
      staticRoot: null,
      ...(options.highWaterBytes === undefined ? {} : { highWaterBytes: options.highWaterBytes }),
      ...(options.mergeWithinTick === undefined ? {} : { mergeWithinTick: options.mergeWithinTick }),
    })
    this.servers.push(server)
    const driver = new WsDriver(fork(wsClientPath, [], { execArgv: agentExecArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    await once(driver.child, 'spawn')
    const connected = (await driver.call({ cmd: 'connect', url: server.wsUrl, token: this.token, count })) as { ok: boolean; error?: string }
    if (!connected.ok) throw new Error(`WebSocket hosts failed to connect: ${connected.error}`)
    const agentIds = this.agentIds
    return {
      kind: 'websocket',
      size: count,
      async run(plans) {
        const chats: DriverChat[] = plans.map((plan) => ({
          host: plan.host,
          agent_id: agentIds[plan.agent]!,
          session_id: plan.sessionId,
          prompt: JSON.stringify(plan.spec),
          stamped: plan.spec.mode === 'paced',
          keepText: plan.keepText ?? false,
          pauseAfterAck: plan.pauseAfterAck ?? false,
          ...(plan.conversationId === undefined ? {} : { conversation_id: plan.conversationId }),
        }))
        const reply = (await driver.call({ cmd: 'chats', chats })) as {
          ok: boolean
          error?: string
          results: DriverChatResult[]
          latencies: number[]
        }
        if (!reply.ok) throw new Error(`WebSocket chats failed: ${reply.error}`)
        return {
          outcomes: reply.results.map((r) => ({ ...r, sessionId: r.session_id })),
          latencies: Float64Array.from(reply.latencies),
        }
      },
      async pause(host) {
        await driver.call({ cmd: 'pause', host })
      },
      async resume(host) {
        await driver.call({ cmd: 'resume', host })
      },
      async close() {
        await driver.call({ cmd: 'close' })
        await stopChild(driver.child)
      },
    }
  }

  async stop(): Promise<void> {
    await this.hub.shutdown()
    await Promise.all(this.servers.map((server) => server.close()))
    this.launcher.dispose()
  }
}

/** Electron's `MessagePortMain` surface (`on('message', ({data}) => …)`) over a Node port. */
function mainPortOf(port: MessagePort): MainPortLike {
  const emitter = new EventEmitter()
  port.on('message', (data: unknown) => emitter.emit('message', { data }))
  port.on('close', () => emitter.emit('close'))
  return Object.assign(emitter, {
    postMessage: (message: unknown) => port.postMessage(message),
    start: () => port.start(),
    close: () => port.close(),
  })
}

type Command = DriverCommand extends infer C ? (C extends unknown ? Omit<C, 'reqId'> : never) : never

/** Requests to the WebSocket client process; several may be outstanding. */
class WsDriver {
  private nextReqId = 1
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: { reqId?: number }) => {
      const waiter = this.pending.get(message.reqId ?? -1)
      this.pending.delete(message.reqId ?? -1)
      waiter?.resolve(message)
    })
    child.once('exit', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('the WebSocket client process exited'))
      this.pending.clear()
    })
  }

  call(command: Command): Promise<unknown> {
    const reqId = this.nextReqId++
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { resolve, reject })
      this.child.send({ ...command, reqId })
    })
  }
}
