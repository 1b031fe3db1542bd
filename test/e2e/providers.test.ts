/**
 * A model provider added in the settings view of a real browser tab (PROTOCOL.md
 * §12), against a mock OpenAI-format server on 127.0.0.1, with a tool of a stdio
 * MCP server from `mcp.json` approved in the chat.
 */
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MockModelServer } from '../fixtures/model-servers/mock-model-server.js'
import { openAiFormat } from '../fixtures/model-servers/openai-format.js'
import { useE2e } from './support/fixture.js'
import { agentItem, openApp, screenshot, send, UI_TIMEOUT_MS } from './support/ui.js'

const ROOT = resolve(import.meta.dirname, '../..')
const MCP_FIXTURE = resolve(ROOT, 'test/fixtures/mcp/fixture-server.ts')

const e2e = useE2e(
  {},
  {
    files: {
      'mcp.json': JSON.stringify({ mcpServers: { calc: { command: process.execPath, args: ['--import', 'tsx', MCP_FIXTURE] } } }),
    },
  },
)

let server: MockModelServer
beforeAll(async () => {
  server = await MockModelServer.start(openAiFormat)
  server.models({ kind: 'list', models: [{ id: 'mock-small' }, { id: 'mock-large' }] })
})
afterAll(async () => {
  await server?.close()
})

describe('model providers in the browser', () => {
  it('adds a provider in the settings, chats with it, approves its MCP tool, and shows the answer with its usage', async () => {
    const tab = await openApp(e2e.context, e2e.hub.pageUrl)
    const { page } = tab

    // No provider yet: the first-start screen leads into the settings.
    await page.getByTestId('first-start').waitFor({ timeout: UI_TIMEOUT_MS })
    await screenshot(page, 'first-start')
    await page.getByTestId('first-start-add').click()
    await page.getByTestId('preset-custom').check()
    await page.getByTestId('provider-id').fill('mock')
    await page.getByTestId('provider-name').fill('Mock server')
    await page.getByTestId('provider-base_url').fill(`${server.origin}/v1`)
    await page.getByTestId('provider-default_model').fill('mock-large')
    await page.getByTestId('provider-test').click()
    const result = page.locator('[data-testid=test-result][data-outcome=models]')
    await result.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await result.locator('li').allInnerTexts()).toEqual(['mock-small', 'mock-large default'])
    await screenshot(page, 'provider-tested')
    await page.getByRole('button', { name: 'Close' }).click()
    const row = page.locator('[data-testid=provider-row][data-provider-id=mock][data-status=running]')
    await row.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await row.getByTestId('provider-models').innerText()).toBe('2 models')
    await page.getByTestId('settings-close').click()

    // The model answers with a call of the MCP server's tool, then with text once it has the result.
    server.reply(
      { kind: 'stream', text: ['Let me add that.'], toolCalls: [{ id: 'call_1', name: 'calc__add', arguments: '{"a": 2, "b": 40}' }], usage: { input: 30, output: 8 } },
      { kind: 'stream', text: ['The sum', ' is 42.'], usage: { input: 50, output: 6 } },
    )
    await agentItem(page, 'mock', 'running').getByRole('button', { name: /Mock server/ }).click()
    await page.locator('[data-testid=composer][placeholder="Message Mock server…"]').waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.getByTestId('model-picker').inputValue()).toBe('mock-large')
    await page.getByTestId('model-picker').selectOption('mock-small')
    const reply = await send(page, 'What is 2 + 40?')

    const approval = reply.locator.getByTestId('approval')
    await approval.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await approval.innerText()).toContain('calc.add')
    expect(await approval.innerText()).toContain('40')
    // The tool has not run: the model has had one request only.
    expect(server.chatRequests()).toHaveLength(1)
    await screenshot(page, 'provider-approval')
    await approval.getByTestId('approve').click()

    await reply.waitForState('done')
    expect(await reply.text()).toContain('The sum is 42.')
    expect(await reply.locator.getByTestId('tool-call').getAttribute('data-outcome')).toBe('ok')
    const usage = reply.locator.getByTestId('usage')
    expect(await usage.innerText()).toBe('mock-small · 80 in · 14 out')
    await screenshot(page, 'provider-answer')

    // The model was asked for the picked model, and was given the tool's result.
    const [first, second] = server.chatRequests() as Array<{ body: { model: string; messages: Array<{ role: string; content: unknown }> } }>
    expect(first!.body.model).toBe('mock-small')
    expect(second!.body.messages.filter((m) => m.role === 'tool').map((m) => String(m.content))).toEqual([expect.stringContaining('42')])

    // The settings now show the MCP tool this tab saw.
    await page.getByTestId('open-settings').click()
    const seen = page.locator('[data-testid=mcp-provider][data-provider-id=mock] [data-testid=mcp-server][data-server=calc]')
    await seen.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await seen.innerText()).toContain('add')
    expect(tab.consoleErrors).toEqual([])
  })
})
