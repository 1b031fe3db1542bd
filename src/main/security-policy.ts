/**
 * The app's security decisions as plain functions (Electron's security checklist).
 * No `electron` import: test/unit/security.test.ts checks every one of them, and
 * the Electron glue (security.ts, windows.ts, app-protocol.ts) only applies them.
 */
import type { CustomScheme, WebPreferences } from 'electron'
import { contentSecurityPolicy } from '../shared/content-security-policy.js'

export const APP_SCHEME = 'carhost'
export const APP_HOST = 'app'
/** Where the window's page is served from in a built app. */
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`

/** `carhost://` is a standard, secure scheme: real origin, same-origin rules, ES modules. */
export function appSchemePrivileges(): CustomScheme {
  return {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
  }
}

/** Every CarHost window's webPreferences. `preload` is the absolute path of out/preload/index.cjs. */
export function windowSecurityPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  }
}

/** Headers sent with every file of the app. */
export function appResponseHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  }
}

export interface NavigationDecision {
  /** Always false: a CarHost window never navigates away from its page. */
  allow: false
  /** An http(s) URL to hand to the OS browser instead, or null to drop it. */
  openExternal: string | null
}

/** For `will-navigate`, `will-redirect` and `setWindowOpenHandler`: deny, maybe open outside. */
export function decideNavigation(url: string): NavigationDecision {
  return { allow: false, openExternal: externalUrl(url) }
}

/** Whether a window may navigate to `url`: never (reloads do not ask). */
export function isAllowedNavigation(_url: string): false {
  return false
}

/**
 * The URL to pass to `shell.openExternal`, or null. Only http and https, without
 * credentials, length-bounded; `file:`, `javascript:`, custom schemes and the
 * like never leave the app.
 */
export function externalUrl(url: string): string | null {
  if (typeof url !== 'string' || url.length > 8192) return null
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null
  if (parsed.username !== '' || parsed.password !== '' || parsed.hostname === '') return null
  return parsed.href
}

/**
 * Whether an IPC message comes from the app's own page: the sender frame's URL is
 * `carhost://app/...`, or in development the electron-vite dev server's origin.
 */
export function isTrustedSenderUrl(url: string | undefined, devServerUrl?: string): boolean {
  if (typeof url !== 'string') return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  // Node's URL gives custom schemes an opaque origin, so compare scheme and host.
  if (parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST) return true
  if (devServerUrl) {
    try {
      const dev = new URL(devServerUrl)
      return (dev.protocol === 'http:' || dev.protocol === 'https:') && parsed.origin === dev.origin
    } catch {
      return false
    }
  }
  return false
}

/** Permissions (camera, notifications, geolocation, ...): the app needs none. */
export function isPermissionGranted(_permission: string): boolean {
  return false
}

/** The dev server URL electron-vite sets, only when it is a loopback http(s) URL. */
export function devServerUrl(env: Record<string, string | undefined>, isPackaged: boolean): string | undefined {
  const url = env.ELECTRON_RENDERER_URL
  if (isPackaged || !url) return undefined
  try {
    const parsed = new URL(url)
    const loopback = parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1' || parsed.hostname === '[::1]'
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && loopback ? parsed.href : undefined
  } catch {
    return undefined
  }
}
