/**
 * WebSocket hosts for the bench, in their own process (as a terminal client or a
 * browser tab would be): real `ws` clients on loopback. Driven by the bench over
 * the fork IPC channel; counts what each host receives with the same Collector.
 */
import WebSocket from 'ws'
import { Collector, type ChatEventLike, type ChatResult } from '../lib/collector.js'
import { wallMs } from '../lib/stats.js'

export type DriverCommand = { reqId: number } & (
  | { cmd: 'connect'; url: string; token: string; count: number }
  | { cmd: 'chats'; chats: DriverChat[] }
  | { cmd: 'pause'; host: number }
  | { cmd: 'resume'; host: number }
  | { cmd: 'close' }
)

export interface DriverChat {
  host: number
  agent_id: string
  session_id: string
  prompt: string
  stamped?: boolean
  keepText?: boolean
  /** Stop reading this host's socket as soon as the chat is accepted (a hung client). */
  pauseAfterAck?: boolean
  /** A recorded turn (§11). */
  conversation_id?: string
}

export interface DriverChatResult extends ChatResult {
  session_id: string
}

interface Host {
  ws: WebSocket
  nextId: number
  pending: Map<number, (message: { result?: unknown; error?: { code: number; message: string } }) => void>
}

const hosts: Host[] = []
const collector = new Collector()

function request(host: Host, method: string, params: unknown): Promise<unknown> {
  const id = host.nextId++
  return new Promise((resolve, reject) => {
    host.pending.set(id, (message) => (message.error ? reject(new Error(message.error.message)) : resolve(message.result)))
    host.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
  })
}

async function connect(url: string, token: string): Promise<Host> {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  const host: Host = { ws, nextId: 1, pending: new Map() }
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as {
      id?: number
      method?: string
      params?: ChatEventLike
      result?: unknown
      error?: { code: number; message: string }
    }
    if (message.method === 'agents.chat.event') collector.onEvent(message.params!)
    else if (typeof message.id === 'number') {
      const settle = host.pending.get(message.id)
      host.pending.delete(message.id)
      settle?.(message)
    }
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  await request(host, 'session.auth', { host_token: token })
  return host
}

async function runChats(chats: DriverChat[]): Promise<DriverChatResult[]> {
  const startMs = wallMs()
  const results = await Promise.all(
    chats.map(async (chat): Promise<DriverChatResult> => {
      const done = collector.expect(chat.session_id, { stamped: chat.stamped ?? false, keepText: chat.keepText ?? false })
      const host = hosts[chat.host]!
      await request(host, 'agents.chat', {
        agent_id: chat.agent_id,
        prompt: chat.prompt,
        session_id: chat.session_id,
        ...(chat.conversation_id === undefined ? {} : { conversation_id: chat.conversation_id }),
      })
      if (chat.pauseAfterAck) host.ws.pause()
      await done
      return { session_id: chat.session_id, ...collector.result(chat.session_id, startMs) }
    }),
  )
  return results
}

process.on('message', (raw: unknown) => {
  const command = raw as DriverCommand
  const reply = (value: object) => process.send!({ ...value, reqId: command.reqId })
  switch (command.cmd) {
    case 'connect':
      void Promise.all(Array.from({ length: command.count }, () => connect(command.url, command.token))).then(
        (connected) => {
          hosts.push(...connected)
          reply({ ok: true, hosts: hosts.length })
        },
        (error: unknown) => reply({ ok: false, error: String(error) }),
      )
      return
    case 'chats':
      void runChats(command.chats).then(
        (results) => {
          const latencies = collector.takeLatencies()
          reply({ ok: true, results, latencies: Array.from(latencies) })
        },
        (error: unknown) => reply({ ok: false, error: String(error) }),
      )
      return
    case 'pause':
      hosts[command.host]!.ws.pause()
      reply({ ok: true })
      return
    case 'resume':
      hosts[command.host]!.ws.resume()
      reply({ ok: true })
      return
    case 'close':
      for (const host of hosts) host.ws.close()
      reply({ ok: true })
      setTimeout(() => process.exit(0), 50).unref()
      return
  }
})
process.on('disconnect', () => process.exit(0))
