import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { launchChromium } from './browser.js'
import { startHeadlessHub, type HeadlessHub, type HubStartOptions } from './hub-process.js'
import { SCREENSHOT_DIR } from './ui.js'
import { WsHost } from './ws-host.js'

export interface E2eEnvironment {
  /** The hub of this test file. */
  readonly hub: HeadlessHub
  /** A host of the tests' own on the hub's WebSocket. */
  readonly observer: WsHost
  readonly browser: Browser
  /** A fresh browser context per test. */
  readonly context: BrowserContext
}

/**
 * One real headless hub and one Chromium per test file (started in beforeAll,
 * stopped in afterAll: browser first, then the hub with SIGINT), and a fresh
 * browser context per test. `env` goes to the hub and so to its agents.
 */
export function useE2e(env: Record<string, string>, options: HubStartOptions = {}): E2eEnvironment {
  let hub: HeadlessHub | undefined
  let observer: WsHost | undefined
  let browser: Browser | undefined
  let context: BrowserContext | undefined

  beforeAll(async () => {
    // The browser first: without Chromium the file fails at once with what to install.
    browser = await launchChromium()
    hub = await startHeadlessHub(env, options)
    observer = await WsHost.connect(hub.wsUrl, hub.token)
  })

  afterAll(async () => {
    try {
      await observer?.close()
      await browser?.close()
    } finally {
      const exit = await hub?.stop()
      if (exit && exit.code !== 0) throw new Error(`the hub exited with ${JSON.stringify(exit)} after SIGINT; log: ${hub?.stderr()}`)
    }
  })

  beforeEach(async () => {
    context = await browser!.newContext({ viewport: { width: 1100, height: 720 } })
  })

  afterEach(async (ctx) => {
    try {
      if (ctx.task.result?.state === 'fail') await reportFailure(ctx.task.name, context, hub)
    } finally {
      await context?.close()
      context = undefined
    }
  })

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not ready (did beforeAll fail?)`)
    return value
  }
  return {
    get hub() {
      return need(hub, 'the hub')
    },
    get observer() {
      return need(observer, 'the observer host')
    },
    get browser() {
      return need(browser, 'the browser')
    },
    get context() {
      return need(context, 'the browser context')
    },
  }
}

/** What a failed test leaves behind: a screenshot of each of its tabs and the end of the hub's log. */
async function reportFailure(testName: string, context: BrowserContext | undefined, hub: HeadlessHub | undefined): Promise<void> {
  const slug = testName.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  for (const [index, page] of (context?.pages() ?? []).entries()) {
    const path = join(SCREENSHOT_DIR, `FAILED-${slug}-tab${index + 1}.png`)
    await page.screenshot({ path }).then(
      () => console.error(`[e2e] screenshot of the failed test: ${path}`),
      () => {},
    )
  }
  if (hub) console.error(`[e2e] hub log (last 4000 chars):\n${hub.stderr().slice(-4000)}`)
}
