import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron'
import { toDisposable, type Disposable } from '../base/lifecycle.js'
import { IpcChannel } from '../shared/ipc-channels.js'
import { isTrustedSenderUrl } from './security-policy.js'

export interface IpcHandlerOptions {
  /** Opens a CarHost window; false when too many are open. */
  openWindow(): boolean
  /** Whether `contents` belongs to a CarHost window. */
  isAppWindow(contents: IpcMainInvokeEvent['sender']): boolean
  /** Gives the window of `contents` a new hub link when it has none. */
  reconnectWindow(contents: IpcMainEvent['sender']): void
  devServerUrl?: string | undefined
}

/**
 * The only IPC the main process answers besides the port handoff: the preload's
 * `app.newWindow`, and its request for a new port after the hub dropped the old
 * one. Every sender is checked: the top-level frame of one of our windows,
 * showing the app's own page.
 */
export function registerIpcHandlers(options: IpcHandlerOptions): Disposable {
  ipcMain.handle(IpcChannel.newWindow, (event) => {
    if (!isTrustedIpcSender(event, options)) throw new Error('refused')
    if (!options.openWindow()) throw new Error('too many windows')
    return { opened: true }
  })
  const onReconnect = (event: IpcMainEvent): void => {
    if (isTrustedIpcSender(event, options)) options.reconnectWindow(event.sender)
  }
  ipcMain.on(IpcChannel.reconnect, onReconnect)
  return toDisposable(() => {
    ipcMain.removeHandler(IpcChannel.newWindow)
    ipcMain.off(IpcChannel.reconnect, onReconnect)
  })
}

export function isTrustedIpcSender(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, options: Pick<IpcHandlerOptions, 'isAppWindow' | 'devServerUrl'>): boolean {
  const frame = event.senderFrame
  if (!frame || frame.parent !== null) return false
  if (!options.isAppWindow(event.sender)) return false
  return isTrustedSenderUrl(frame.url, options.devServerUrl)
}
