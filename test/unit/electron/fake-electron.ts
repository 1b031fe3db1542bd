/**
 * A stand-in for the `electron` module in unit tests of the main-process glue
 * (`vi.mock('electron', () => import('./fake-electron.js'))`). Only what the glue
 * uses; behaviour follows Electron's documentation. Ports are real Node
 * MessagePorts, so messages cross asynchronously and as structured clones.
 */
import { EventEmitter } from 'node:events'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { vi } from 'vitest'

/** The `data` of a DOM-style MessageEvent from a Node MessagePort. */
export function dataOf(event: Event): unknown {
  return (event as Event & { data: unknown }).data
}

// ---------------------------------------------------------------- MessagePortMain

/** `MessagePortMain` over a Node MessagePort: `on('message', e => e.data)`, `on('close')`. */
export class FakeMessagePortMain extends EventEmitter {
  closed = false
  started = false
  readonly posted: unknown[] = []

  constructor(readonly nodePort: MessagePort) {
    super()
    nodePort.addEventListener('message', (event) => this.emit('message', { data: dataOf(event), ports: [] }))
    nodePort.addEventListener('close', () => {
      this.closed = true
      this.emit('close')
    })
  }

  postMessage(message: unknown): void {
    if (this.closed) throw new Error('postMessage on a closed MessagePortMain')
    this.posted.push(message)
    this.nodePort.postMessage(message)
  }

  start(): void {
    this.started = true
    this.nodePort.start()
  }

  close(): void {
    this.closed = true
    this.nodePort.close()
  }
}

export const createdChannels: Array<{ port1: FakeMessagePortMain; port2: MessagePort }> = []

/** `port1` stays in main (wrapped); `port2` is what a page would get: a DOM-style MessagePort. */
export class MessageChannelMain {
  readonly port1: FakeMessagePortMain
  readonly port2: MessagePort

  constructor() {
    const channel = new MessageChannel()
    this.port1 = new FakeMessagePortMain(channel.port1)
    this.port2 = channel.port2
    createdChannels.push({ port1: this.port1, port2: this.port2 })
  }
}

/** Closes every port made so far (Node ports keep the event loop alive). */
export function closeAllChannels(): void {
  for (const { port1, port2 } of createdChannels.splice(0)) {
    port1.nodePort.close()
    port2.close()
  }
}

// ---------------------------------------------------------------- WebContents / BrowserWindow

let nextWebContentsId = 1

export class FakeWebFrameMain {
  parent: FakeWebFrameMain | null = null
  constructor(public url: string) {}
}

export class FakeWebContents extends EventEmitter {
  readonly id = nextWebContentsId++
  destroyed = false
  url = ''
  readonly mainFrame = new FakeWebFrameMain('')
  readonly postMessage = vi.fn((channel: string, message: unknown, transfer?: unknown[]) => {
    if (this.destroyed) throw new Error('Object has been destroyed')
    void channel
    void message
    void transfer
  })
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null = null

  isDestroyed(): boolean {
    return this.destroyed
  }

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler
  }

  /** The page finished loading (initially or after a reload). */
  finishLoad(url = this.url): void {
    this.url = url
    this.mainFrame.url = url
    this.emit('did-finish-load', { preventDefault() {} })
  }

  /** A navigation starts (a reload is a main-frame, cross-document navigation); it may still be vetoed. */
  startNavigation(details: { url?: string; isMainFrame?: boolean; isSameDocument?: boolean } = {}): void {
    this.emit('did-start-navigation', {
      url: details.url ?? this.url,
      isMainFrame: details.isMainFrame ?? true,
      isSameDocument: details.isSameDocument ?? false,
      preventDefault() {},
    })
  }

  /**
   * A navigation commits. As in Electron, `did-navigate` is only for the main
   * frame's cross-document navigations; in-page ones get `did-navigate-in-page`,
   * subframes `did-frame-navigate`.
   */
  commitNavigation(details: { url?: string; isMainFrame?: boolean; isSameDocument?: boolean } = {}): void {
    const url = details.url ?? this.url
    const isMainFrame = details.isMainFrame ?? true
    if (details.isSameDocument) this.emit('did-navigate-in-page', { preventDefault() {} }, url, isMainFrame)
    else if (!isMainFrame) this.emit('did-frame-navigate', { preventDefault() {} }, url, 200, 'OK', false)
    else this.emit('did-navigate', { preventDefault() {} }, url, 200, 'OK')
  }

  /**
   * The page asks to navigate (a link, `location = …`): `did-start-navigation`,
   * then `will-navigate`, whose `preventDefault()` vetoes it; otherwise it
   * commits and loads. Returns whether it happened.
   */
  pageNavigation(url: string): boolean {
    this.startNavigation({ url })
    let vetoed = false
    this.emit('will-navigate', {
      url,
      isMainFrame: true,
      isSameDocument: false,
      preventDefault() {
        vetoed = true
      },
    })
    if (vetoed) return false
    this.commitNavigation({ url })
    this.finishLoad(url)
    return true
  }

  reload(): void {
    this.startNavigation()
    this.commitNavigation()
    this.finishLoad()
  }

  crash(): void {
    this.emit('render-process-gone', { preventDefault() {} }, { reason: 'crashed', exitCode: 139 })
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.emit('destroyed')
  }
}

export const createdWindows: BrowserWindow[] = []

export class BrowserWindow extends EventEmitter {
  private static nextId = 1
  readonly id = BrowserWindow.nextId++
  readonly webContents = new FakeWebContents()
  destroyed = false
  shown = false
  focused = false
  minimized = false
  readonly loadURL = vi.fn(async (url: string) => {
    this.webContents.url = url
  })

  constructor(readonly options: Record<string, unknown>) {
    super()
    createdWindows.push(this)
    app.emit('web-contents-created', { preventDefault() {} }, this.webContents)
  }

  isDestroyed(): boolean {
    return this.destroyed
  }
  isMinimized(): boolean {
    return this.minimized
  }
  restore(): void {
    this.minimized = false
  }
  show(): void {
    this.shown = true
  }
  focus(): void {
    this.focused = true
  }

  /** The user closes the window: 'closed', then the web contents is destroyed. */
  close(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.webContents.destroy()
    this.emit('closed')
  }

  destroy(): void {
    this.close()
  }

  static fromWebContents(contents: FakeWebContents): BrowserWindow | null {
    return createdWindows.find((window) => window.webContents === contents) ?? null
  }
}

// ---------------------------------------------------------------- utilityProcess

/**
 * `auto`: forked processes spawn on their own and exit when killed. `ready`: once
 * spawned, a process whose module is in it announces `agent.ready` (§6).
 */
// Pids no system hands out: a stop lists and signals real descendants of the pid it is given.
export const utilityBehaviour = { auto: false, nextPid: 2_000_000_001, ready: new Set<string>() }

export class FakeUtilityProcess extends EventEmitter {
  pid: number | undefined = undefined
  readonly postMessage = vi.fn((message: unknown) => void message)
  readonly kill = vi.fn(() => {
    if (utilityBehaviour.auto) queueMicrotask(() => this.exit(0))
    return true
  })

  constructor(
    readonly modulePath: string,
    readonly args: string[],
    readonly options: Record<string, unknown>,
  ) {
    super()
  }

  spawn(pid: number): void {
    this.pid = pid
    this.emit('spawn')
    if (utilityBehaviour.ready.has(this.modulePath)) queueMicrotask(() => this.send({ jsonrpc: '2.0', method: 'agent.ready', params: {} }))
  }

  send(message: unknown): void {
    this.emit('message', message)
  }

  exit(code: number): void {
    this.pid = undefined
    this.emit('exit', code)
  }

  /**
   * `app`'s `child-process-gone` for this process, shaped as Electron 45 reports a
   * utility process: the fork's `serviceName` option arrives as `details.name`,
   * `details.serviceName` is the service type.
   */
  goneFromApp(reason: string, exitCode: number): void {
    app.emit('child-process-gone', { preventDefault() {} }, {
      type: 'Utility',
      serviceName: 'node.mojom.NodeService',
      name: this.options.serviceName,
      reason,
      exitCode,
    })
  }

  /** A fatal V8 error in the child (`exit` follows in Electron). */
  fatalError(): void {
    this.emit('error', 'FatalError', 'v8::Isolate', '{"report":true}')
  }
}

export const forked: FakeUtilityProcess[] = []

export const utilityProcess = {
  fork: vi.fn((modulePath: string, args: string[] = [], options: Record<string, unknown> = {}) => {
    const child = new FakeUtilityProcess(modulePath, args, options)
    forked.push(child)
    if (utilityBehaviour.auto) queueMicrotask(() => child.spawn(utilityBehaviour.nextPid++))
    return child
  }),
}

// ---------------------------------------------------------------- app, ipc, protocol, session, shell, Menu

class FakeApp extends EventEmitter {
  isPackaged = false
  readonly paths = new Map<string, string>([['userData', '/tmp/carhost-test-user-data']])
  readonly getPath = vi.fn((name: string) => this.paths.get(name) ?? `/tmp/carhost-test-${name}`)
  readonly setPath = vi.fn((name: string, path: string) => void this.paths.set(name, path))
  readonly quit = vi.fn()
  readonly exit = vi.fn()
  readonly enableSandbox = vi.fn()
  readonly requestSingleInstanceLock = vi.fn(() => true)
  whenReady(): Promise<void> {
    return Promise.resolve()
  }
}
export const app = new FakeApp()

class FakeIpcMain extends EventEmitter {
  readonly handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>()
  handle(channel: string, handler: (event: unknown, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, handler)
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }
  /** Calls a handler as Electron would for `ipcRenderer.invoke` from `sender`. */
  async invoke(channel: string, event: { sender: FakeWebContents; senderFrame: FakeWebFrameMain | null }, ...args: unknown[]) {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return handler(event, ...args)
  }
}
export const ipcMain = new FakeIpcMain()

export const protocol = {
  registerSchemesAsPrivileged: vi.fn(),
  handle: vi.fn(),
}

class FakeSession extends EventEmitter {
  permissionRequestHandler: ((...args: unknown[]) => void) | null = null
  permissionCheckHandler: ((...args: unknown[]) => boolean) | null = null
  devicePermissionHandler: ((...args: unknown[]) => boolean) | null = null
  setPermissionRequestHandler(handler: (...args: unknown[]) => void): void {
    this.permissionRequestHandler = handler
  }
  setPermissionCheckHandler(handler: (...args: unknown[]) => boolean): void {
    this.permissionCheckHandler = handler
  }
  setDevicePermissionHandler(handler: (...args: unknown[]) => boolean): void {
    this.devicePermissionHandler = handler
  }
}
export const session = { defaultSession: new FakeSession() }

export const shell = { openExternal: vi.fn(async (_url: string) => {}) }

export const Menu = {
  buildFromTemplate: vi.fn((template: unknown) => ({ template })),
  setApplicationMenu: vi.fn(),
}

export const dialog = { showMessageBox: vi.fn(async () => ({ response: 0 })), showErrorBox: vi.fn() }

// ---------------------------------------------------------------- renderer side (preload)

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld: vi.fn((key: string, api: unknown) => {
    contextBridge.exposed.set(key, api)
  }),
}

class FakeIpcRenderer extends EventEmitter {
  readonly invoke = vi.fn(async (_channel: string, ..._args: unknown[]): Promise<unknown> => undefined)
  readonly send = vi.fn()
  /** Main posts to the page: `webContents.postMessage(channel, message, ports)`. */
  deliver(channel: string, ports: MessagePort[]): void {
    this.emit(channel, { ports, sender: this }, null)
  }
}
export const ipcRenderer = new FakeIpcRenderer()

export default {
  MessageChannelMain,
  BrowserWindow,
  utilityProcess,
  app,
  ipcMain,
  protocol,
  session,
  shell,
  Menu,
  dialog,
  contextBridge,
  ipcRenderer,
}

/** Back to a fresh `electron` (mocked modules outlive `vi.resetModules`). */
export function resetFakeElectron(): void {
  closeAllChannels()
  createdWindows.length = 0
  forked.length = 0
  utilityBehaviour.auto = false
  utilityBehaviour.ready.clear()
  app.removeAllListeners()
  app.paths.clear()
  app.paths.set('userData', '/tmp/carhost-test-user-data')
  ipcMain.removeAllListeners()
  ipcMain.handlers.clear()
  ipcRenderer.removeAllListeners()
  contextBridge.exposed.clear()
  session.defaultSession.removeAllListeners()
  session.defaultSession.permissionRequestHandler = null
  session.defaultSession.permissionCheckHandler = null
  session.defaultSession.devicePermissionHandler = null
  vi.clearAllMocks()
}
