/**
 * IPC channel names shared by the main process and the preload. Kept free of
 * imports that carry code, so the sandboxed preload bundle stays small (no zod).
 */
export const IpcChannel = {
  /** main → preload: `webContents.postMessage(port, null, [port2])`, the window's end of its hub link. */
  port: 'carhost:port',
  /** preload → main, `ipcRenderer.invoke`: the page asked for `app.newWindow`. */
  newWindow: 'carhost:new-window',
} as const
