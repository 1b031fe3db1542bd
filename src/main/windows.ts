import { BrowserWindow, type WebContents } from 'electron'
import type { Disposable } from '../base/lifecycle.js'
import { silentLogger, type Logger } from '../hub/logger.js'
import { WindowHostLink, type HostConnector } from './host-ports.js'
import { windowSecurityPreferences } from './security-policy.js'

export interface WindowManagerOptions {
  hub: HostConnector
  /** Absolute path of out/preload/index.cjs. */
  preloadPath: string
  /** `carhost://app/index.html`, or the dev server's URL under electron-vite. */
  pageUrl: string
  /** Windows a page may have open at once through `app.newWindow`; default 32. */
  maxWindows?: number
  logger?: Logger
}

interface ManagedWindow {
  window: BrowserWindow
  link: WindowHostLink
}

/** Opens CarHost windows, each a host of the hub through its own `WindowHostLink`. */
export class WindowManager implements Disposable {
  private readonly windows = new Map<number, ManagedWindow>()
  private readonly logger: Logger
  private readonly maxWindows: number

  constructor(private readonly options: WindowManagerOptions) {
    this.logger = options.logger ?? silentLogger
    this.maxWindows = options.maxWindows ?? 32
  }

  get count(): number {
    return this.windows.size
  }

  get canOpen(): boolean {
    return this.windows.size < this.maxWindows
  }

  /** Whether `contents` is the page of one of these windows. */
  hasWebContents(contents: WebContents): boolean {
    for (const { window } of this.windows.values()) if (!window.isDestroyed() && window.webContents === contents) return true
    return false
  }

  /** A window's page lost its hub link and asks for a new one. */
  reconnect(contents: WebContents): void {
    for (const { window, link } of this.windows.values()) {
      if (!window.isDestroyed() && window.webContents === contents) link.reconnect()
    }
  }

  /** The link of a window's web contents, for tests and diagnostics. */
  linkOf(window: BrowserWindow): WindowHostLink | undefined {
    return this.windows.get(window.id)?.link
  }

  open(): BrowserWindow {
    const window = new BrowserWindow({
      width: 1100,
      height: 760,
      minWidth: 480,
      minHeight: 360,
      title: 'CarHost',
      show: false,
      backgroundColor: '#111318',
      webPreferences: windowSecurityPreferences(this.options.preloadPath),
    })
    const id = window.id
    const link = new WindowHostLink(window.webContents, this.options.hub, { logger: this.logger })
    this.windows.set(id, { window, link })
    window.once('ready-to-show', () => {
      if (!window.isDestroyed()) window.show()
    })
    window.on('closed', () => {
      link.dispose()
      this.windows.delete(id)
    })
    window.loadURL(this.options.pageUrl).catch((error: unknown) => {
      this.logger.error('window failed to load', { url: this.options.pageUrl, error: String(error) })
    })
    return window
  }

  /** Brings the most recent window forward, or opens one when there is none. */
  focusOrOpen(): BrowserWindow {
    const last = [...this.windows.values()].at(-1)?.window
    if (!last || last.isDestroyed()) return this.open()
    if (last.isMinimized()) last.restore()
    last.show()
    last.focus()
    return last
  }

  dispose(): void {
    for (const { window, link } of this.windows.values()) {
      link.dispose()
      if (!window.isDestroyed()) window.destroy()
    }
    this.windows.clear()
  }
}
