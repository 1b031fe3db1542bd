/** A hub message a host receives without asking: `agents.chat.event`, `host.event`. */
export interface HubNotification {
  method: string
  params: unknown
}

/** Requests a window's preload answers itself; they never reach the hub. */
export const BridgeMethod = {
  /** Opens another CarHost window (the browser page opens another tab instead). */
  newWindow: 'app.newWindow',
} as const

/** Notifications a window's preload delivers itself, from the main process (the app menu); never the hub's. */
export const BridgeNotification = {
  /** The app menu's "Settings…": the page shows its settings view. */
  showSettings: 'app.showSettings',
} as const

/**
 * `window.carhost`: all a CarHost page gets. The preload implements it over the
 * window's MessagePort; in a browser tab the renderer implements it over the
 * hub's WebSocket. Nothing else from Node or Electron reaches the page.
 */
export interface CarhostBridge {
  /** Sends a JSON-RPC request to the hub; resolves with its result, rejects with its error. */
  request(method: string, params?: unknown): Promise<unknown>
  /** Subscribes to hub notifications; returns the unsubscribe function. */
  onNotification(listener: (notification: HubNotification) => void): () => void
  /**
   * The link to the hub dropped; what was pending failed with `error`. In a window
   * the preload asks for a new link at once and `onDidReconnect` follows; a
   * browser tab's WebSocket is gone for good.
   */
  onDidClose?(listener: (error: { code: number; message: string }) => void): () => void
  /** A window got a new link after `onDidClose`; the page subscribes again (PROTOCOL.md §7: a new host). */
  onDidReconnect?(listener: () => void): () => void
}
