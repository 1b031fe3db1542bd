import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { BrowserContext, Locator, Page } from 'playwright-core'

/** `data-state` of a message (the renderer's MessageState; its module needs the DOM, so it is not imported here). */
export type MessageState = 'streaming' | 'done' | 'error' | 'cancelled'

/** Bound for every single UI wait; a test as a whole is bounded by vitest's e2e timeout. */
export const UI_TIMEOUT_MS = 15_000

export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../../test-results/e2e')

/** One CarHost tab with what it printed to its console (CSP violations show up there). */
export interface AppTab {
  readonly page: Page
  readonly consoleErrors: string[]
}

/** Opens the hub's link in a new tab of `context` and waits until the agent list shows `echo` running. */
export async function openApp(context: BrowserContext, url: string): Promise<AppTab> {
  const page = await context.newPage()
  const tab = watch(page)
  await page.goto(url)
  await agentItem(page, 'echo', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
  return tab
}

/** Records console errors and uncaught page errors of `page`. */
export function watch(page: Page): AppTab {
  const consoleErrors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text())
  })
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`))
  return { page, consoleErrors }
}

export function agentItem(page: Page, agentId: string, status?: string): Locator {
  return page.locator(`[data-testid=agent-item][data-agent-id="${agentId}"]${status ? `[data-status="${status}"]` : ''}`)
}

export function assistantMessages(page: Page): Locator {
  return page.locator('[data-testid=message][data-role=assistant]')
}

/** A reply, found by its session id so that it stays the same element whatever else happens in the tab. */
export class Reply {
  constructor(
    readonly page: Page,
    readonly sessionId: string,
  ) {}

  get locator(): Locator {
    return this.page.locator(`[data-testid=message][data-role=assistant][data-session-id="${this.sessionId}"]`)
  }

  /** Waits until the reply is in `state` (auto-waiting, no polling loop of ours). */
  async waitForState(state: MessageState, timeout = UI_TIMEOUT_MS): Promise<void> {
    await this.page
      .locator(`[data-testid=message][data-role=assistant][data-session-id="${this.sessionId}"][data-state="${state}"]`)
      .waitFor({ timeout })
  }

  state(): Promise<string | null> {
    return this.locator.getAttribute('data-state')
  }

  /** The reply's text as rendered (its Markdown parts, without the author line or notes). */
  async text(): Promise<string> {
    return (await this.locator.locator('.markdown').allInnerTexts()).join('\n').trim()
  }

  /** Waits until at least one token of the reply is on screen while it still streams. */
  async waitForFirstText(): Promise<void> {
    await this.page
      .locator(`[data-testid=message][data-role=assistant][data-session-id="${this.sessionId}"][data-state=streaming] .markdown`)
      .first()
      .waitFor({ timeout: UI_TIMEOUT_MS })
  }
}

/** Types `prompt` into the composer, presses Send, and returns the reply the tab opened for it. */
export async function send(page: Page, prompt: string): Promise<Reply> {
  const before = await assistantMessages(page).count()
  await page.getByTestId('composer').fill(prompt)
  await page.getByTestId('send').click()
  const reply = assistantMessages(page).nth(before)
  await reply.waitFor({ timeout: UI_TIMEOUT_MS })
  const sessionId = await reply.getAttribute('data-session-id')
  if (!sessionId) throw new Error('the new reply has no data-session-id')
  return new Reply(page, sessionId)
}

/** `count` distinct words, `prefix-01 prefix-02 …`, so that a reply can be told apart from any other. */
export function words(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`).join(' ')
}

/** Saves a screenshot of `page` as test-results/e2e/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  // Transitions finished: a still taken mid-fade (say, right after a colour scheme change) shows neither state.
  await page.screenshot({ path, animations: 'disabled' })
  return path
}

/** Console lines that report a Content-Security-Policy violation. */
export function cspViolations(tab: AppTab): string[] {
  return tab.consoleErrors.filter((line) => /Content Security Policy/i.test(line))
}

/**
 * Records every `data-status` the agent's list item shows from now on, in the
 * page itself (a MutationObserver sees each change, however brief). Returns a
 * reader of the history, which starts with the status shown now.
 */
export async function recordAgentStatuses(page: Page, agentId: string): Promise<() => Promise<string[]>> {
  const key = `__carhostStatuses_${agentId.replace(/\W/g, '_')}`
  await page.evaluate(`(() => {
    const list = document.querySelector('[data-testid=agent-list]')
    const read = () => list.querySelector('[data-testid=agent-item][data-agent-id=${JSON.stringify(agentId)}]')?.getAttribute('data-status') ?? 'absent'
    const seen = [read()]
    window[${JSON.stringify(key)}] = seen
    new MutationObserver(() => {
      const status = read()
      if (status !== seen[seen.length - 1]) seen.push(status)
    }).observe(list, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] })
  })()`)
  return async () => (await page.evaluate(`window[${JSON.stringify(key)}].slice()`)) as string[]
}
