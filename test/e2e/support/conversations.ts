import type { Locator, Page } from 'playwright-core'
import type { z } from 'zod'
import { isTerminalKind } from '../../../src/protocol/chat-events.js'
import { ConversationMethods } from '../../../src/protocol/conversations.js'
import { UI_TIMEOUT_MS } from './ui.js'
import type { WsHost } from './ws-host.js'

type Method = keyof typeof ConversationMethods

/** A §11 method from the tests' own host, its result parsed with the protocol's schema. */
export async function callConversations<M extends Method>(
  host: WsHost,
  method: M,
  params: z.input<(typeof ConversationMethods)[M]['params']>,
): Promise<z.infer<(typeof ConversationMethods)[M]['result']>> {
  return ConversationMethods[method].result.parse(await host.request(method, params)) as z.infer<(typeof ConversationMethods)[M]['result']>
}

let turns = 0

/** One recorded turn from the tests' host: resolves with the kind of its terminal event once the agent ended it. */
export async function recordedTurn(host: WsHost, params: { agent_id: string; prompt: string; conversation_id: string }): Promise<string> {
  const sessionId = `e2e-turn-${process.pid}-${++turns}`
  let stop = () => {}
  const ended = new Promise<string>((resolve) => {
    stop = host.onNotification(({ method, params: event }) => {
      if (method !== 'agents.chat.event' || typeof event !== 'object' || event === null) return
      const { session_id, kind } = event as { session_id?: unknown; kind?: unknown }
      if (session_id === sessionId && typeof kind === 'string' && isTerminalKind(kind)) resolve(kind)
    })
  })
  try {
    await host.request('agents.chat', { ...params, session_id: sessionId })
    return await ended
  } finally {
    stop()
  }
}

/** The sidebar's entries of the hub's conversations (not this tab's unsent draft). */
export function conversationItems(page: Page): Locator {
  return page.locator('[data-testid=conversation]:not([data-draft])')
}

export function conversationItem(page: Page, conversationId: string): Locator {
  return page.locator(`[data-testid=conversation][data-conversation-id="${conversationId}"]`)
}

/** Opens a conversation from the sidebar and waits until the chat shows it. */
export async function openConversation(page: Page, conversationId: string): Promise<void> {
  await conversationItem(page, conversationId).locator('.conversation-item__main').click({ timeout: UI_TIMEOUT_MS })
  await page.locator(`[data-testid=chat][data-conversation-id="${conversationId}"]`).waitFor({ timeout: UI_TIMEOUT_MS })
}

/** The id of the conversation the tab shows. */
export async function shownConversationId(page: Page): Promise<string> {
  const id = await page.getByTestId('chat').getAttribute('data-conversation-id')
  if (!id) throw new Error('the chat shows no conversation id')
  return id
}

/** The texts of the messages the tab has rendered, in order (user prompts, reply Markdown). */
export async function renderedTexts(page: Page): Promise<string[]> {
  const messages = page.locator('[data-testid=message]')
  const texts: string[] = []
  for (const message of await messages.all()) {
    const role = await message.getAttribute('data-role')
    texts.push(role === 'user' ? await message.getByTestId('message-text').innerText() : (await message.locator('.markdown').allInnerTexts()).join('\n').trim())
  }
  return texts
}
