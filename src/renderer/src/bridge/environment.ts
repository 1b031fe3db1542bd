import { BridgeMethod, type CarhostBridge } from '../../../protocol/bridge.js'
import { ErrorCode, RpcError } from '../../../protocol/errors.js'
import { WebSocketBridge, type WebSocketFactory } from './websocket-bridge.js'

/** Where the page runs and how it reaches the hub. */
export interface HostEnvironment {
  readonly kind: 'electron' | 'browser'
  readonly bridge: CarhostBridge
  /** Another CarHost window (Electron) or another tab on the same hub (browser). */
  openNewWindow(): Promise<void>
  /**
   * The link to the hub dropped. A browser tab's WebSocket is gone for good; a
   * window's preload asks for a new port at once and `onDidReconnect` follows.
   */
  onDidClose?(listener: (error: RpcError) => void): () => void
  /** A window has a new link to the hub (a new host: subscribe again). Windows only. */
  onDidReconnect?(listener: () => void): () => void
  /** Loads the page again with its credentials, for a fresh connection after the old one dropped. */
  reconnect?(): void
}

export type DetectResult = { ok: true; environment: HostEnvironment } | { ok: false; problem: 'missing_token' }

/**
 * Errors cross Electron's context bridge as plain `{code, message, data}` objects
 * (an Error loses its own properties there); give the page real RpcErrors again.
 */
function toRpcError(error: unknown): unknown {
  const candidate = error as { code?: unknown; message?: unknown; data?: unknown } | null
  if (typeof candidate?.code === 'number' && typeof candidate.message === 'string') {
    return new RpcError(candidate.code, candidate.message, candidate.data)
  }
  return error
}

/** The Electron environment over the preload's `window.carhost`, with RpcErrors restored. */
function electronEnvironment(preloaded: CarhostBridge): HostEnvironment {
  const bridge: CarhostBridge = {
    request: (...args) =>
      preloaded.request(...args).catch((error: unknown) => {
        throw toRpcError(error)
      }),
    onNotification: (listener) => preloaded.onNotification(listener),
  }
  const { onDidClose, onDidReconnect } = preloaded
  return {
    kind: 'electron',
    bridge,
    openNewWindow: async () => {
      await bridge.request(BridgeMethod.newWindow)
    },
    ...(onDidClose && {
      onDidClose: (listener: (error: RpcError) => void) =>
        onDidClose((error) => {
          const converted = toRpcError(error)
          listener(converted instanceof RpcError ? converted : new RpcError(ErrorCode.InternalError, 'the hub closed the connection'))
        }),
    }),
    ...(onDidReconnect && { onDidReconnect: (listener: () => void) => onDidReconnect(listener) }),
  }
}

function isBridge(value: unknown): value is CarhostBridge {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Partial<Record<keyof CarhostBridge, unknown>>
  return typeof candidate.request === 'function' && typeof candidate.onNotification === 'function'
}

/**
 * Where a tab keeps its token for its own life: sessionStorage belongs to this
 * tab alone and survives reloads, but not the tab (never a cookie, which the
 * browser would send along, nor localStorage, which outlives the tab).
 */
export const TOKEN_STORAGE_KEY = 'carhost.token'

function tabStorage(win: Window): Storage | undefined {
  try {
    return win.sessionStorage ?? undefined
  } catch {
    return undefined
  }
}

/** Reads `#token=...` (the link the headless hub prints), keeps it for the tab, and removes it from the visible URL and history entry. */
export function takeTokenFromUrl(win: Window): string | undefined {
  const hash = win.location.hash
  if (!hash.startsWith('#')) return undefined
  const token = new URLSearchParams(hash.slice(1)).get('token')
  if (!token) return undefined
  win.history.replaceState(win.history.state, '', win.location.pathname + win.location.search)
  try {
    tabStorage(win)?.setItem(TOKEN_STORAGE_KEY, token)
  } catch {
    // Storage full or disabled: the tab still works until it is reloaded.
  }
  return token
}

/** The tab's token: a new one from the link, else the one the tab kept. */
export function tabToken(win: Window): string | undefined {
  const fromUrl = takeTokenFromUrl(win)
  if (fromUrl) return fromUrl
  try {
    return tabStorage(win)?.getItem(TOKEN_STORAGE_KEY) ?? undefined
  } catch {
    return undefined
  }
}

/**
 * A link with a token pasted into the tab changes only the fragment, which
 * loads nothing: the tab takes the token and calls `onToken` (the page then
 * starts again with it). Returns the unsubscribe.
 */
export function watchAccessLink(win: Window, onToken: (token: string) => void): () => void {
  const listener = () => {
    const token = takeTokenFromUrl(win)
    if (token) onToken(token)
  }
  win.addEventListener('hashchange', listener)
  return () => win.removeEventListener('hashchange', listener)
}

/**
 * In Electron the preload has put `window.carhost` there. Anywhere else the page
 * was served by the headless hub and talks to it over `ws://` on the same host,
 * authenticating with the token from the URL, which the tab keeps (tabToken).
 */
export function detectEnvironment(win: Window = window, createSocket?: WebSocketFactory): DetectResult {
  const preloaded: unknown = Reflect.get(win, 'carhost')
  if (isBridge(preloaded)) return { ok: true, environment: electronEnvironment(preloaded) }
  const token = tabToken(win)
  if (!token) return { ok: false, problem: 'missing_token' }
  const scheme = win.location.protocol === 'https:' ? 'wss' : 'ws'
  const bridge = new WebSocketBridge({
    url: `${scheme}://${win.location.host}/`,
    token,
    ...(createSocket && { createSocket }),
  })
  const pageUrl = `${win.location.origin}${win.location.pathname}${win.location.search}`
  return {
    ok: true,
    environment: {
      kind: 'browser',
      bridge,
      openNewWindow: async () => {
        win.open(`${pageUrl}#token=${encodeURIComponent(token)}`, '_blank', 'noopener,noreferrer')
      },
      onDidClose: (listener) => bridge.onDidClose(listener),
      // The tab keeps its token: a reload connects again with it.
      reconnect: () => win.location.reload(),
    },
  }
}
