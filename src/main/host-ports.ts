import { MessageChannelMain, type WebContents } from 'electron'
import type { Disposable } from '../base/lifecycle.js'
import type { HostTransport } from '../hub/host-transport.js'
import { silentLogger, type Logger } from '../hub/logger.js'
import {
  MessagePortHostTransport,
  type MessagePortHostTransportOptions,
} from '../platform/electron/message-port-host-transport.js'
import { IpcChannel } from '../shared/ipc-channels.js'

/** What a window needs of the hub: `Hub.connectHost`. */
export interface HostConnector {
  connectHost(transport: HostTransport): unknown
}

export interface WindowHostLinkOptions {
  logger?: Logger
  transport?: MessagePortHostTransportOptions
}

/**
 * A window's host connection to the hub, one per loaded page (PROTOCOL.md §1, §7
 * rule 6). Each time the page finishes loading, a fresh `MessageChannelMain` is
 * made: `port1` joins the hub through a `MessagePortHostTransport`, `port2` goes to
 * the page's preload. A navigation that commits, a reload, a renderer crash or the
 * window's end disconnects the current host first, so its sessions are cancelled.
 * When the hub drops the link itself (hard cap, §8), the preload asks for a new
 * one through `reconnect`.
 */
export class WindowHostLink implements Disposable {
  private transport: MessagePortHostTransport | null = null
  private disposed = false
  private readonly logger: Logger
  private connectionCount = 0

  private readonly onDidFinishLoad = (): void => this.connect()
  // Not `did-start-navigation`: it fires before `will-navigate`, which security may
  // still veto. `did-navigate` fires only once a main-frame, cross-document
  // navigation has committed (never for in-page ones).
  private readonly onDidNavigate = (): void => this.disconnect('page navigated')
  private readonly onRenderProcessGone = (): void => this.disconnect('renderer gone')
  private readonly onDestroyed = (): void => this.dispose()

  constructor(
    private readonly contents: WebContents,
    private readonly hub: HostConnector,
    private readonly options: WindowHostLinkOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger
    contents.on('did-finish-load', this.onDidFinishLoad)
    contents.on('did-navigate', this.onDidNavigate)
    contents.on('render-process-gone', this.onRenderProcessGone)
    contents.on('destroyed', this.onDestroyed)
  }

  get isConnected(): boolean {
    return this.transport !== null
  }

  /** Connections made so far (one per page load). */
  get connections(): number {
    return this.connectionCount
  }

  /** The page lost its link (the hub closed it) and asks for a new one; a live link is kept. */
  reconnect(): void {
    if (this.transport || this.disposed) return
    this.connect()
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.disconnect('window closed')
    this.contents.off('did-finish-load', this.onDidFinishLoad)
    this.contents.off('did-navigate', this.onDidNavigate)
    this.contents.off('render-process-gone', this.onRenderProcessGone)
    this.contents.off('destroyed', this.onDestroyed)
  }

  private connect(): void {
    this.disconnect('page reloaded')
    if (this.disposed || this.contents.isDestroyed()) return
    const { port1, port2 } = new MessageChannelMain()
    const transport = new MessagePortHostTransport(port1, {
      onMalformedAck: () => this.logger.debug('ignored a malformed host.ack', { window: this.contents.id }),
      ...this.options.transport,
    })
    try {
      this.hub.connectHost(transport)
    } catch (error) {
      // The hub is shutting down: the page gets no port and its requests wait for nothing.
      this.logger.info('window not connected', { window: this.contents.id, error: String(error) })
      transport.close('hub unavailable')
      port2.close()
      return
    }
    this.transport = transport
    this.connectionCount++
    transport.onDidDisconnect(() => {
      if (this.transport === transport) this.transport = null
    })
    this.contents.postMessage(IpcChannel.port, null, [port2])
  }

  private disconnect(reason: string): void {
    const transport = this.transport
    if (!transport) return
    this.transport = null
    transport.close(reason)
  }
}
