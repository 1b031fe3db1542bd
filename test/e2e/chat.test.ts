/**
 * Chat in real browser tabs on the real headless hub: two tabs streaming from the
 * same agent at once, and Stop. Echo is slowed down so that streams take seconds.
 */
import { describe, expect, it } from 'vitest'
import { useE2e } from './support/fixture.js'
import { agentItem, assistantMessages, openApp, screenshot, send, UI_TIMEOUT_MS, watch, words } from './support/ui.js'

/** Echo pauses 60 ms per word: a 50-word reply streams for about 3 s. */
const e2e = useE2e({ CARHOST_ECHO_DELAY_MS: '60' })

async function sessionsActive(): Promise<number> {
  return (await e2e.observer.client.call('hub.stats')).sessions_active
}

describe('chat in the browser', () => {
  it('two tabs chat with echo at the same time and each shows only its own reply', async () => {
    const a = await openApp(e2e.context, e2e.hub.pageUrl)
    expect(a.page.url(), 'the page keeps the token out of its address').not.toContain('token')
    await screenshot(a.page, 'agent-list')

    // The second tab comes from the UI's own "New window" button.
    const [pageB] = await Promise.all([e2e.context.waitForEvent('page'), a.page.getByTestId('new-window').click()])
    const b = watch(pageB)
    await agentItem(b.page, 'echo', 'running').waitFor({ timeout: UI_TIMEOUT_MS })

    const promptA = words('amber', 50)
    const promptB = words('birch', 50)
    const replyA = await send(a.page, promptA)
    await replyA.waitForFirstText()
    const replyB = await send(b.page, promptB)
    await replyB.waitForFirstText()

    // Both replies are monotone (streaming, then done). B was streaming just now; the
    // hub's count is read next; if both still stream after it, both were live throughout.
    const active = await sessionsActive()
    const stateB = await replyB.state()
    const stateA = await replyA.state()
    const partialA = await replyA.text()
    const partialB = await replyB.text()
    expect([stateA, stateB], 'the two streams did not overlap (raise CARHOST_ECHO_DELAY_MS?)').toEqual(['streaming', 'streaming'])
    expect(active).toBe(2)
    expect(partialA.length).toBeLessThan(promptA.length)
    expect(promptA.startsWith(partialA)).toBe(true)
    expect(promptB.startsWith(partialB)).toBe(true)
    await screenshot(a.page, 'streaming')

    await Promise.all([replyA.waitForState('done'), replyB.waitForState('done')])
    const finalA = await replyA.text()
    const finalB = await replyB.text()
    expect(finalA).toBe(promptA)
    expect(finalB).toBe(promptB)
    expect(finalA).not.toContain('birch')
    expect(finalB).not.toContain('amber')
    // One prompt and one reply per tab: nothing of the other tab's turn leaked in.
    expect(await assistantMessages(a.page).count()).toBe(1)
    expect(await assistantMessages(b.page).count()).toBe(1)
    expect(await a.page.locator('[data-testid=message][data-role=user]').allInnerTexts()).toEqual([promptA])
    expect(await b.page.locator('[data-testid=message][data-role=user]').allInnerTexts()).toEqual([promptB])
    await expect.poll(sessionsActive).toBe(0)
    expect(a.consoleErrors).toEqual([])
    expect(b.consoleErrors).toEqual([])
  })

  it('Stop ends a streaming turn as cancelled and the hub drops the session', async () => {
    const a = await openApp(e2e.context, e2e.hub.pageUrl)
    // 300 words at 60 ms: 18 s if Stop did nothing.
    const prompt = words('cedar', 300)
    const reply = await send(a.page, prompt)
    await reply.waitForFirstText()
    expect(await sessionsActive()).toBe(1)

    await a.page.getByTestId('stop').click()
    await reply.waitForState('cancelled')
    await screenshot(a.page, 'cancelled')

    const text = await reply.text()
    expect(text.length, 'the reply was cut short').toBeLessThan(prompt.length)
    expect(prompt.startsWith(text)).toBe(true)
    expect(await reply.locator.innerText()).toContain('Stopped.')
    await expect.poll(sessionsActive).toBe(0)
    // The composer offers Send again, and the agent takes the next turn.
    await a.page.getByTestId('send').waitFor({ timeout: UI_TIMEOUT_MS })
    const next = await send(a.page, 'after the stop')
    await next.waitForState('done')
    expect(await next.text()).toBe('after the stop')
    expect(await reply.state()).toBe('cancelled')
    expect(a.consoleErrors).toEqual([])
  })
})
