/**
 * One Content-Security-Policy (src/shared/content-security-policy.ts), delivered
 * three ways: carhost://app responses (main), the headless hub's HTTP responses
 * (platform/node) and the page's meta tag (written by the renderer build).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import type { ProcessLauncher } from '../../src/hub/process-launcher.js'
import { appResponseHeaders } from '../../src/main/security-policy.js'
import { HubServer } from '../../src/platform/node/hub-server.js'
import { contentSecurityPolicy, LOOPBACK_WEBSOCKET_SOURCES } from '../../src/shared/content-security-policy.js'
import { metaContentSecurityPolicy, transformedIndexHtml } from '../support/index-html.js'

const noAgents: ProcessLauncher = {
  launch() {
    throw new Error('this hub has no agents')
  },
}

function parse(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name) directives.set(name, sources)
  }
  return directives
}

/** The policy without the parts a delivery may legitimately set on its own. */
function common(policy: string): Map<string, string[]> {
  const directives = parse(policy)
  directives.set('connect-src', directives.get('connect-src')!.filter((source) => !source.startsWith('ws://')))
  directives.delete('frame-ancestors')
  return directives
}

let dir: string
let hub: Hub
let server: HubServer
let hubServerPolicy: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carhost-csp-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>')
  hub = new Hub({ agents: [], launcher: noAgents })
  await hub.start()
  server = await HubServer.listen({ hub, token: 'tok', port: 0, staticRoot: dir })
  const response = await fetch(`http://127.0.0.1:${server.port}/`)
  await response.text()
  hubServerPolicy = response.headers.get('content-security-policy') ?? ''
})

afterAll(async () => {
  await hub?.shutdown()
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the Content-Security-Policy', () => {
  it('carhost://app responses send the shared policy', () => {
    expect(appResponseHeaders('text/html')['Content-Security-Policy']).toBe(contentSecurityPolicy())
  })

  it("the headless hub sends the shared policy, with its own WebSocket origins", () => {
    const origins = [`ws://127.0.0.1:${server.port}`, `ws://localhost:${server.port}`]
    expect(parse(hubServerPolicy).get('connect-src')).toEqual(expect.arrayContaining(["'self'", ...origins]))
    const wsOrigins = parse(hubServerPolicy).get('connect-src')!.filter((source) => source !== "'self'")
    expect(hubServerPolicy).toBe(contentSecurityPolicy({ connectSources: wsOrigins }))
  })

  it('the built page carries the shared policy in its meta tag, without frame-ancestors', async () => {
    const meta = metaContentSecurityPolicy(await transformedIndexHtml('build'))
    expect(meta).toBe(contentSecurityPolicy({ delivery: 'meta', connectSources: LOOPBACK_WEBSOCKET_SOURCES }))
    expect(parse(meta!).has('frame-ancestors')).toBe(false)
  })

  it('all three agree on every directive but the WebSocket origins and frame-ancestors', async () => {
    const meta = metaContentSecurityPolicy(await transformedIndexHtml('build'))!
    const app = appResponseHeaders('text/html')['Content-Security-Policy']!
    expect(common(hubServerPolicy)).toEqual(common(app))
    expect(common(meta)).toEqual(common(app))
    expect(parse(app).get('img-src')).toContain('blob:')
    expect(parse(hubServerPolicy).get('frame-ancestors')).toEqual(["'none'"])
  })

  it('only the dev server relaxes it: inline script and its own loopback connections', async () => {
    const dev = parse(metaContentSecurityPolicy(await transformedIndexHtml('serve'))!)
    expect(dev.get('script-src')).toEqual(["'self'", "'unsafe-inline'"])
    expect(dev.get('connect-src')).toContain('http://localhost:*')
    expect(parse(contentSecurityPolicy()).get('script-src')).toEqual(["'self'"])
  })
})
