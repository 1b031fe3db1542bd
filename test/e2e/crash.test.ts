/** An agent process dies mid-reply: the tab that was chatting shows it, the others do not, and the agent comes back. */
import { describe, expect, it } from 'vitest'
import { useE2e } from './support/fixture.js'
import { agentItem, openApp, recordAgentStatuses, screenshot, send, UI_TIMEOUT_MS, words } from './support/ui.js'

const e2e = useE2e({ CARHOST_ECHO_DELAY_MS: '60' })

async function echoAgent() {
  const { agents } = await e2e.observer.client.call('agents.list')
  const echo = agents.find((agent) => agent.id === 'echo')
  if (!echo) throw new Error(`no echo agent in ${JSON.stringify(agents)}`)
  return echo
}

/** `running`, then one or more other statuses (backoff, starting…), then `running` again. */
function cameBack(history: string[]): boolean {
  return history.length >= 3 && history[0] === 'running' && history.at(-1) === 'running' && !history.slice(1, -1).includes('running')
}

describe('agent crash in the browser', () => {
  it('shows the crash in the tab that was chatting only, and the agent list shows echo restart', async () => {
    const a = await openApp(e2e.context, e2e.hub.pageUrl)
    const b = await openApp(e2e.context, e2e.hub.pageUrl)
    // B has talked to echo before and is idle when it dies.
    const earlier = await send(b.page, 'hello from tab b')
    await earlier.waitForState('done')

    const before = await echoAgent()
    expect(before.status).toBe('running')
    expect(before.pid).toBeTypeOf('number')

    // 300 words at 60 ms: it is still streaming when the process is killed.
    const prompt = words('dune', 300)
    const reply = await send(a.page, prompt)
    await reply.waitForFirstText()
    const historyA = await recordAgentStatuses(a.page, 'echo')
    const historyB = await recordAgentStatuses(b.page, 'echo')
    process.kill(before.pid!, 'SIGKILL')

    await reply.waitForState('error')
    const alert = reply.locator.getByRole('alert')
    expect(await alert.getAttribute('data-reason')).toBe('agent_exited')
    expect(await alert.innerText()).toContain('The agent crashed.')
    expect(prompt.startsWith(await reply.text())).toBe(true)
    await screenshot(a.page, 'error')

    // The hub restarts it: a new process...
    await expect
      .poll(async () => {
        const echo = await echoAgent()
        return echo.status === 'running' && echo.pid !== before.pid
      }, { timeout: UI_TIMEOUT_MS })
      .toBe(true)
    expect((await echoAgent()).restart_count).toBeGreaterThan(before.restart_count)
    // ...and both tabs' agent lists showed it go down and come back.
    for (const history of [historyA, historyB]) {
      await expect.poll(history, { timeout: UI_TIMEOUT_MS }).toSatisfy(cameBack)
    }
    await agentItem(a.page, 'echo', 'running').waitFor({ timeout: UI_TIMEOUT_MS })
    await screenshot(a.page, 'agent-restarted')

    // Tab B saw none of it: its one reply is still done and nothing is in error.
    expect(await earlier.state()).toBe('done')
    expect(await b.page.locator('[data-testid=message][data-state=error]').count()).toBe(0)
    expect(await b.page.getByRole('alert').count()).toBe(0)
    expect(b.consoleErrors).toEqual([])

    // Tab A can talk to the restarted agent.
    const again = await send(a.page, 'are you back')
    await again.waitForState('done')
    expect(await again.text()).toBe('are you back')
    expect((await e2e.observer.client.call('hub.stats')).sessions_active).toBe(0)
    expect(a.consoleErrors).toEqual([])
  })
})
