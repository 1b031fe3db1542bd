import WebSocket from 'ws'

export interface Closed {
  code: number
  reason: string
}

/**
 * A raw WebSocket host for tests: sends exactly the text or bytes it is given and
 * records every frame the hub sends, parsed, in order.
 */
export class WsTestClient {
  readonly frames: unknown[] = []
  readonly closed: Promise<Closed>
  private waiters: Array<() => void> = []
  private nextId = 1

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        this.wake()
      })
    })
    socket.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? { binary: true } : JSON.parse(data.toString()))
      this.wake()
    })
  }

  /** Opens a socket; resolves once open, rejects with the HTTP status if the upgrade is refused. */
  static connect(url: string, options: { origin?: string; protocolVersion?: number } = {}): Promise<WsTestClient> {
    const socket = new WebSocket(url, {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(options.protocolVersion === undefined ? {} : { protocolVersion: options.protocolVersion }),
    })
    socket.on('error', () => {})
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsTestClient(socket)))
      socket.once('unexpected-response', (_req, res) => {
        reject(new UpgradeRefused(res.statusCode ?? 0))
        socket.terminate()
      })
      socket.once('error', reject)
    })
  }

  /** Connects and authenticates. */
  static async authed(url: string, token: string, options: { origin?: string } = {}): Promise<WsTestClient> {
    const client = await WsTestClient.connect(url, options)
    const reply = await client.call('session.auth', { host_token: token })
    if (!('result' in reply)) throw new Error(`auth failed: ${JSON.stringify(reply)}`)
    return client
  }

  send(text: string | Buffer, options: { binary?: boolean } = {}): void {
    this.socket.send(text, { binary: options.binary ?? false })
  }

  sendJson(value: unknown): void {
    this.send(JSON.stringify(value))
  }

  /** Sends a request with a fresh id and resolves with its response frame. */
  async call(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const id = `t${this.nextId++}`
    this.sendJson(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })
    return (await this.waitFor((frame) => isRecord(frame) && frame.id === id)) as Record<string, unknown>
  }

  /** Resolves with the first recorded frame (from index `from` on) matching `predicate`. */
  async waitFor(predicate: (frame: unknown) => boolean, from = 0): Promise<unknown> {
    for (;;) {
      const found = this.frames.slice(from).find(predicate)
      if (found !== undefined) return found
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a frame')
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  /** Resolves with the frame at `index` once it has arrived. */
  async frameAt(index: number): Promise<unknown> {
    while (this.frames.length <= index) {
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed with ${this.frames.length} frames`)
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
    return this.frames[index]
  }

  close(): Promise<Closed> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close()
    return this.closed
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter()
  }
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`)
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
