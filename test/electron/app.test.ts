/**
 * The real app under Electron, driven by Playwright (`_electron`). Runs wherever the
 * Electron binary is installed (and a display is available); elsewhere the suite is
 * reported as skipped with the reason in its name. Needs `out/` (npm test builds it).
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { _electron, type ElectronApplication, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CarhostBridge } from '../../src/protocol/bridge.js'

const ROOT = resolve(import.meta.dirname, '../..')

/**
 * Where the Electron binary is, found the way node_modules/electron/index.js does
 * but without loading it (loading it would try to download a missing binary).
 */
function findElectron(): { path: string } | { reason: string } {
  let packageDir: string
  try {
    packageDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
  } catch {
    return { reason: 'the electron package is not installed' }
  }
  const pathFile = join(packageDir, 'path.txt')
  if (!existsSync(pathFile)) return { reason: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing)' }
  const relative = readFileSync(pathFile, 'utf8').trim()
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH
  const binary = override ? join(override, relative) : join(packageDir, 'dist', relative)
  if (!existsSync(binary)) return { reason: `no Electron binary at ${binary}` }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'no display (run under xvfb-run)' }
  }
  if (!existsSync(join(ROOT, 'out/main/index.js'))) return { reason: 'out/ is not built (npm run build)' }
  return { path: binary }
}

const electron = findElectron()
const skipReason = 'reason' in electron ? electron.reason : null
if (skipReason) console.warn(`[test/electron] skipped: ${skipReason}`)

/** `window.carhost` inside the page. */
function hub(page: Page, method: string, params?: unknown): Promise<unknown> {
  return page.evaluate(
    ([m, p]) => (globalThis as unknown as { carhost: CarhostBridge }).carhost.request(m as string, p),
    [method, params] as const,
  )
}

async function sessionsActive(page: Page): Promise<number> {
  return ((await hub(page, 'hub.stats', {})) as { sessions_active: number }).sessions_active
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text)
  await page.getByTestId('composer').press('Enter')
}

const lastReply = (page: Page) => page.locator('[data-testid=message][data-role=assistant]').last()

describe.skipIf(skipReason !== null)(`CarHost under Electron${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let app: ElectronApplication
  let userData: string
  let first: Page

  beforeAll(async () => {
    userData = await mkdtemp(join(tmpdir(), 'carhost-electron-'))
    app = await _electron.launch({
      executablePath: (electron as { path: string }).path,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ROOT],
      env: { ...process.env, CARHOST_USER_DATA_DIR: userData, CARHOST_ECHO_DELAY_MS: '20' } as Record<string, string>,
      timeout: 30_000,
    })
    first = await app.firstWindow()
  })

  afterAll(async () => {
    await app?.close()
    if (userData) await rm(userData, { recursive: true, force: true })
  })

  it('opens a window whose agent list shows echo running, with only window.carhost exposed', async () => {
    await first.locator('[data-testid=agent-item][data-agent-id=echo][data-status=running]').waitFor({ timeout: 20_000 })
    expect(first.url()).toBe('carhost://app/index.html')
    const exposed = await first.evaluate(() => {
      const g = globalThis as unknown as Record<string, unknown> & { carhost: object }
      return { keys: Object.keys(g.carhost).sort(), require: typeof g.require, process: typeof g.process }
    })
    expect(exposed).toEqual({ keys: ['onNotification', 'request'], require: 'undefined', process: 'undefined' })
  })

  it('streams a chat reply from echo', async () => {
    await send(first, 'hello from the first window')
    await expect.poll(() => lastReply(first).getAttribute('data-state'), { timeout: 20_000 }).toBe('done')
    expect(await lastReply(first).innerText()).toContain('hello from the first window')
  })

  it('a second window (app.newWindow) chats independently of the first', async () => {
    const [second] = await Promise.all([app.waitForEvent('window'), first.getByTestId('new-window').click()])
    await second.locator('[data-testid=agent-item][data-agent-id=echo][data-status=running]').waitFor({ timeout: 20_000 })
    const before = await first.locator('[data-testid=message][data-role=assistant]').count()
    await Promise.all([send(first, 'alpha alpha alpha alpha'), send(second, 'bravo bravo bravo bravo')])
    await expect.poll(() => lastReply(first).getAttribute('data-state'), { timeout: 20_000 }).toBe('done')
    await expect.poll(() => lastReply(second).getAttribute('data-state'), { timeout: 20_000 }).toBe('done')
    expect(await lastReply(first).innerText()).toContain('alpha alpha alpha alpha')
    expect(await lastReply(first).innerText()).not.toContain('bravo')
    expect(await lastReply(second).innerText()).toContain('bravo bravo bravo bravo')
    expect(await lastReply(second).innerText()).not.toContain('alpha')
    expect(await first.locator('[data-testid=message][data-role=assistant]').count()).toBe(before + 1)
    await second.close()
  })

  it("closing a window cancels its session (the other window's hub view sees it end)", async () => {
    const [third] = await Promise.all([app.waitForEvent('window'), first.getByTestId('new-window').click()])
    await third.locator('[data-testid=agent-item][data-agent-id=echo][data-status=running]').waitFor({ timeout: 20_000 })
    // 2,000 words at 20 ms each: about 40 s if nobody cancels it.
    await send(third, Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' '))
    await expect.poll(() => lastReply(third).getAttribute('data-state'), { timeout: 20_000 }).toBe('streaming')
    expect(await sessionsActive(first)).toBe(1)
    await third.close()
    await expect.poll(() => sessionsActive(first), { timeout: 10_000 }).toBe(0)
  })
})
