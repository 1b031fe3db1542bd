/** A hub message a host receives without asking: `agents.chat.event`, `host.event`. */
export interface HubNotification {
  method: string
  params: unknown
}

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
}
