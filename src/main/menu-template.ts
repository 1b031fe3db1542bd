import type { MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  newWindow(): void
  /** Shows the settings view in the focused window. */
  showSettings(): void
}

/** The application menu. Pure data, so tests read it without Electron. */
export function appMenuTemplate(actions: MenuActions, platform: NodeJS.Platform, isDev: boolean): MenuItemConstructorOptions[] {
  const isMac = platform === 'darwin'
  const fileMenu: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { id: 'new-window', label: 'New Window', accelerator: 'CmdOrCtrl+N', click: () => actions.newWindow() },
      { type: 'separator' },
      { id: 'settings', label: 'Settings…', accelerator: 'CmdOrCtrl+,', click: () => actions.showSettings() },
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  }
  const viewItems: MenuItemConstructorOptions[] = [
    { role: 'reload' },
    ...(isDev ? [{ role: 'toggleDevTools' } as MenuItemConstructorOptions] : []),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ]
  return [
    ...(isMac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    fileMenu,
    { role: 'editMenu' },
    { label: 'View', submenu: viewItems },
    { role: 'windowMenu' },
  ]
}
