import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { systemClock, type Clock } from '../../base/clock.js'
import type { Disposable } from '../../base/lifecycle.js'
import type { Hub } from '../../hub/hub.js'
import { silentLogger, type Logger } from '../../hub/logger.js'
import { Limits } from '../../protocol/limits.js'
import { contentSecurityPolicy } from '../../shared/content-security-policy.js'
import { serveStatic } from './static-site.js'
import { CloseCode, WebSocketHostTransport } from './websocket-host-transport.js'

export interface HubServerOptions {
  hub: Hub
  /** The host token every WebSocket client must present first (§2). */
  token: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** Folder served over HTTP GET (the built renderer); null serves nothing. */
  staticRoot?: string | null
  logger?: Logger
  /** A socket that has not authenticated by then is closed; default 10 s (§2). */
  authTimeoutMs?: number
  /** Unauthenticated sockets open at once; a new one closes the oldest past this. Default 64 (§2). */
  maxUnauthenticated?: number
  /** Largest first frame of an unauthenticated socket; default 64 KiB (§2). */
  preAuthFrameMaxBytes?: number
  /** Times the authentication deadline; default the system clock. */
  clock?: Clock
  /** Default 16 MiB (§2). */
  maxPayloadBytes?: number
  /** Per-socket write buffer at which the hub starts queueing (and merging) for that host. */
  highWaterBytes?: number
  /** Merge the consecutive tokens of one tick into one frame (see WebSocketHostTransportOptions); default true. */
  mergeWithinTick?: boolean
  /** How long `close()` lets a socket finish its closing handshake; default 2 s. */
  closeTimeoutMs?: number
}

/**
 * The headless hub's network face: one HTTP server on loopback that serves the
 * built renderer and upgrades same-origin requests to WebSocket host connections.
 */
export class HubServer implements Disposable {
  private readonly sockets = new Set<WebSocket>()
  private readonly wss: WebSocketServer
  private readonly logger: Logger
  private readonly tokenDigest: Buffer
  private readonly allowedHostnames = new Set<string>()
  /** Sockets yet to authenticate, oldest first (a Set iterates in insertion order). */
  private readonly unauthenticated = new Set<WebSocketHostTransport>()
  private closing: Promise<void> | undefined
  private listeningPort = 0

  private constructor(
    private readonly options: HubServerOptions,
    private readonly server: Server,
  ) {
    this.logger = options.logger ?? silentLogger
    this.tokenDigest = digest(options.token)
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes ?? Limits.messageMaxBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // ws ≥ 8.18 takes `closeTimeout`; @types/ws does not list it yet.
      ...({ closeTimeout: options.closeTimeoutMs ?? 2_000 } as object),
    })
  }

  /** Starts listening; rejects if the address cannot be bound. */
  static async listen(options: HubServerOptions): Promise<HubServer> {
    const server = createServer()
    const hubServer = new HubServer(options, server)
    server.on('request', (req, res) => {
      if (!hubServer.isOwnHost(req.headers.host)) {
        res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', ...hubServer.securityHeaders() })
        res.end('Misdirected Request\n')
        return
      }
      void serveStatic(options.staticRoot ?? null, req, res, hubServer.securityHeaders()).catch(() => res.destroy())
    })
    server.on('upgrade', (req, socket, head) => hubServer.onUpgrade(req, socket, head))
    server.on('clientError', (_error, socket) => socket.destroy())
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    hubServer.listeningPort = (server.address() as AddressInfo).port
    hubServer.computeAllowedHostnames()
    return hubServer
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1'
  }

  get port(): number {
    return this.listeningPort
  }

  /** `ws://HOST:PORT`: where hosts connect. */
  get wsUrl(): string {
    return `ws://${formatHost(this.host)}:${this.port}`
  }

  /** `http://HOST:PORT`: the renderer, and the only origin allowed to open a WebSocket. */
  get httpUrl(): string {
    return `http://${formatHost(this.host)}:${this.port}`
  }

  /** The renderer URL with the token in its fragment (never sent to the server). */
  get browserUrl(): string {
    return `${this.httpUrl}/#token=${encodeURIComponent(this.options.token)}`
  }

  get connectionCount(): number {
    return this.sockets.size
  }

  /** True when `origin` is this server's own: `http://HOST:PORT` with HOST the listening host, localhost or 127.0.0.1. */
  isOwnOrigin(origin: string): boolean {
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return false
    }
    if (url.protocol !== 'http:' || url.username || url.password) return false
    if (url.pathname !== '/' || url.search || url.hash) return false
    const port = url.port === '' ? 80 : Number(url.port)
    return port === this.port && this.allowedHostnames.has(url.hostname.toLowerCase())
  }

  /**
   * §2: true when a request's `Host` header names this server as it listens
   * (`127.0.0.1:PORT`, `localhost:PORT`, the listening address), so a page on a
   * DNS-rebound name gets nothing.
   */
  isOwnHost(host: string | undefined): boolean {
    if (host === undefined) return false
    let url: URL
    try {
      url = new URL(`http://${host}`)
    } catch {
      return false
    }
    // Only the canonical spelling: no user info, path, query, or numbers URL parsing would rewrite.
    if (url.host !== host.toLowerCase().replace(/:80$/, '') || url.username || url.password) return false
    const port = url.port === '' ? 80 : Number(url.port)
    return port === this.port && this.allowedHostnames.has(url.hostname)
  }

  /** Stops accepting, closes every socket (after what it was sent), resolves once all are gone. */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  dispose(): void {
    void this.close()
  }

  private async doClose(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    const socketsClosed = [...this.sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve()
          ws.once('close', () => resolve())
          if (ws.readyState === ws.OPEN) ws.close(CloseCode.GoingAway, 'hub server closing')
        }),
    )
    await Promise.all([serverClosed, ...socketsClosed])
    this.wss.close()
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    if (this.closing) {
      rejectUpgrade(socket, 503, 'Service Unavailable')
      return
    }
    if (!this.isOwnHost(req.headers.host)) {
      this.logger.warn('refused a WebSocket for a foreign Host', { host: String(req.headers.host) })
      rejectUpgrade(socket, 421, 'Misdirected Request')
      return
    }
    // Protocol version 8 clients name their origin in Sec-WebSocket-Origin; both must be ours when present.
    for (const origin of [req.headers.origin, req.headers['sec-websocket-origin']]) {
      if (origin === undefined) continue
      if (Array.isArray(origin) || !this.isOwnOrigin(origin)) {
        this.logger.warn('refused a WebSocket from a foreign origin', { origin: String(origin) })
        rejectUpgrade(socket, 403, 'Forbidden')
        return
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket))
  }

  private onConnection(ws: WebSocket, rawSocket: Duplex): void {
    if (this.closing) {
      ws.close(CloseCode.GoingAway, 'hub server closing')
      return
    }
    this.sockets.add(ws)
    const transport = new WebSocketHostTransport(ws, {
      preAuthFrameMaxBytes: this.options.preAuthFrameMaxBytes ?? PRE_AUTH_FRAME_MAX_BYTES,
      rawSocket,
      ...(this.options.mergeWithinTick === undefined ? {} : { mergeWithinTick: this.options.mergeWithinTick }),
      ...(this.options.highWaterBytes === undefined ? {} : { highWaterBytes: this.options.highWaterBytes }),
    })
    ws.once('close', (code) => {
      this.sockets.delete(ws)
      this.logger.debug('WebSocket host disconnected', { code })
    })
    let host
    try {
      host = this.options.hub.connectHost(transport, { authenticate: (token) => this.tokenMatches(token) })
    } catch (error) {
      this.logger.debug('refused a WebSocket host', { error: String(error) })
      transport.close('hub is shutting down', CloseCode.GoingAway)
      return
    }
    this.admitUnauthenticated(transport)
    const deadline = (this.options.clock ?? systemClock).setTimeout(
      () => transport.shutOut('authentication timed out'),
      this.options.authTimeoutMs ?? AUTH_TIMEOUT_MS,
    )
    const leavePreAuth = () => {
      deadline.dispose()
      this.unauthenticated.delete(transport)
    }
    host.onDidAuthenticate(() => {
      leavePreAuth()
      transport.authenticated()
    })
    transport.onDidDisconnect(leavePreAuth)
  }

  /** §2: room for one more unauthenticated socket, made by closing the oldest ones. */
  private admitUnauthenticated(transport: WebSocketHostTransport): void {
    const max = Math.max(1, this.options.maxUnauthenticated ?? MAX_UNAUTHENTICATED)
    for (const oldest of this.unauthenticated) {
      if (this.unauthenticated.size < max) break
      this.unauthenticated.delete(oldest)
      this.logger.debug('closed the oldest unauthenticated WebSocket to make room')
      oldest.shutOut('too many unauthenticated connections')
    }
    this.unauthenticated.add(transport)
  }

  /** Constant-time: both sides are hashed to 32 bytes first, so lengths never differ. */
  private tokenMatches(token: string): boolean {
    return timingSafeEqual(digest(token), this.tokenDigest)
  }

  private securityHeaders(): OutgoingHttpHeaders {
    const wsOrigins = [...this.allowedHostnames].map((host) => `ws://${formatHost(host)}:${this.port}`)
    return {
      'Content-Security-Policy': contentSecurityPolicy({ connectSources: wsOrigins }),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    }
  }

  private computeAllowedHostnames(): void {
    const add = (host: string) => this.allowedHostnames.add(formatHost(host.toLowerCase()))
    add(this.host)
    add('localhost')
    add('127.0.0.1')
    if (this.host === '::1' || isWildcard(this.host)) add('::1')
    if (isWildcard(this.host)) {
      for (const addresses of Object.values(networkInterfaces())) {
        for (const address of addresses ?? []) {
          if (this.host === '0.0.0.0' && address.family !== 'IPv4') continue
          add(address.address)
        }
      }
    }
  }
}

const AUTH_TIMEOUT_MS = 10_000
const MAX_UNAUTHENTICATED = 64
const PRE_AUTH_FRAME_MAX_BYTES = 64 * 1024

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

/** IPv6 literals go in brackets in URLs and origins. */
function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

