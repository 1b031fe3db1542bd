/**
 * The Electron main process: the hub, its windows and the app's security policy.
 * Module layout: app-hub (hub + agents + endpoint), windows/host-ports (one hub host
 * per window page), app-protocol/app-files (carhost://app), security(+-policy),
 * ipc (app.newWindow), menu, settings.
 */
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, dialog, session } from 'electron'
import type { Disposable } from '../base/lifecycle.js'
import { startAppHub, type AppHub } from './app-hub.js'
import { registerAppSchemePrivileged, serveAppProtocol } from './app-protocol.js'
import { FileLogger } from './file-logger.js'
import { registerIpcHandlers } from './ipc.js'
import { IpcChannel } from '../shared/ipc-channels.js'
import { installAppMenu } from './menu.js'
import { hardenAllWebContents, hardenSession } from './security.js'
import { APP_ENTRY_URL, devServerUrl } from './security-policy.js'
import { WindowManager } from './windows.js'

/** Longest the app waits for the hub to shut down before it exits anyway. */
const SHUTDOWN_LIMIT_MS = 10_000
/** Longest the app waits for the log file to take its last lines. */
const FLUSH_LIMIT_MS = 2_000

const here = fileURLToPath(new URL('.', import.meta.url))
const preloadPath = join(here, '../preload/index.cjs')
const rendererRoot = join(here, '../renderer')

// Before `ready`: every renderer sandboxed, and carhost:// a standard, secure scheme.
app.enableSandbox()
registerAppSchemePrivileged()
// A separate data folder (and with it a separate single-instance lock), e.g. for end-to-end tests.
if (process.env.CARHOST_USER_DATA_DIR) app.setPath('userData', resolve(process.env.CARHOST_USER_DATA_DIR))

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  run()
}

function run(): void {
  const devUrl = devServerUrl(process.env, app.isPackaged)
  const logger = new FileLogger(join(app.getPath('userData'), 'logs', 'main.log'), devUrl ? 'debug' : 'info')
  let windows: WindowManager | undefined
  let appHub: AppHub | undefined
  let ipc: Disposable | undefined
  let quit: 'running' | 'stopping' | 'done' = 'running'

  hardenAllWebContents(app, logger)

  app.on('second-instance', () => {
    if (windows) windows.focusOrOpen()
  })
  app.on('activate', () => {
    if (windows && windows.count === 0) windows.open()
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })

  const started = app.whenReady().then(async () => {
    hardenSession(session.defaultSession)
    serveAppProtocol(rendererRoot)
    appHub = await startAppHub({ dataDir: app.getPath('userData'), argv: process.argv, logger })
    if (quit !== 'running') return
    const manager = new WindowManager({
      hub: appHub.hub,
      preloadPath,
      pageUrl: devUrl ?? APP_ENTRY_URL,
      logger,
    })
    windows = manager
    const openWindow = (): boolean => {
      if (!manager.canOpen) return false
      manager.open()
      return true
    }
    ipc = registerIpcHandlers({
      openWindow,
      isAppWindow: (contents) => manager.hasWebContents(contents),
      reconnectWindow: (contents) => manager.reconnect(contents),
      devServerUrl: devUrl,
    })
    installAppMenu(
      {
        newWindow: () => void openWindow(),
        showSettings: () => {
          const focused = BrowserWindow.getFocusedWindow()
          if (focused && manager.hasWebContents(focused.webContents)) focused.webContents.send(IpcChannel.showSettings)
        },
      },
      devUrl !== undefined,
    )
    manager.open()
    if (appHub.problems.length > 0) {
      void dialog.showMessageBox({ type: 'warning', message: 'CarHost started with problems', detail: appHub.problems.join('\n\n') })
    }
    logger.info('CarHost ready', { agents: appHub.hub.supervisor.list().map((agent) => `${agent.id}:${agent.status}`) })
  })
  started.catch((error: unknown) => {
    logger.error('CarHost failed to start', { error: String(error) })
    dialog.showErrorBox('CarHost failed to start', String(error))
    app.exit(1)
  })

  // Shut the hub down (sessions end with hub_shutdown, agents stop) before the process exits.
  app.on('before-quit', (event) => {
    if (quit === 'done') return
    event.preventDefault()
    if (quit === 'stopping') return
    quit = 'stopping'
    void (async () => {
      try {
        await started.catch(() => {})
        ipc?.dispose()
        // Agents get the hub's own stop timeout, then SIGKILL; this bound only guards against a hung exit.
        if (appHub) await boundedBy(appHub.shutdown(), SHUTDOWN_LIMIT_MS, () => logger.warn('hub shutdown timed out'))
      } catch (error) {
        logger.error('hub shutdown failed', { error: String(error) })
      } finally {
        quit = 'done'
        logger.info('CarHost exiting')
        // app.exit ends the process at once: the log's tail must be on disk first.
        await boundedBy(logger.flush(), FLUSH_LIMIT_MS, () => {})
        app.exit(0)
      }
    })()
  })
}

function boundedBy(work: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      onTimeout()
      resolve()
    }, ms)
  })
  return Promise.race([work, limit]).finally(() => clearTimeout(timer))
}
