import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import type { ProcessLauncher } from '../../src/hub/process-launcher.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { UpgradeRefused, WsTestClient } from './support/ws-test-client.js'

const noAgents: ProcessLauncher = {
  launch() {
    throw new Error('this hub has no agents')
  },
}

let dir: string
let hub: Hub
let server: HubServer

function get(path: string, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', fail)
    req.end()
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carhost-static-'))
  const site = join(dir, 'site')
  mkdirSync(join(site, 'assets'), { recursive: true })
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>t</title>')
  writeFileSync(join(site, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(site, 'assets', 'app.css'), 'body{}')
  writeFileSync(join(site, 'assets', 'logo.svg'), '<svg/>')
  writeFileSync(join(site, 'assets', 'blob.xyz'), 'x')
  writeFileSync(join(dir, 'secret.txt'), 'top secret')
  symlinkSync(join(dir, 'secret.txt'), join(site, 'assets', 'escape.txt'))
  hub = new Hub({ agents: [], launcher: noAgents })
  await hub.start()
  server = await HubServer.listen({ hub, token: 'tok', port: 0, staticRoot: site })
})

afterAll(async () => {
  await hub?.shutdown()
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('HubServer static files', () => {
  it('serves index.html for / with the security headers', async () => {
    const res = await get('/')
    expect(res.status).toBe(200)
    expect(res.body).toBe('<!doctype html><title>t</title>')
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    const csp = String(res.headers['content-security-policy'])
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      `connect-src 'self' ws://127.0.0.1:${server.port} ws://localhost:${server.port}`,
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
    ]) expect(csp).toContain(directive)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    expect(res.headers['x-frame-options']).toBe('DENY')
  })

  it('sets content types by extension', async () => {
    expect((await get('/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect((await get('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8')
    expect((await get('/assets/logo.svg')).headers['content-type']).toBe('image/svg+xml')
    expect((await get('/assets/blob.xyz')).headers['content-type']).toBe('application/octet-stream')
  })

  it('never leaves the folder: traversal, encoded traversal, symlinks out, NUL bytes', async () => {
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/assets/escape.txt', '/index.html%00.js', '/%E0%A4%A']) {
      const res = await get(path)
      expect(res.status, path).toBe(404)
      expect(res.body, path).not.toContain('top secret')
      expect(res.headers['x-content-type-options'], path).toBe('nosniff')
    }
  })

  it('404 for what is not there, 405 for other methods, HEAD without a body', async () => {
    expect((await get('/missing.html')).status).toBe(404)
    expect((await get('/assets')).status).toBe(404)
    const post = await get('/', 'POST')
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    const head = await get('/assets/app.js', 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe(String('console.log(1)'.length))
  })

  it('exposes its URLs', () => {
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}`)
    expect(server.httpUrl).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.browserUrl).toBe(`http://127.0.0.1:${server.port}/#token=tok`)
  })
})

describe('HubServer connections', () => {
  it('closes a socket that does not authenticate in time', async () => {
    const quiet = new Hub({ agents: [], launcher: noAgents })
    const strict = await HubServer.listen({ hub: quiet, token: 'tok', port: 0, authTimeoutMs: 50 })
    try {
      const c = await WsTestClient.connect(strict.wsUrl)
      const closed = await c.closed
      expect(closed.code).toBe(1008)
      expect(c.frames).toEqual([])
    } finally {
      await quiet.shutdown()
      await strict.close()
    }
  })

  it('close(): closes open sockets, then refuses new connections', async () => {
    const own = new Hub({ agents: [], launcher: noAgents })
    const closing = await HubServer.listen({ hub: own, token: 'tok', port: 0 })
    const c = await WsTestClient.authed(closing.wsUrl, 'tok')
    expect(closing.connectionCount).toBe(1)
    await closing.close()
    expect((await c.closed).code).toBe(1001)
    expect(closing.connectionCount).toBe(0)
    expect(own.stats().hosts_connected).toBe(0)
    const refused = await WsTestClient.connect(closing.wsUrl).then(
      () => null,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(Error)
    expect(refused).not.toBeInstanceOf(UpgradeRefused)
    await own.shutdown()
  })
})
