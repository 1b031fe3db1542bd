import { afterEach, describe, expect, it, vi } from 'vitest'
import type { CarhostBridge } from '../../src/protocol/bridge.js'
import { RpcError } from '../../src/protocol/errors.js'
import { detectEnvironment, takeTokenFromUrl } from '../../src/renderer/src/bridge/environment.js'
import type { WebSocketLike } from '../../src/renderer/src/bridge/websocket-bridge.js'

function fakeSocketFactory() {
  const urls: string[] = []
  const factory = (url: string): WebSocketLike => {
    urls.push(url)
    return { readyState: 0, onopen: null, onmessage: null, onclose: null, onerror: null, send() {}, close() {} }
  }
  return { urls, factory }
}

describe('detectEnvironment', () => {
  afterEach(() => {
    window.history.replaceState(null, '', '/')
    window.sessionStorage.clear()
    vi.restoreAllMocks()
  })

  it('uses the preload bridge in Electron, and asks it for new windows', async () => {
    const request = vi.fn(async () => ({ ok: true }))
    const bridge: CarhostBridge = { request, onNotification: () => () => {} }
    const sockets = fakeSocketFactory()
    const result = detectEnvironment({ carhost: bridge } as unknown as Window, sockets.factory)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.environment.kind).toBe('electron')
    await result.environment.openNewWindow()
    expect(request).toHaveBeenCalledWith('app.newWindow')
    expect(sockets.urls).toHaveLength(0)
  })

  it('turns the plain error objects that cross the context bridge back into RpcErrors', async () => {
    const bridge: CarhostBridge = {
      request: async () => Promise.reject({ code: -32003, message: 'forbidden', data: { x: 1 } }),
      onNotification: () => () => {},
    }
    const result = detectEnvironment({ carhost: bridge } as unknown as Window)
    if (!result.ok) throw new Error('expected the Electron environment')
    const error = await result.environment.bridge.request('agents.chat.cancel', { session_id: 's' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect(error).toMatchObject({ code: -32003, message: 'forbidden', data: { x: 1 } })
  })

  it("passes the preload's link events on, its close error as an RpcError", () => {
    let close: ((error: { code: number; message: string }) => void) | undefined
    let reconnect: (() => void) | undefined
    const bridge: CarhostBridge = {
      request: async () => ({}),
      onNotification: () => () => {},
      onDidClose: (listener) => ((close = listener), () => {}),
      onDidReconnect: (listener) => ((reconnect = listener), () => {}),
    }
    const result = detectEnvironment({ carhost: bridge } as unknown as Window)
    if (!result.ok) throw new Error('expected the Electron environment')
    const errors: unknown[] = []
    let reconnects = 0
    result.environment.onDidClose!((error) => errors.push(error))
    result.environment.onDidReconnect!(() => reconnects++)
    close!({ code: -32603, message: 'the hub closed the connection' })
    reconnect!()
    expect(errors[0]).toBeInstanceOf(RpcError)
    expect(errors[0]).toMatchObject({ code: -32603, message: 'the hub closed the connection' })
    expect(reconnects).toBe(1)
  })

  it('in a browser tab, takes the token from the fragment, hides it, and connects to the same host', async () => {
    window.history.replaceState(null, '', '/index.html?lang=en#token=abc_DEF-123')
    const sockets = fakeSocketFactory()
    const open = vi.spyOn(window, 'open').mockImplementation(() => null)
    const result = detectEnvironment(window, sockets.factory)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.environment.kind).toBe('browser')
    expect(window.location.href).toBe(`${window.location.origin}/index.html?lang=en`)
    expect(sockets.urls).toEqual([`ws://${window.location.host}/`])
    await result.environment.openNewWindow()
    expect(open).toHaveBeenCalledWith(`${window.location.origin}/index.html?lang=en#token=abc_DEF-123`, '_blank', 'noopener,noreferrer')
  })

  it('without a token, the browser tab gets nothing to connect with', () => {
    const sockets = fakeSocketFactory()
    expect(detectEnvironment(window, sockets.factory)).toEqual({ ok: false, problem: 'missing_token' })
    expect(sockets.urls).toHaveLength(0)
  })

  it('ignores a preload-less window.carhost that is not a bridge', () => {
    window.history.replaceState(null, '', '/#token=t')
    const fake = { carhost: { request: 'nope' }, location: window.location, history: window.history } as unknown as Window
    const result = detectEnvironment(fake, fakeSocketFactory().factory)
    expect(result.ok && result.environment.kind).toBe('browser')
  })

  it('takeTokenFromUrl leaves other fragments alone', () => {
    window.history.replaceState(null, '', '/#section-2')
    expect(takeTokenFromUrl(window)).toBeUndefined()
    expect(window.location.hash).toBe('#section-2')
  })
})
