/**
 * IPC channel names shared by the main process and the preload. Kept free of
 * imports that carry code, so either side takes only the names.
 */
export const IpcChannel = {
  /** main → preload: `webContents.postMessage(port, null, [port2])`, the window's end of its hub link. */
  port: 'carhost:port',
  /** preload → main, `ipcRenderer.invoke`: the page asked for `app.newWindow`. */
  newWindow: 'carhost:new-window',
  /** preload → main, `ipcRenderer.send`: the hub closed this window's port; main sends a fresh one on `port`. */
  reconnect: 'carhost:reconnect',
  /** main → preload, `webContents.send` without arguments: the app menu's Settings… (the page shows its settings view). */
  showSettings: 'carhost:show-settings',
} as const
