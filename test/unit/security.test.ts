/**
 * Electron's security checklist as tests: any regression of a window preference, the
 * CSP, navigation, permissions, IPC sender checks, app file serving or the fuses fails here.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { resolveAppFile, respondWithAppFile } from '../../src/main/app-files.js'
import { registerIpcHandlers } from '../../src/main/ipc.js'
import { hardenSession, hardenWebContents } from '../../src/main/security.js'
import {
  APP_ENTRY_URL,
  appSchemePrivileges,
  decideNavigation,
  devServerUrl,
  externalUrl,
  isAllowedNavigation,
  isTrustedSenderUrl,
  windowSecurityPreferences,
} from '../../src/main/security-policy.js'
import { WindowManager } from '../../src/main/windows.js'
import { contentSecurityPolicy } from '../../src/shared/content-security-policy.js'
import { metaContentSecurityPolicy, transformedIndexHtml } from '../support/index-html.js'
import { silentLogger } from '../../src/hub/logger.js'
import {
  FakeWebContents,
  FakeWebFrameMain,
  ipcMain,
  session as electronSession,
  type BrowserWindow,
} from './electron/fake-electron.js'

vi.mock('electron', () => import('./electron/fake-electron.js'))

const ROOT = resolve(import.meta.dirname, '../..')

/** `"default-src 'none'; script-src 'self'"` → Map of directive → sources. */
function parseCsp(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name) directives.set(name.toLowerCase(), sources)
  }
  return directives
}

/** The sources that govern `directive`: its own, else default-src. */
function effective(csp: Map<string, string[]>, directive: string): string[] {
  return csp.get(directive) ?? csp.get('default-src') ?? ['*']
}

function expectStrictCsp(policy: string, where: string): void {
  const csp = parseCsp(policy)
  expect(csp.get('default-src'), `${where}: default-src`).toEqual(["'none'"])
  for (const directive of ['script-src', 'script-src-elem', 'script-src-attr']) {
    const sources = csp.get(directive) ?? effective(csp, 'script-src')
    for (const forbidden of ["'unsafe-inline'", "'unsafe-eval'", "'wasm-unsafe-eval'", "'unsafe-hashes'", '*', 'data:', 'blob:', 'http:', 'https:']) {
      expect(sources, `${where}: ${directive} must not allow ${forbidden}`).not.toContain(forbidden)
    }
  }
  expect(effective(csp, 'object-src'), `${where}: object-src`).toEqual(["'none'"])
  expect(csp.get('base-uri'), `${where}: base-uri`).toEqual(["'none'"])
  for (const source of effective(csp, 'connect-src')) {
    // only the page's own origin, and (for the browser-tab build) the loopback hub
    expect(["'self'", 'ws://127.0.0.1:*', 'ws://localhost:*', 'ws://[::1]:*'], `${where}: connect-src ${source}`).toContain(source)
  }
}

describe('window webPreferences', () => {
  const prefs = windowSecurityPreferences('/app/out/preload/index.cjs')

  it('isolate, sandbox and keep Node out of every renderer', () => {
    expect(prefs.contextIsolation).toBe(true)
    expect(prefs.sandbox).toBe(true)
    expect(prefs.nodeIntegration).toBe(false)
    expect(prefs.nodeIntegrationInWorker).toBe(false)
    expect(prefs.nodeIntegrationInSubFrames).toBe(false)
    expect(prefs.webSecurity).toBe(true)
    expect(prefs.allowRunningInsecureContent).toBe(false)
    expect(prefs.webviewTag).toBe(false)
    expect(prefs.experimentalFeatures).toBe(false)
    expect(prefs.preload).toBe('/app/out/preload/index.cjs')
    expect(prefs).not.toHaveProperty('enableBlinkFeatures')
  })

  it('are exactly what every window is created with', () => {
    const manager = new WindowManager({ hub: { connectHost: () => undefined }, preloadPath: '/p.cjs', pageUrl: APP_ENTRY_URL })
    const window = manager.open() as unknown as BrowserWindow
    expect((window.options as { webPreferences: unknown }).webPreferences).toEqual(windowSecurityPreferences('/p.cjs'))
    manager.dispose()
  })
})

describe('content security policy', () => {
  it('the app CSP is strict: no inline script, no eval, network limited to the app', () => {
    expectStrictCsp(contentSecurityPolicy(), 'app CSP')
    const csp = parseCsp(contentSecurityPolicy())
    expect(csp.get('connect-src')).toEqual(["'self'"])
    expect(csp.get('frame-ancestors')).toEqual(["'none'"])
    expect(csp.get('form-action')).toEqual(["'none'"])
    expect(effective(csp, 'frame-src')).toEqual(["'none'"])
  })

  it('the built renderer index.html carries a strict CSP meta tag', async () => {
    const html = await transformedIndexHtml('build')
    const meta = metaContentSecurityPolicy(html)
    expect(meta, 'index.html has no CSP meta tag').toBeDefined()
    expectStrictCsp(meta!, 'index.html CSP')
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/i) // no inline script bodies
  })

  it('carhost:// is standard and secure, and never bypasses CSP', () => {
    const scheme = appSchemePrivileges()
    expect(scheme.scheme).toBe('carhost')
    expect(scheme.privileges).toMatchObject({ standard: true, secure: true })
    expect(scheme.privileges?.bypassCSP ?? false).toBe(false)
    expect(scheme.privileges?.allowServiceWorkers ?? false).toBe(false)
    expect(APP_ENTRY_URL).toBe('carhost://app/index.html')
  })
})

describe('serving carhost://app from out/renderer', () => {
  let dir: string
  let root: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carhost-app-'))
    root = join(dir, 'renderer')
    await mkdir(join(root, 'assets'), { recursive: true })
    await writeFile(join(root, 'index.html'), '<!doctype html><title>x</title>')
    await writeFile(join(root, 'assets', 'app.js'), 'console.log(1)')
    await writeFile(join(dir, 'secret.txt'), 'do not serve')
    await writeFile(join(dir, 'renderer-evil.txt'), 'sibling with a shared prefix')
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('resolves app paths inside the root only', () => {
    expect(resolveAppFile(root, 'carhost://app/')).toBe(join(root, 'index.html'))
    expect(resolveAppFile(root, 'carhost://app/assets/app.js?v=1#x')).toBe(join(root, 'assets', 'app.js'))
    // The URL parser folds plain and %2e dot segments, so these stay inside root (and miss).
    for (const url of ['carhost://app/../secret.txt', 'carhost://app/%2e%2e/secret.txt', 'carhost://app/assets/%2e%2e/%2e%2e/secret.txt']) {
      expect(resolveAppFile(root, url), url).toBe(join(root, 'secret.txt'))
    }
    // What survives parsing as a traversal or a trick is refused outright.
    const attacks = [
      'carhost://app/..%2fsecret.txt',
      'carhost://app/..%5csecret.txt',
      'carhost://app/%2e%2e%5csecret.txt',
      'carhost://app/%2e%2e%2fsecret.txt',
      'carhost://app/assets/..%2f..%2frenderer-evil.txt',
      'carhost://app/%2fetc%2fpasswd/..%2f..',
      'carhost://app/%00index.html',
      'carhost://app/%E0%A4%A',
      'carhost://other/index.html',
      'file:///etc/passwd',
      'https://app/index.html',
      'not a url',
    ]
    for (const url of attacks) expect(resolveAppFile(root, url), url).toBeNull()
  })

  it('never resolves outside its root, whatever the path', () => {
    const pieces = ['..', '.', '%2e', '%2e%2e', '%2f', '%5c', 'a', 'secret.txt', '%00', '~', 'renderer', '']
    let checked = 0
    for (const a of pieces)
      for (const b of pieces)
        for (const c of pieces) {
          const file = resolveAppFile(root, `carhost://app/${a}/${b}${c}/${c}`)
          if (file !== null) expect(file.startsWith(root + sep), `${a}/${b}${c}/${c} -> ${file}`).toBe(true)
          checked++
        }
    expect(checked).toBe(pieces.length ** 3)
  })

  it('answers with the CSP and nosniff headers', async () => {
    const response = await respondWithAppFile(root, { method: 'GET', url: 'carhost://app/index.html' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-security-policy')).toBe(contentSecurityPolicy())
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await response.text()).toContain('<title>x</title>')
    const js = await respondWithAppFile(root, { method: 'GET', url: 'carhost://app/assets/app.js' })
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
  })

  it('refuses traversal, missing files and other methods', async () => {
    for (const url of ['carhost://app/%2e%2e/secret.txt', 'carhost://app/..%2fsecret.txt', 'carhost://app/missing.js']) {
      const response = await respondWithAppFile(root, { method: 'GET', url })
      expect(response.status, url).toBe(404)
      expect(await response.text()).toBe('')
    }
    expect((await respondWithAppFile(root, { method: 'POST', url: 'carhost://app/index.html' })).status).toBe(405)
  })
})

describe('navigation and new windows', () => {
  it('no navigation is allowed; only http(s) links may leave for the OS browser', () => {
    for (const url of ['carhost://app/index.html', 'https://example.com', 'file:///etc/passwd', 'javascript:alert(1)']) {
      expect(isAllowedNavigation(url)).toBe(false)
      expect(decideNavigation(url).allow).toBe(false)
    }
    expect(externalUrl('https://example.com/a?b=1')).toBe('https://example.com/a?b=1')
    expect(externalUrl('http://example.com')).toBe('http://example.com/')
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'carhost://app/',
      'smb://host/share',
      'ms-settings:',
      'data:text/html,x',
      'https://user:pass@example.com/',
      'http://:80/',
      'x'.repeat(9000),
    ]) {
      expect(externalUrl(url), url).toBeNull()
    }
  })

  it('will-navigate is always prevented; window.open is always denied', () => {
    const contents = new FakeWebContents()
    const opened: string[] = []
    hardenWebContents(contents as never, silentLogger, (url) => opened.push(url))

    for (const url of ['https://example.com/', 'file:///etc/passwd', 'carhost://app/other.html']) {
      const event = { url, isMainFrame: true, preventDefault: vi.fn() }
      contents.emit('will-navigate', event)
      expect(event.preventDefault, url).toHaveBeenCalled()
    }
    for (const url of ['https://example.com/x', 'javascript:alert(1)', 'carhost://app/index.html']) {
      expect(contents.windowOpenHandler!({ url })).toEqual({ action: 'deny' })
    }
    expect(opened).toEqual(['https://example.com/', 'https://example.com/x'])

    const webview = { preventDefault: vi.fn() }
    contents.emit('will-attach-webview', webview, {}, {})
    expect(webview.preventDefault).toHaveBeenCalled()
    const redirect = { isMainFrame: true, preventDefault: vi.fn() }
    contents.emit('will-redirect', redirect)
    expect(redirect.preventDefault).toHaveBeenCalled()
  })
})

describe('permissions', () => {
  it('every permission request and check is denied', () => {
    const ses = electronSession.defaultSession
    hardenSession(ses as never)
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown']) {
      const callback = vi.fn()
      ses.permissionRequestHandler!({}, permission, callback, {})
      expect(callback, permission).toHaveBeenCalledWith(false)
      expect(ses.permissionCheckHandler!({}, permission, 'carhost://app', {}), permission).toBe(false)
    }
    expect(ses.devicePermissionHandler!({})).toBe(false)
    const download = { preventDefault: vi.fn() }
    ses.emit('will-download', download)
    expect(download.preventDefault).toHaveBeenCalled()
  })
})

describe('IPC sender checks', () => {
  const appWindow = new FakeWebContents()
  const openWindow = vi.fn(() => true)
  const reconnectWindow = vi.fn()
  let registration: { dispose(): void }

  beforeEach(() => {
    openWindow.mockClear()
    reconnectWindow.mockClear()
    registration?.dispose()
    registration = registerIpcHandlers({ openWindow, reconnectWindow, isAppWindow: (c) => c === (appWindow as never) })
  })

  it('a new port is given only to the top frame of an app window showing carhost://app', () => {
    const sub = new FakeWebFrameMain('carhost://app/index.html')
    sub.parent = new FakeWebFrameMain('carhost://app/index.html')
    ipcMain.emit('carhost:reconnect', { sender: appWindow, senderFrame: new FakeWebFrameMain('https://evil.example/') })
    ipcMain.emit('carhost:reconnect', { sender: appWindow, senderFrame: sub })
    ipcMain.emit('carhost:reconnect', { sender: new FakeWebContents(), senderFrame: new FakeWebFrameMain('carhost://app/index.html') })
    expect(reconnectWindow).not.toHaveBeenCalled()
    ipcMain.emit('carhost:reconnect', { sender: appWindow, senderFrame: new FakeWebFrameMain('carhost://app/index.html') })
    expect(reconnectWindow).toHaveBeenCalledWith(appWindow)
    registration.dispose()
    expect(ipcMain.listenerCount('carhost:reconnect')).toBe(0)
  })

  const invoke = (sender: FakeWebContents, frame: FakeWebFrameMain | null) =>
    ipcMain.invoke('carhost:new-window', { sender, senderFrame: frame })

  it("accepts app.newWindow from the top frame of an app window showing carhost://app", async () => {
    await expect(invoke(appWindow, new FakeWebFrameMain('carhost://app/index.html'))).resolves.toEqual({ opened: true })
    expect(openWindow).toHaveBeenCalledTimes(1)
  })

  it('refuses other origins, subframes, missing frames and foreign web contents', async () => {
    const sub = new FakeWebFrameMain('carhost://app/index.html')
    sub.parent = new FakeWebFrameMain('carhost://app/index.html')
    const cases: Array<[string, FakeWebContents, FakeWebFrameMain | null]> = [
      ['remote page', appWindow, new FakeWebFrameMain('https://evil.example/')],
      ['file page', appWindow, new FakeWebFrameMain('file:///tmp/x.html')],
      ['other carhost host', appWindow, new FakeWebFrameMain('carhost://evil/index.html')],
      ['dev server while not in dev', appWindow, new FakeWebFrameMain('http://localhost:5173/')],
      ['subframe', appWindow, sub],
      ['no frame', appWindow, null],
      ['not an app window', new FakeWebContents(), new FakeWebFrameMain('carhost://app/index.html')],
    ]
    for (const [name, sender, frame] of cases) {
      await expect(invoke(sender, frame), name).rejects.toThrow()
    }
    expect(openWindow).not.toHaveBeenCalled()
  })

  it('trusts the electron-vite dev server only in development, only on loopback', () => {
    expect(isTrustedSenderUrl('http://localhost:5173/', 'http://localhost:5173/')).toBe(true)
    expect(isTrustedSenderUrl('http://localhost:5174/', 'http://localhost:5173/')).toBe(false)
    expect(devServerUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173' }, false)).toBe('http://localhost:5173/')
    expect(devServerUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173' }, true)).toBeUndefined()
    expect(devServerUrl({ ELECTRON_RENDERER_URL: 'https://evil.example' }, false)).toBeUndefined()
    expect(devServerUrl({ ELECTRON_RENDERER_URL: 'file:///x' }, false)).toBeUndefined()
  })
})

describe('packaged app fuses', () => {
  it('electron-builder.config.cjs flips every hardening fuse and packs an asar', () => {
    const require = createRequire(import.meta.url)
    const config = require(join(ROOT, 'electron-builder.config.cjs'))
    expect(config.asar).toBe(true)
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    })
    expect(config.electronFuses.grantFileProtocolExtraPrivileges ?? false).toBe(false)
  })
})
