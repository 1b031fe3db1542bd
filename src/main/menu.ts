import { Menu } from 'electron'
import { appMenuTemplate, type MenuActions } from './menu-template.js'

export function installAppMenu(actions: MenuActions, isDev: boolean): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(actions, process.platform, isDev)))
}
