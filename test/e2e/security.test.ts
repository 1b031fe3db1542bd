/** Security smoke test of the page the headless hub serves and of its WebSocket. */
import { describe, expect, it } from 'vitest'
import { useE2e } from './support/fixture.js'
import { cspViolations, openApp, screenshot, send, UI_TIMEOUT_MS, watch } from './support/ui.js'
import { UpgradeRefused, WsHost } from './support/ws-host.js'

const e2e = useE2e({ CARHOST_ECHO_DELAY_MS: '0' })

function scriptSrc(policy: string): string {
  return policy.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src')) ?? ''
}

describe('security', () => {
  it('serves the page under a Content-Security-Policy (header and meta) that Chromium enforces', async () => {
    const response = await fetch(e2e.hub.httpUrl)
    expect(response.status).toBe(200)
    const header = response.headers.get('content-security-policy') ?? ''
    expect(header).toContain("default-src 'none'")
    expect(scriptSrc(header)).toBe("script-src 'self'")
    expect(header).toContain("frame-ancestors 'none'")
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')

    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    const meta = (await tab.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')) ?? ''
    expect(meta).toContain("default-src 'none'")
    expect(scriptSrc(meta)).toBe("script-src 'self'")

    // Ordinary use stays within the policy...
    const reply = await send(tab.page, 'nothing to see here')
    await reply.waitForState('done')
    expect(cspViolations(tab)).toEqual([])

    // ...and an injected inline script is refused.
    const ran = await tab.page.evaluate(`(() => {
      const script = document.createElement('script')
      script.textContent = 'window.__carhostInlineRan = true'
      document.head.appendChild(script)
      return window.__carhostInlineRan === true
    })()`)
    expect(ran).toBe(false)
    await expect.poll(() => cspViolations(tab).length).toBeGreaterThan(0)
  })

  it('refuses a WebSocket from a foreign Origin and accepts the page’s own', async () => {
    const { port } = new URL(e2e.hub.httpUrl)
    const foreign = [
      'http://evil.example',
      `http://evil.example:${port}`,
      // Same host, other port or scheme; and the opaque origin of file:// pages and sandboxed frames.
      'http://127.0.0.1:1',
      `https://127.0.0.1:${port}`,
      'null',
    ]
    for (const origin of foreign) {
      const refused = await WsHost.open(e2e.hub.wsUrl, { origin }).then(
        async (host) => {
          await host.close()
          return null
        },
        (error: unknown) => error,
      )
      expect(refused, `origin ${origin}`).toBeInstanceOf(UpgradeRefused)
      expect((refused as UpgradeRefused).status).toBe(403)
    }

    const own = await WsHost.connect(e2e.hub.wsUrl, e2e.hub.token, { origin: e2e.hub.origin })
    const { agents } = await own.client.call('agents.list')
    expect(agents.map((agent) => agent.id)).toContain('echo')
    await own.close()
  })

  it('a tab with a wrong token gets no agents and says its link was refused', async () => {
    const page = await e2e.context.newPage()
    const tab = watch(page)
    await page.goto(`${e2e.hub.httpUrl}#token=${'A'.repeat(43)}`)
    await page.getByTestId('access-refused').waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.locator('[data-testid=agent-item]').count()).toBe(0)
    await screenshot(page, 'wrong-token')
    expect(cspViolations(tab)).toEqual([])
  })
})
