import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { appMenuTemplate } from '../../../src/main/menu-template.js'
import { windowSecurityPreferences } from '../../../src/main/security-policy.js'

vi.mock('electron', () => import('./fake-electron.js'))

/** The hub as src/main/index.ts sees it, with a shutdown the test finishes by hand. */
const appHub = vi.hoisted(() => {
  const state = {
    finishShutdown: () => {},
    shutdown: null as unknown as ReturnType<typeof import('vitest').vi.fn>,
  }
  return state
})

vi.mock('../../../src/main/app-hub.js', async () => {
  const { vi: v } = await import('vitest')
  appHub.shutdown = v.fn(
    () =>
      new Promise<void>((resolve) => {
        appHub.finishShutdown = resolve
      }),
  )
  return {
    startAppHub: v.fn(async () => ({
      hub: { connectHost: v.fn(), supervisor: { list: () => [] } },
      server: null,
      problems: [],
      shutdown: appHub.shutdown,
    })),
  }
})

type FakeElectron = typeof import('./fake-electron.js')

describe('src/main/index.ts', () => {
  let electron: FakeElectron
  let userData: string

  beforeEach(async () => {
    vi.resetModules()
    userData = await mkdtemp(join(tmpdir(), 'carhost-main-'))
    process.env.CARHOST_USER_DATA_DIR = userData
    electron = (await import('electron')) as unknown as FakeElectron
    electron.resetFakeElectron()
  })

  afterEach(async () => {
    delete process.env.CARHOST_USER_DATA_DIR
    await rm(userData, { recursive: true, force: true })
  })

  async function start(): Promise<void> {
    await import('../../../src/main/index.js')
    await vi.waitFor(() => expect(electron.createdWindows).toHaveLength(1))
  }

  it('before ready: sandboxes every renderer, registers carhost:// as privileged, uses the data dir given', async () => {
    await start()
    expect(electron.app.enableSandbox).toHaveBeenCalled()
    expect(electron.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      expect.objectContaining({ scheme: 'carhost', privileges: expect.objectContaining({ standard: true, secure: true }) }),
    ])
    expect(electron.app.setPath).toHaveBeenCalledWith('userData', userData)
  })

  it('on ready: hardens the session, serves carhost://app, opens a secure window on the app page', async () => {
    await start()
    expect(electron.protocol.handle).toHaveBeenCalledWith('carhost', expect.any(Function))
    expect(electron.session.defaultSession.permissionRequestHandler).not.toBeNull()
    expect(electron.session.defaultSession.permissionCheckHandler).not.toBeNull()
    const window = electron.createdWindows[0]!
    const prefs = (window.options as { webPreferences: { preload: string } }).webPreferences
    expect(prefs.preload).toMatch(/out[\\/]preload[\\/]index\.cjs$|src[\\/]preload[\\/]index\.cjs$/)
    expect(prefs).toEqual(windowSecurityPreferences(prefs.preload))
    expect(window.loadURL).toHaveBeenCalledWith('carhost://app/index.html')
    expect(electron.ipcMain.handlers.has('carhost:new-window')).toBe(true)
    expect(electron.Menu.setApplicationMenu).toHaveBeenCalled()
    // every web contents the app creates is hardened: a window.open is denied
    expect(window.webContents.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' })
  })

  it('a second launch focuses the existing window instead of opening another', async () => {
    await start()
    const window = electron.createdWindows[0]!
    electron.app.emit('second-instance', {}, [], '/')
    expect(electron.createdWindows).toHaveLength(1)
    expect(window.focused).toBe(true)
    window.close()
    electron.app.emit('second-instance', {}, [], '/')
    expect(electron.createdWindows).toHaveLength(2)
  })

  it('quitting shuts the hub down before the process exits', async () => {
    await start()
    const first = { preventDefault: vi.fn() }
    electron.app.emit('before-quit', first)
    expect(first.preventDefault).toHaveBeenCalled()
    await vi.waitFor(() => expect(appHub.shutdown).toHaveBeenCalledTimes(1))
    expect(electron.app.exit).not.toHaveBeenCalled()

    const again = { preventDefault: vi.fn() } // e.g. Cmd+Q twice
    electron.app.emit('before-quit', again)
    expect(again.preventDefault).toHaveBeenCalled()
    expect(appHub.shutdown).toHaveBeenCalledTimes(1)

    appHub.finishShutdown()
    await vi.waitFor(() => expect(electron.app.exit).toHaveBeenCalledWith(0))
    const last = { preventDefault: vi.fn() }
    electron.app.emit('before-quit', last) // app.exit's own quit goes through
    expect(last.preventDefault).not.toHaveBeenCalled()
  })

  it("the log's last line is on disk before the process exits", async () => {
    await start()
    let logAtExit = ''
    electron.app.exit.mockImplementation(() => {
      logAtExit = readFileSync(join(userData, 'logs', 'main.log'), 'utf8')
    })
    electron.app.emit('before-quit', { preventDefault: vi.fn() })
    await vi.waitFor(() => expect(appHub.shutdown).toHaveBeenCalledTimes(1))
    appHub.finishShutdown()
    await vi.waitFor(() => expect(electron.app.exit).toHaveBeenCalledWith(0))
    expect(logAtExit).toContain('"message":"CarHost exiting"')
  })

  it('quits when the last window closes (except on macOS)', async () => {
    await start()
    electron.app.emit('window-all-closed')
    if (process.platform === 'darwin') expect(electron.app.quit).not.toHaveBeenCalled()
    else expect(electron.app.quit).toHaveBeenCalled()
  })

  it('a second instance that does not get the lock quits at once', async () => {
    electron.app.requestSingleInstanceLock.mockReturnValueOnce(false)
    await import('../../../src/main/index.js')
    expect(electron.app.quit).toHaveBeenCalled()
    const { startAppHub } = await import('../../../src/main/app-hub.js')
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(startAppHub).not.toHaveBeenCalled()
    expect(electron.createdWindows).toHaveLength(0)
  })
})

describe('application menu', () => {
  it('File > New Window is CmdOrCtrl+N and opens a window', () => {
    const newWindow = vi.fn()
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      const template = appMenuTemplate({ newWindow, showSettings: vi.fn() }, platform, false)
      const file = template.find((item) => item.label === 'File')!
      const item = (file.submenu as Array<{ id?: string; accelerator?: string; click?: () => void }>).find((i) => i.id === 'new-window')!
      expect(item.accelerator).toBe('CmdOrCtrl+N')
      item.click!()
    }
    expect(newWindow).toHaveBeenCalledTimes(3)
  })

  it('File > Settings… is CmdOrCtrl+, and asks for the settings view', () => {
    const showSettings = vi.fn()
    const template = appMenuTemplate({ newWindow: vi.fn(), showSettings }, 'linux', false)
    const file = template.find((item) => item.label === 'File')!
    const item = (file.submenu as Array<{ id?: string; accelerator?: string; click?: () => void }>).find((i) => i.id === 'settings')!
    expect(item.accelerator).toBe('CmdOrCtrl+,')
    item.click!()
    expect(showSettings).toHaveBeenCalledTimes(1)
  })

  it('offers developer tools only in development', () => {
    const roles = (isDev: boolean) =>
      JSON.stringify(appMenuTemplate({ newWindow() {}, showSettings() {} }, 'linux', isDev), (_k, v) => (typeof v === 'function' ? undefined : v))
    expect(roles(true)).toContain('toggleDevTools')
    expect(roles(false)).not.toContain('toggleDevTools')
  })
})
