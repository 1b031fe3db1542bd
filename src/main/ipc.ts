import { ipcMain, type IpcMainInvokeEvent } from 'electron'
import { toDisposable, type Disposable } from '../base/lifecycle.js'
import { IpcChannel } from '../shared/ipc-channels.js'
import { isTrustedSenderUrl } from './security-policy.js'

export interface IpcHandlerOptions {
  /** Opens a CarHost window; false when too many are open. */
  openWindow(): boolean
  /** Whether `contents` belongs to a CarHost window. */
  isAppWindow(contents: IpcMainInvokeEvent['sender']): boolean
  devServerUrl?: string | undefined
}

/**
 * The only IPC the main process answers besides the port handoff: the preload's
 * `app.newWindow`. Every sender is checked: the top-level frame of one of our
 * windows, showing the app's own page.
 */
export function registerIpcHandlers(options: IpcHandlerOptions): Disposable {
  ipcMain.handle(IpcChannel.newWindow, (event) => {
    if (!isTrustedIpcSender(event, options)) throw new Error('refused')
    if (!options.openWindow()) throw new Error('too many windows')
    return { opened: true }
  })
  return toDisposable(() => ipcMain.removeHandler(IpcChannel.newWindow))
}

export function isTrustedIpcSender(event: IpcMainInvokeEvent, options: Pick<IpcHandlerOptions, 'isAppWindow' | 'devServerUrl'>): boolean {
  const frame = event.senderFrame
  if (!frame || frame.parent !== null) return false
  if (!options.isAppWindow(event.sender)) return false
  return isTrustedSenderUrl(frame.url, options.devServerUrl)
}
