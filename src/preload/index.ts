/**
 * The sandboxed preload of every CarHost window (bundled to out/preload/index.cjs).
 * It holds the window's end of its MessagePort to the hub and exposes exactly
 * `window.carhost` (src/protocol/bridge.ts); nothing else from Node or Electron
 * reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron'
import { z } from 'zod'
import { BridgeNotification, type CarhostBridge, type HubNotification } from '../protocol/bridge.js'
import { RpcError, type RpcErrorObject } from '../protocol/errors.js'
import { IpcChannel } from '../shared/ipc-channels.js'
import { HubPortClient, type HubPort } from './hub-port-client.js'

// The client core parses with zod; the page's CSP (no 'unsafe-eval') would refuse
// and report zod's `new Function` probe, as in src/renderer/src/zod-config.ts.
z.config({ jitless: true })

const client = new HubPortClient({
  openNewWindow: () => ipcRenderer.invoke(IpcChannel.newWindow),
})

ipcRenderer.on(IpcChannel.port, (event) => {
  const port = event.ports[0]
  if (port) client.attachPort(port as HubPort)
})

// The app menu's Settings…: carries nothing, so there is nothing of the main process's to trust or parse.
ipcRenderer.on(IpcChannel.showSettings, () => client.deliverLocal({ method: BridgeNotification.showSettings, params: {} }))

// The hub dropped this window (hard cap, restart): ask the main process for a new link at once.
client.onDidCloseLink(() => ipcRenderer.send(IpcChannel.reconnect))

/** An Error crossing the context bridge loses its own properties: the page gets `{code, message, data?}`. */
function plain(error: unknown): RpcErrorObject | unknown {
  return error instanceof RpcError ? error.toJSON() : error
}

const bridge: Required<CarhostBridge> = {
  request: (method: string, params?: unknown) => client.request(method, params).catch((error: unknown) => Promise.reject(plain(error))),
  onNotification: (listener: (notification: HubNotification) => void) => client.onNotification(listener),
  onDidClose: (listener: (error: RpcErrorObject) => void) => {
    const subscription = client.onDidCloseLink((error) => listener(error.toJSON()))
    return () => subscription.dispose()
  },
  onDidReconnect: (listener: () => void) => {
    const subscription = client.onDidReconnectLink(() => listener())
    return () => subscription.dispose()
  },
}

contextBridge.exposeInMainWorld('carhost', bridge)
