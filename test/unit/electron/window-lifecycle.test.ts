import type { MessagePort } from 'node:worker_threads'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { BrowserWindow as ElectronBrowserWindow, WebContents } from 'electron'
import { ManualClock } from '../../support/manual-clock.js'
import { silentLogger } from '../../../src/hub/logger.js'
import { hardenWebContents } from '../../../src/main/security.js'
import { Hub } from '../../../src/hub/hub.js'
import { WindowManager } from '../../../src/main/windows.js'
import { windowSecurityPreferences } from '../../../src/main/security-policy.js'
import { HubPortClient, type HubPort } from '../../../src/preload/hub-port-client.js'
import { FakeLauncher, agentEvent, scriptedAgent, settle } from '../../support/fake-launcher.js'
import { agentSpec } from '../../support/spec.js'
import { BrowserWindow, closeAllChannels, createdChannels, createdWindows, type FakeWebContents } from './fake-electron.js'

vi.mock('electron', () => import('./fake-electron.js'))

const PRELOAD = '/app/out/preload/index.cjs'
const PAGE = 'carhost://app/index.html'

interface Page {
  client: HubPortClient
  port: MessagePort
  events: Array<{ session_id: string; kind: string; delta?: string; code?: string; finish_reason?: string }>
}

let hub: Hub
let launcher: FakeLauncher
let manager: WindowManager
const clients: HubPortClient[] = []

beforeEach(async () => {
  createdWindows.length = 0
  launcher = new FakeLauncher({ echo: scriptedAgent() })
  hub = new Hub({ agents: [agentSpec('echo')], launcher, clock: new ManualClock() })
  await hub.start()
  manager = new WindowManager({ hub, preloadPath: PRELOAD, pageUrl: PAGE })
})

afterEach(() => {
  manager.dispose()
  hub.dispose()
  closeAllChannels()
  clients.length = 0
})

function portCalls(contents: FakeWebContents) {
  return contents.postMessage.mock.calls.filter(([channel]) => channel === 'carhost:port')
}

/** What the preload does with the port the main process posted last. */
function pageOf(window: BrowserWindow): Page {
  const calls = portCalls(window.webContents)
  const call = calls.at(-1)
  if (!call) throw new Error('no port was posted to this window')
  const [, message, transfer] = call
  expect(message).toBeNull()
  expect(transfer).toHaveLength(1)
  const port = (transfer as MessagePort[])[0]!
  const client = new HubPortClient({ openNewWindow: async () => ({}) })
  client.attachPort(port as unknown as HubPort)
  clients.push(client)
  const events: Page['events'] = []
  client.onNotification(({ method, params }) => {
    if (method === 'agents.chat.event') events.push(params as Page['events'][number])
  })
  return { client, port, events }
}

function openLoaded(): BrowserWindow {
  const window = manager.open() as unknown as BrowserWindow
  window.webContents.finishLoad(PAGE)
  return window
}

const cancelsSentToAgent = () =>
  launcher
    .latest('echo')
    .inbox.filter((m) => (m as { method?: string }).method === 'agent.chat.cancel')
    .map((m) => (m as { params: { session_id: string } }).params.session_id)

describe('CarHost windows as hub hosts', () => {
  it('opens a window with the security preferences and loads the app page', () => {
    const window = manager.open() as unknown as BrowserWindow
    expect(window.options.webPreferences).toEqual(windowSecurityPreferences(PRELOAD))
    expect(window.loadURL).toHaveBeenCalledWith(PAGE)
    expect(manager.count).toBe(1)
  })

  it('hands the page its port only once it has loaded, and connects it to the hub', async () => {
    const window = manager.open() as unknown as BrowserWindow
    expect(portCalls(window.webContents)).toHaveLength(0)
    expect(hub.stats().hosts_connected).toBe(0)

    window.webContents.finishLoad(PAGE)
    expect(portCalls(window.webContents)).toHaveLength(1)
    expect(hub.stats().hosts_connected).toBe(1)

    const page = pageOf(window)
    const result = (await page.client.request('agents.list', {})) as { agents: Array<{ id: string }> }
    expect(result.agents.map((a) => a.id)).toEqual(['echo'])
  })

  it('a reload disconnects the old host first, then gives the new page a fresh connection', async () => {
    const window = openLoaded()
    const first = pageOf(window)
    await first.client.request('agents.chat', { agent_id: 'echo', prompt: 'hello', session_id: 'before-reload' })
    expect(hub.stats().sessions_active).toBe(1)

    window.webContents.startNavigation() // reload begins
    expect(hub.stats().hosts_connected).toBe(1) // it could still be vetoed
    window.webContents.commitNavigation()
    expect(hub.stats().hosts_connected).toBe(0)
    expect(hub.stats().sessions_active).toBe(0)
    await vi.waitFor(() => expect(cancelsSentToAgent()).toEqual(['before-reload']))

    window.webContents.finishLoad(PAGE)
    expect(hub.stats().hosts_connected).toBe(1)
    const calls = portCalls(window.webContents)
    expect(calls).toHaveLength(2)
    expect(calls[1]![2]![0]).not.toBe(calls[0]![2]![0])

    const second = pageOf(window)
    const { session_id } = (await second.client.request('agents.chat', { agent_id: 'echo', prompt: 'again' })) as { session_id: string }
    launcher.latest('echo').send(agentEvent(session_id, { kind: 'token', delta: 'fresh' }))
    await vi.waitFor(() => expect(second.events.map((e) => e.delta)).toEqual(['fresh']))
    expect(first.events).toEqual([])
  })

  it('a load without a navigation event (e.g. did-finish-load twice) still replaces the connection', () => {
    const window = openLoaded()
    window.webContents.finishLoad(PAGE)
    expect(hub.stats().hosts_connected).toBe(1)
    expect(portCalls(window.webContents)).toHaveLength(2)
    expect(createdChannels[0]!.port1.closed).toBe(true)
  })

  it('in-page navigation and subframe navigation keep the connection', () => {
    const window = openLoaded()
    window.webContents.startNavigation({ isSameDocument: true })
    window.webContents.commitNavigation({ isSameDocument: true })
    window.webContents.startNavigation({ isMainFrame: false })
    window.webContents.commitNavigation({ isMainFrame: false })
    expect(hub.stats().hosts_connected).toBe(1)
  })

  it('a navigation that security vetoes keeps the page connected', async () => {
    const window = openLoaded()
    hardenWebContents(window.webContents as unknown as WebContents, silentLogger, () => {})
    const page = pageOf(window)
    expect(window.webContents.pageNavigation('https://evil.example/')).toBe(false)
    expect(hub.stats().hosts_connected).toBe(1)
    await expect(page.client.request('agents.list', {})).resolves.toMatchObject({ agents: [{ id: 'echo' }] })
  })

  it('a page whose link the hub closed gets a new one when its preload asks, and can chat again', async () => {
    const window = openLoaded()
    const page = pageOf(window)
    const link = manager.linkOf(window as unknown as ElectronBrowserWindow)!
    const closes: unknown[] = []
    page.client.onDidCloseLink((error) => closes.push(error))
    await page.client.request('agents.chat', { agent_id: 'echo', prompt: 'hi', session_id: 'cut' })
    createdChannels.at(-1)!.port1.close() // the hub side closes the port (hard cap, restart)
    await vi.waitFor(() => expect(closes).toHaveLength(1))
    expect(link.isConnected).toBe(false)
    expect(hub.stats().sessions_active).toBe(0)

    manager.reconnect(window.webContents as unknown as WebContents) // what the preload's IPC asks for
    expect(link.isConnected).toBe(true)
    const again = pageOf(window)
    await expect(again.client.request('agents.list', {})).resolves.toMatchObject({ agents: [{ id: 'echo' }] })
    manager.reconnect(window.webContents as unknown as WebContents) // a live link is kept
    expect(portCalls(window.webContents)).toHaveLength(2)
  })

  it('a crashed renderer disconnects its host and cancels its sessions', async () => {
    const window = openLoaded()
    const page = pageOf(window)
    await page.client.request('agents.chat', { agent_id: 'echo', prompt: 'x', session_id: 'crashy' })
    window.webContents.crash()
    expect(hub.stats().hosts_connected).toBe(0)
    await vi.waitFor(() => expect(cancelsSentToAgent()).toEqual(['crashy']))
    // the user reloads the crashed window: a new connection
    window.webContents.finishLoad(PAGE)
    expect(hub.stats().hosts_connected).toBe(1)
  })

  it('closing a window disconnects it; a destroyed window is never posted to', async () => {
    const window = openLoaded()
    const page = pageOf(window)
    await page.client.request('agents.chat', { agent_id: 'echo', prompt: 'x', session_id: 'closing' })
    window.close()
    expect(manager.count).toBe(0)
    expect(hub.stats().hosts_connected).toBe(0)
    await vi.waitFor(() => expect(cancelsSentToAgent()).toEqual(['closing']))

    // A late load event for the destroyed contents must not post (Electron would throw).
    window.webContents.emit('did-finish-load')
    expect(portCalls(window.webContents)).toHaveLength(1)
    expect(hub.stats().hosts_connected).toBe(0)
  })

  it('gives the page no port while the hub is shutting down', async () => {
    const window = manager.open() as unknown as BrowserWindow
    const shutdown = hub.shutdown()
    window.webContents.finishLoad(PAGE)
    await shutdown
    expect(portCalls(window.webContents)).toHaveLength(0)
    expect(createdChannels[0]!.port1.closed).toBe(true)
  })

  it('two windows chat with the same agent independently; closing one cancels only its session', async () => {
    const a = openLoaded()
    const b = openLoaded()
    const pageA = pageOf(a)
    const pageB = pageOf(b)
    expect(hub.stats().hosts_connected).toBe(2)
    await pageA.client.request('agents.chat', { agent_id: 'echo', prompt: 'a', session_id: 'sa' })
    await pageB.client.request('agents.chat', { agent_id: 'echo', prompt: 'b', session_id: 'sb' })
    const agent = launcher.latest('echo')
    agent.send(agentEvent('sa', { kind: 'token', delta: 'A1' }))
    agent.send(agentEvent('sb', { kind: 'token', delta: 'B1' }))
    agent.send(agentEvent('sa', { kind: 'token', delta: 'A2' }))
    await vi.waitFor(() => {
      expect(pageA.events.map((e) => e.delta).join('')).toBe('A1A2')
      expect(pageB.events.map((e) => e.delta).join('')).toBe('B1')
    })
    expect(pageA.events.every((e) => e.session_id === 'sa')).toBe(true)
    expect(pageB.events.every((e) => e.session_id === 'sb')).toBe(true)

    a.close()
    await vi.waitFor(() => expect(cancelsSentToAgent()).toEqual(['sa']))
    agent.send(agentEvent('sb', { kind: 'done', finish_reason: 'stop' }))
    await vi.waitFor(() => expect(pageB.events.at(-1)).toMatchObject({ session_id: 'sb', kind: 'done' }))
    await settle()
    expect(hub.stats().sessions_active).toBe(0)
  })

  it('focusOrOpen focuses the last window, or opens one when none is left', () => {
    const window = openLoaded()
    window.minimized = true
    expect(manager.focusOrOpen()).toBe(window)
    expect(window.minimized).toBe(false)
    expect(window.focused).toBe(true)
    window.close()
    const next = manager.focusOrOpen()
    expect(next).not.toBe(window)
    expect(manager.count).toBe(1)
  })
})
