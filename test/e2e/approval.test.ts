/** Approval cards in a real browser tab: the toolbox agent asks before it calculates. */
import { describe, expect, it } from 'vitest'
import { useE2e } from './support/fixture.js'
import { agentItem, openApp, screenshot, send, UI_TIMEOUT_MS, type AppTab } from './support/ui.js'

const e2e = useE2e({ CARHOST_TOOLBOX_DELAY_MS: '0' })

/** Points the open conversation at the toolbox agent, the way a user does: in the agent list. */
async function chatWithToolbox(tab: AppTab): Promise<void> {
  await agentItem(tab.page, 'toolbox', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
  await agentItem(tab.page, 'toolbox').getByRole('button', { name: /Toolbox/ }).click()
  await tab.page.locator('[data-testid=composer][placeholder="Message Toolbox…"]').waitFor({ timeout: UI_TIMEOUT_MS })
}

/** `getComputedStyle(el).backgroundColor` of the first element matching `selector` (runs in the page). */
function backgroundOf(tab: AppTab, selector: string): Promise<unknown> {
  return tab.page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).backgroundColor`)
}

describe('approvals in the browser', () => {
  it('Approve lets the tool run and the turn completes with its result', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    await chatWithToolbox(tab)
    const reply = await send(tab.page, 'calculate 2 + 3 * 4')

    const approval = reply.locator.getByTestId('approval')
    await approval.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await approval.getAttribute('data-status')).toBe('pending')
    expect(await approval.innerText()).toContain('calculate')
    expect(await approval.innerText()).toContain('2 + 3 * 4')
    // The agent waits on the decision: the turn is still open and the tool has no result.
    expect(await reply.state()).toBe('streaming')
    expect(await reply.locator.getByTestId('tool-call').getAttribute('data-outcome')).toBe('running')
    await screenshot(tab.page, 'approval-card')

    await approval.getByTestId('approve').click()
    await reply.waitForState('done')
    expect(await reply.text()).toContain('2 + 3 * 4 = 14')
    expect(await approval.getAttribute('data-status')).toBe('approved')
    expect(await reply.locator.getByTestId('tool-call').getAttribute('data-outcome')).toBe('ok')
    expect(await approval.getByTestId('approve').count(), 'a decided card offers no buttons').toBe(0)
    await screenshot(tab.page, 'approval-approved')

    const light = await backgroundOf(tab, '.chat')
    await tab.page.emulateMedia({ colorScheme: 'dark' })
    expect(await backgroundOf(tab, '.chat'), 'the window follows a dark colour scheme').not.toBe(light)
    await screenshot(tab.page, 'dark-theme')
    expect(tab.consoleErrors).toEqual([])
  })

  it('Deny completes the turn with a denial and no result', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    await chatWithToolbox(tab)
    const reply = await send(tab.page, 'calculate 6 * 7')

    const approval = reply.locator.getByTestId('approval')
    await approval.getByTestId('deny').click({ timeout: UI_TIMEOUT_MS })
    await reply.waitForState('done')
    const text = await reply.text()
    expect(text).toContain('You denied the calculation')
    expect(text).not.toContain('42')
    expect(await approval.getAttribute('data-status')).toBe('denied')
    expect(await reply.locator.getByTestId('tool-call').getAttribute('data-outcome'), 'a denied call did not fail').toBe('denied')
    expect((await e2e.observer.client.call('hub.stats')).sessions_active).toBe(0)
    await screenshot(tab.page, 'approval-denied')
    expect(tab.consoleErrors).toEqual([])
  })
})
