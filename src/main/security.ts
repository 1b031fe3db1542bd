import { shell, type App, type Session, type WebContents } from 'electron'
import type { Logger } from '../hub/logger.js'
import { decideNavigation, isPermissionGranted } from './security-policy.js'

/** Denies every permission request and check, device access and download of a session. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(isPermissionGranted(permission)))
  session.setPermissionCheckHandler((_contents, permission) => isPermissionGranted(permission))
  session.setDevicePermissionHandler(() => false)
  session.on('will-download', (event) => event.preventDefault())
}

/** Applies `hardenWebContents` to every web contents the app ever creates. */
export function hardenAllWebContents(app: App, logger: Logger): void {
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, logger))
}

/**
 * No navigation away from the app's page, no new windows from the page, no
 * webviews. http(s) links go to the OS browser instead; every other scheme is dropped.
 */
export function hardenWebContents(contents: WebContents, logger: Logger, openExternal = openInBrowser): void {
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    logger.warn('refused to attach a webview')
  })
  contents.on('will-navigate', (event) => {
    event.preventDefault()
    const decision = decideNavigation(event.url)
    if (decision.openExternal !== null) openExternal(decision.openExternal, logger)
  })
  contents.on('will-redirect', (event) => {
    // The app's own page is served without redirects; any redirect is someone else's.
    if (event.isMainFrame) event.preventDefault()
  })
  contents.setWindowOpenHandler(({ url }) => {
    const decision = decideNavigation(url)
    if (decision.openExternal !== null) openExternal(decision.openExternal, logger)
    return { action: 'deny' }
  })
}

function openInBrowser(url: string, logger: Logger): void {
  shell.openExternal(url).catch((error: unknown) => logger.warn('could not open a link', { error: String(error) }))
}
