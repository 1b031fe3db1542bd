/**
 * Issue 10 in a real Chromium against the headless hub: the view follows the
 * answer, narrow windows, keyboard, a tab that keeps its access, and axe-core on
 * every screen in both colour schemes. Screenshots go to test-results/e2e.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { violationsInBothThemes } from './support/axe.js'
import { useE2e } from './support/fixture.js'
import { agentItem, openApp, Reply, screenshot, send, UI_TIMEOUT_MS, words } from './support/ui.js'

/** Echo pauses 15 ms per word: a 300-word reply streams for about 5 s. */
const e2e = useE2e({ CARHOST_ECHO_DELAY_MS: '15', CARHOST_TOOLBOX_DELAY_MS: '0' })

/**
 * How far the end of the message list is below its view, in pixels, read once
 * the current frame is drawn (its text rendered, laid out and followed) and
 * before the next one adds more.
 */
function distanceFromEnd(page: Page): Promise<number> {
  return page.evaluate(`new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => {
    const el = document.querySelector('[data-testid=message-list]')
    resolve(el.scrollHeight - el.scrollTop - el.clientHeight)
  }, 0)))`) as Promise<number>
}

/** The bottom of the element below the bottom of the message list's view (negative: inside it). */
function belowView(page: Page, selector: string): Promise<number> {
  return page.evaluate(`(() => {
    const list = document.querySelector('[data-testid=message-list]').getBoundingClientRect()
    const el = [...document.querySelectorAll(${JSON.stringify(selector)})].at(-1)
    return el ? el.getBoundingClientRect().bottom - list.bottom : Infinity
  })()`) as Promise<number>
}

/**
 * `send` for a conversation longer than the view: it counts the replies in the
 * DOM, which virtualisation changes. This waits for the prompt, then takes the
 * reply after it.
 */
async function sendInLongConversation(page: Page, prompt: string): Promise<Reply> {
  await page.getByTestId('composer').fill(prompt)
  await page.getByTestId('send').click()
  const promptRow = page.locator('.chat__row', { has: page.locator('[data-testid=message][data-role=user]', { hasText: prompt.slice(0, 60) }) })
  const reply = promptRow.locator('xpath=following-sibling::div[1]').locator('[data-testid=message][data-role=assistant]')
  const sessionId = await reply.getAttribute('data-session-id', { timeout: UI_TIMEOUT_MS })
  if (!sessionId) throw new Error('the new reply has no data-session-id')
  return new Reply(page, sessionId)
}

/** Waits until the reply still streaming shows `word` (the page's own CSP forbids string predicates). */
async function streamedUpTo(page: Page, word: string): Promise<void> {
  await page.locator('[data-testid=message][data-state=streaming] .markdown', { hasText: `${word} ` }).waitFor({ timeout: UI_TIMEOUT_MS })
}

async function expectNoSeriousViolations(page: Page, screen: string): Promise<void> {
  expect(await violationsInBothThemes(page), `axe on the ${screen} screen`).toEqual({})
}

describe('the window as people use it', () => {
  it('follows the answer after a pasted prompt, stops when the user scrolls up, and brings a sent prompt into view', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    const page = tab.page
    for (let i = 0; i < 3; i++) await (await send(page, words(`early${i}`, 40))).waitForState('done')

    // A pasted 300-word prompt grows the composer.
    const reply = await sendInLongConversation(page, words('paste', 300))
    await reply.waitForFirstText()
    await streamedUpTo(page, 'paste-100')
    // Tokens keep arriving, so the view is at the end again once the latest one is laid out.
    await expect.poll(() => distanceFromEnd(page), { message: 'following mid-stream', timeout: UI_TIMEOUT_MS }).toBeLessThanOrEqual(2)
    await reply.waitForState('done')
    expect(await distanceFromEnd(page)).toBeLessThanOrEqual(2)
    expect(await belowView(page, '[data-testid=message][data-role=assistant]')).toBeLessThanOrEqual(2)

    // Scrolling up while a reply streams: the view stays, and "Jump to latest" brings it back.
    const second = await sendInLongConversation(page, words('scroll', 300))
    await second.waitForFirstText()
    await page.getByTestId('message-list').hover()
    await page.mouse.wheel(0, -600)
    await page.getByTestId('jump-to-latest').waitFor({ timeout: UI_TIMEOUT_MS })
    const top = await page.getByTestId('message-list').evaluate((el) => el.scrollTop)
    await streamedUpTo(page, 'scroll-200')
    expect(await page.getByTestId('message-list').evaluate((el) => el.scrollTop)).toBe(top)
    expect(await distanceFromEnd(page)).toBeGreaterThan(100)
    await screenshot(page, 'jump-to-latest')
    await page.getByTestId('jump-to-latest').click()
    await expect.poll(() => distanceFromEnd(page), { timeout: UI_TIMEOUT_MS }).toBeLessThanOrEqual(2)
    await second.waitForState('done')

    // From the very top, a sent prompt is shown.
    await page.getByTestId('message-list').evaluate((el) => el.scrollTo({ top: 0 }))
    await page.getByTestId('message-list').hover()
    await page.mouse.wheel(0, -100)
    await (await sendInLongConversation(page, 'sent from the top')).waitForState('done')
    expect(await belowView(page, '[data-testid=message][data-role=user]')).toBeLessThanOrEqual(2)
    expect(await distanceFromEnd(page)).toBeLessThanOrEqual(2)
    expect(tab.consoleErrors.filter((line) => line.startsWith("uncaught")), "uncaught errors").toEqual([])
  })

  it('narrow windows: the sidebar hides behind a button, long words and code fit', async () => {
    const page = await e2e.context.newPage()
    await page.setViewportSize({ width: 420, height: 720 })
    await page.goto(e2e.hub.pageUrl)
    await page.getByTestId('sidebar-toggle').waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.locator('.sidebar').isVisible()).toBe(false)
    const chatWidth = await page.getByTestId('chat').evaluate((el) => el.getBoundingClientRect().width)
    expect(chatWidth).toBeGreaterThanOrEqual(400)

    const longWord = 'x'.repeat(300)
    const reply = await send(page, `${longWord}\n\n\`\`\`\n${'code '.repeat(60)}\n\`\`\``)
    await reply.waitForState('done')
    const markdown = reply.locator.locator('.markdown')
    // Nothing sticks out of the message; the code block scrolls sideways instead of wrapping.
    expect(await markdown.evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true)
    const pre = reply.locator.locator('pre')
    expect(await pre.evaluate((el) => [el.ownerDocument.defaultView!.getComputedStyle(el).overflowX, el.scrollWidth > el.clientWidth])).toEqual(['auto', true])
    expect(await pre.evaluate((el) => el.getBoundingClientRect().height)).toBeLessThan(80)
    await screenshot(page, 'narrow')

    await page.getByTestId('sidebar-toggle').click()
    await agentItem(page, 'echo', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.getByTestId('sidebar-toggle').getAttribute('aria-expanded')).toBe('true')
    await screenshot(page, 'narrow-sidebar')
    await expectNoSeriousViolations(page, 'narrow')
    await page.keyboard.press('Escape')
    expect(await page.locator('.sidebar').isVisible()).toBe(false)
  })

  it('deletes a conversation by keyboard alone', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    const page = tab.page
    await (await send(page, 'to be deleted by keyboard')).waitForState('done')
    const item = page.locator('[data-testid=conversation]:not([data-draft])', { hasText: 'to be deleted by keyboard' })
    await item.waitFor({ timeout: UI_TIMEOUT_MS })
    await item.locator('.conversation-item__main').focus()
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    const focused = page.locator(':focus')
    expect(await focused.getAttribute('data-testid')).toBe('delete')
    expect(await focused.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).opacity)).toBe('1')
    await page.keyboard.press('Enter')
    expect(await page.locator(':focus').getAttribute('data-testid')).toBe('cancel-delete')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await item.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  })

  it('a tab keeps its access across reloads and takes a pasted link; a wrong one gets one clear screen', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    const page = tab.page
    await page.reload()
    await agentItem(page, 'echo', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
    expect(page.url()).not.toContain('token')
    expect(await page.context().cookies()).toEqual([])
    expect(await page.evaluate('localStorage.length')).toBe(0)

    // A wrong link pasted into the tab: the fragment changes, the tab takes it at once.
    await page.evaluate(`location.hash = '#token=not-the-token'`)
    await page.getByTestId('access-refused').waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.getByRole('alert').count()).toBe(1)
    expect(await page.getByText('No agent').count()).toBe(0)
    await screenshot(page, 'access-refused')
    await expectNoSeriousViolations(page, 'access refused')

    // The right link pasted again: back in.
    await page.evaluate(`location.hash = '#token=${encodeURIComponent(e2e.hub.token)}'`)
    await agentItem(page, 'echo', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
  })

  it('axe-core finds no serious or critical problem on any screen, light or dark', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    const page = tab.page
    await expectNoSeriousViolations(page, 'empty')
    await screenshot(page, 'empty-light')

    const reply = await send(page, '# Heading\n\nSome **bold** text, a [link](https://example.org) and `code`.\n\n```\nconst a = 1\n```')
    await reply.waitForState('done')
    await expectNoSeriousViolations(page, 'chatting')
    await screenshot(page, 'chat-light')
    await page.emulateMedia({ colorScheme: 'dark' })
    await screenshot(page, 'chat-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    // Settings.
    await page.getByTestId('open-settings').click()
    await page.getByTestId('settings').waitFor({ timeout: UI_TIMEOUT_MS })
    await expectNoSeriousViolations(page, 'settings')
    await screenshot(page, 'settings-light')
    await page.getByTestId('settings-close').click()

    // Tool rows and an approval.
    await agentItem(page, 'toolbox', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
    await agentItem(page, 'toolbox').getByRole('button', { name: /Toolbox/ }).click()
    const tools = await send(page, 'calculate 2 + 2')
    await tools.locator.getByTestId('approval').waitFor({ timeout: UI_TIMEOUT_MS })
    await expectNoSeriousViolations(page, 'approval')
    await screenshot(page, 'approval-light')
    await tools.locator.getByTestId('approve').click()
    await tools.waitForState('done')
    await tools.locator.locator('.tool-call__header').click()
    await expectNoSeriousViolations(page, 'tool rows')

    // Errors: a tool that failed, then a turn the hub refuses (its agent is stopped).
    const failedTool = await send(page, 'calculate 1/0')
    await failedTool.locator.getByTestId('approve').click({ timeout: UI_TIMEOUT_MS })
    await failedTool.waitForState('done')
    await e2e.observer.client.call('agents.stop', { agent_id: 'toolbox' })
    await agentItem(page, 'toolbox', 'stopped').waitFor({ timeout: UI_TIMEOUT_MS })
    try {
      await page.getByTestId('new-chat').click()
      await agentItem(page, 'toolbox').getByRole('button', { name: /Toolbox/ }).click()
      await page.getByTestId('composer').fill('to a stopped agent')
      await page.getByTestId('send').click()
      await page.locator('.message__error').waitFor({ timeout: UI_TIMEOUT_MS })
      await expectNoSeriousViolations(page, 'errors')
      await screenshot(page, 'error-light')
    } finally {
      await e2e.observer.client.call('agents.start', { agent_id: 'toolbox' })
    }
  })
})
