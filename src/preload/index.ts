/**
 * The sandboxed preload of every CarHost window (bundled to out/preload/index.cjs).
 * It holds the window's end of its MessagePort to the hub and exposes exactly
 * `window.carhost = {request, onNotification}` (src/protocol/bridge.ts); nothing
 * else from Node or Electron reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron'
import type { CarhostBridge, HubNotification } from '../protocol/bridge.js'
import { IpcChannel } from '../shared/ipc-channels.js'
import { HubPortClient, type HubPort } from './hub-port-client.js'

const client = new HubPortClient({
  openNewWindow: () => ipcRenderer.invoke(IpcChannel.newWindow),
})

ipcRenderer.on(IpcChannel.port, (event) => {
  const port = event.ports[0]
  if (port) client.attachPort(port as HubPort)
})

const bridge: CarhostBridge = {
  request: (method: string, params?: unknown) => client.request(method, params),
  onNotification: (listener: (notification: HubNotification) => void) => client.onNotification(listener),
}

contextBridge.exposeInMainWorld('carhost', bridge)
