import { act, cleanup, fireEvent, render, within } from '@testing-library/react'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { AppController, type ConversationMemory } from '../../src/renderer/src/model/app-controller.js'
import { App } from '../../src/renderer/src/ui/App.js'
import type { UiEnvironment } from '../../src/renderer/src/ui/controller-context.js'
import { FakeBridge, FakeConversationHub, agent, manualFrames } from './helpers/fake-bridge.js'
import { ROW_HEIGHT, VIEW_HEIGHT, installLayout } from './helpers/layout.js'

let uninstallLayout: () => void
beforeAll(() => (uninstallLayout = installLayout()))
afterAll(() => uninstallLayout())
afterEach(cleanup)

/** sessionStorage of one window: it outlives a reload, not the window. */
function memory(): ConversationMemory & { values: Map<string, string> } {
  const values = new Map<string, string>()
  return { values, getItem: (key) => values.get(key) ?? null, setItem: (key, value) => void values.set(key, value) }
}

let windows = 0

/** One CarHost window on `hub`: its own bridge (host), controller and DOM. */
async function openWindow(hub: FakeConversationHub, remembered = memory(), environment: Partial<UiEnvironment> = {}) {
  const bridge = new FakeBridge([agent('echo', 'Echo')], {}, hub)
  const frames = manualFrames()
  const tag = ++windows
  let n = 0
  const controller = new AppController(bridge, {
    chat: { scheduleFrame: frames.schedule },
    newId: (prefix) => `${prefix}-w${tag}-${++n}`,
    memory: remembered,
    // Message validation yields between slices; here, to a microtask, so that `act` sees it through.
    yieldTask: () => Promise.resolve(),
  })
  const view = render(<App controller={controller} environment={{ kind: 'browser', openNewWindow: async () => {}, ...environment }} />)
  await act(() => controller.start())
  const ui = within(view.container)
  const w = {
    bridge,
    controller,
    memory: remembered,
    ui,
    frame: () => act(() => frames.run()),
    messages: () => ui.queryAllByTestId('message'),
    texts: () => ui.queryAllByTestId('message').map((m) => (m.dataset.role === 'user' ? within(m).getByTestId('message-text').textContent : m.querySelector('.markdown')?.textContent ?? '')),
    /** The hub's conversations in the sidebar (a draft of this window not among them). */
    listed: () =>
      ui
        .queryAllByTestId('conversation')
        .filter((c) => c.dataset.draft === undefined)
        .map((c) => c.querySelector('.conversation-item__title')!.textContent),
    item: (title: string) => ui.getAllByTestId('conversation').find((c) => c.querySelector('.conversation-item__title')!.textContent === title)!,
    /** Closes the window (a reload ends with this, then a new window on the same memory). */
    close: () => {
      view.unmount()
      controller.dispose()
      hub.hosts.delete(bridge)
    },
    async send(prompt: string) {
      fireEvent.change(ui.getByTestId('composer'), { target: { value: prompt } })
      await act(async () => fireEvent.click(ui.getByTestId('send')))
      return (bridge.callsOf('agents.chat').at(-1) as { session_id: string }).session_id
    },
    /** Streams `answer` for the session and ends it, as the agent would. */
    async answer(sessionId: string, answer: string) {
      await act(async () => {
        bridge.chatEvent({ session_id: sessionId, kind: 'token', delta: answer })
        bridge.chatEvent({ session_id: sessionId, kind: 'done', finish_reason: 'stop' })
      })
      w.frame()
      // The window fetches the finished turn back (its message ids).
      await vi.waitFor(() => expect(w.messages().at(-1)!.dataset.messageId).toBeDefined())
    },
  }
  return w
}

describe('conversations recorded by the hub', () => {
  it('every chat names its conversation, a new one with an id of the protocol pattern', async () => {
    const hub = new FakeConversationHub()
    const a = await openWindow(hub)
    await a.send('hello')
    const [params] = a.bridge.callsOf('agents.chat') as Array<{ conversation_id: string }>
    expect(params!.conversation_id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
    expect(hub.conversation(params!.conversation_id)).toMatchObject({ title: 'hello', busy: true })
  })

  it('a reload reopens the conversation the window showed, from the hub', async () => {
    const hub = new FakeConversationHub()
    const a = await openWindow(hub)
    await a.answer(await a.send('remember me'), 'I will.')
    a.close()

    const reloaded = await openWindow(hub, a.memory)
    expect(reloaded.texts()).toEqual(['remember me', 'I will.'])
    expect(reloaded.ui.getByTestId('chat-title').textContent).toBe('remember me')
    expect(reloaded.bridge.callsOf('agents.chat')).toEqual([])
    // And it goes on in the same conversation.
    await reloaded.send('and this?')
    const conversationId = (a.bridge.callsOf('agents.chat')[0] as { conversation_id: string }).conversation_id
    expect(reloaded.bridge.callsOf('agents.chat')).toEqual([expect.objectContaining({ conversation_id: conversationId, prompt: 'and this?' })])
  })

  it('a reload of a window whose conversation was deleted meanwhile starts a new chat', async () => {
    const hub = new FakeConversationHub()
    const a = await openWindow(hub)
    await a.answer(await a.send('soon gone'), 'ok')
    a.close()
    const id = [...a.memory.values.values()][0]!
    hub.handle('conversations.delete', { conversation_id: id })
    const reloaded = await openWindow(hub, a.memory)
    expect(reloaded.messages()).toEqual([])
    expect(reloaded.ui.getAllByTestId('conversation').map((c) => c.dataset.draft)).toEqual(['true'])
  })

  it('a second window sees the first one’s new conversation appear, busy, then finished', async () => {
    const hub = new FakeConversationHub()
    const a = await openWindow(hub)
    const b = await openWindow(hub)
    expect(b.listed()).toEqual([])
    const session = await a.send('news from A')
    expect(b.listed()).toEqual(['news from A'])
    expect(b.item('news from A').dataset.busy).toBe('true')
    await a.answer(session, 'answered in A')
    expect(b.item('news from A').dataset.busy).toBe('false')
    await act(async () => fireEvent.click(within(b.item('news from A')).getAllByRole('button')[0]!))
    expect(b.texts()).toEqual(['news from A', 'answered in A'])
  })

  it('a conversation busy in another window says so, its composer waits, and the answer shows when it ends', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-shared', [['first question', 'first answer']])
    const b = await openWindow(hub)
    await act(async () => fireEvent.click(within(b.item('first question')).getAllByRole('button')[0]!))
    act(() => void hub.startForeignTurn('conv-shared', 'second question'))
    await vi.waitFor(() => expect(b.texts()).toContain('second question'))
    expect(b.ui.getByTestId('busy-elsewhere')).toBeTruthy()
    fireEvent.change(b.ui.getByTestId('composer'), { target: { value: 'me too' } })
    expect((b.ui.getByTestId('send') as HTMLButtonElement).disabled).toBe(true)

    act(() => hub.finishForeignTurn('conv-shared', 'second answer'))
    await vi.waitFor(() => expect(b.texts()).toEqual(['first question', 'first answer', 'second question', 'second answer']))
    expect(b.ui.queryByTestId('busy-elsewhere')).toBeNull()
    expect((b.ui.getByTestId('send') as HTMLButtonElement).disabled).toBe(false)
  })

  it('search finds a message of any conversation and opens the conversation at it', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-old', [
      ['where is the lighthouse', 'on the northern cape'],
      ['and the harbour', 'south of it'],
    ])
    const a = await openWindow(hub)
    fireEvent.change(a.ui.getByTestId('search'), { target: { value: 'North' } })
    await act(async () => fireEvent.submit(a.ui.getByTestId('search').closest('form')!))
    const results = a.ui.getAllByTestId('search-result')
    expect(a.bridge.callsOf('conversations.search').at(-1)).toEqual({ query: 'North', limit: 50 })
    expect(results).toHaveLength(1)
    expect(results[0]!.textContent).toContain('on the northern cape')
    const messageId = results[0]!.dataset.messageId!

    await act(async () => fireEvent.click(results[0]!))
    expect(a.ui.getByTestId('chat').dataset.conversationId).toBe('conv-old')
    const found = a.ui.getAllByTestId('message').find((m) => m.dataset.messageId === messageId)!
    expect(found.closest('.chat__row')!.hasAttribute('data-highlighted')).toBe(true)
    // Esc clears the search and brings the list back.
    fireEvent.keyDown(a.ui.getByTestId('search'), { key: 'Escape' })
    expect(a.ui.queryByTestId('search-results')).toBeNull()
    expect(a.listed()).toEqual(['where is the lighthouse'])
  })

  it('regenerate truncates the last turn away, then asks again with its prompt', async () => {
    const hub = new FakeConversationHub()
    const a = await openWindow(hub)
    await a.answer(await a.send('one'), 'answer one')
    await a.answer(await a.send('two'), 'answer two')
    const id = (a.bridge.callsOf('agents.chat')[0] as { conversation_id: string }).conversation_id
    const userTwo = hub.messages(id)[2]!
    expect(userTwo).toMatchObject({ role: 'user', text: 'two' })
    const before = a.bridge.calls.length

    await act(async () => fireEvent.click(a.ui.getByTestId('regenerate')))
    const after = a.bridge.calls.slice(before).filter((c) => c.method === 'conversations.truncate' || c.method === 'agents.chat')
    expect(after).toEqual([
      { method: 'conversations.truncate', params: { conversation_id: id, message_id: userTwo.message_id } },
      { method: 'agents.chat', params: expect.objectContaining({ conversation_id: id, prompt: 'two' }) },
    ])
    expect(a.texts()).toEqual(['one', 'answer one', 'two', ''])
    expect(a.messages().at(-1)!.dataset.state).toBe('streaming')
    // Only the last answer offers it.
    expect(a.ui.queryAllByTestId('regenerate')).toHaveLength(0)
  })

  it('editing an earlier prompt truncates from it, then sends the new text', async () => {
    const hub = new FakeConversationHub()
    const a = await openWindow(hub)
    await a.answer(await a.send('first try'), 'answer one')
    await a.answer(await a.send('later'), 'answer two')
    const id = (a.bridge.callsOf('agents.chat')[0] as { conversation_id: string }).conversation_id
    const firstPrompt = hub.messages(id)[0]!
    const before = a.bridge.calls.length

    fireEvent.click(within(a.messages()[0]!.closest('[data-testid=message-block]') as HTMLElement).getByTestId('edit'))
    fireEvent.change(a.ui.getByTestId('edit-input'), { target: { value: 'second try' } })
    await act(async () => fireEvent.click(a.ui.getByTestId('edit-send')))
    const after = a.bridge.calls.slice(before).filter((c) => c.method === 'conversations.truncate' || c.method === 'agents.chat')
    expect(after).toEqual([
      { method: 'conversations.truncate', params: { conversation_id: id, message_id: firstPrompt.message_id } },
      { method: 'agents.chat', params: expect.objectContaining({ conversation_id: id, prompt: 'second try' }) },
    ])
    expect(a.texts()).toEqual(['second try', ''])
    expect(hub.messages(id).map((m) => m.text)).toEqual(['second try', ''])
  })

  it('renames in place: Enter keeps the title, Esc keeps the old one', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-1', [['untitled thoughts', 'ok']])
    const a = await openWindow(hub)
    const b = await openWindow(hub)
    fireEvent.keyDown(within(a.item('untitled thoughts')).getAllByRole('button')[0]!, { key: 'F2' })
    const input = a.ui.getByTestId('rename-input') as HTMLInputElement
    fireEvent.change(input, { target: { value: 'Sea charts' } })
    await act(async () => fireEvent.keyDown(input, { key: 'Enter' }))
    expect(a.bridge.callsOf('conversations.rename')).toEqual([{ conversation_id: 'conv-1', title: 'Sea charts' }])
    expect(a.listed()).toEqual(['Sea charts'])
    expect(b.listed()).toEqual(['Sea charts'])

    fireEvent.click(within(a.item('Sea charts')).getByTestId('rename'))
    fireEvent.change(a.ui.getByTestId('rename-input'), { target: { value: 'never mind' } })
    await act(async () => fireEvent.keyDown(a.ui.getByTestId('rename-input'), { key: 'Escape' }))
    expect(a.bridge.callsOf('conversations.rename')).toHaveLength(1)
    expect(a.listed()).toEqual(['Sea charts'])
  })

  it('delete asks first: neither the button nor the Delete key deletes on its own', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-1', [['keep me', 'ok']])
    hub.seed('conv-2', [['drop me', 'ok']])
    const a = await openWindow(hub)
    const b = await openWindow(hub)

    fireEvent.keyDown(within(a.item('drop me')).getAllByRole('button')[0]!, { key: 'Delete' })
    const dialog = a.ui.getByRole('alertdialog')
    expect(dialog.textContent).toContain('drop me')
    // The focus waits on Cancel, so another stray key press deletes nothing either.
    expect(document.activeElement).toBe(within(dialog).getByTestId('cancel-delete'))
    fireEvent.keyDown(dialog, { key: 'Escape' })
    expect(a.ui.queryByRole('alertdialog')).toBeNull()
    fireEvent.click(within(a.item('drop me')).getByTestId('delete'))
    fireEvent.click(within(a.ui.getByRole('alertdialog')).getByTestId('cancel-delete'))
    expect(a.bridge.callsOf('conversations.delete')).toEqual([])
    expect(a.listed()).toEqual(['drop me', 'keep me'])

    fireEvent.click(within(a.item('drop me')).getByTestId('delete'))
    await act(async () => fireEvent.click(a.ui.getByTestId('confirm-delete-button')))
    expect(a.bridge.callsOf('conversations.delete')).toEqual([{ conversation_id: 'conv-2' }])
    expect(a.listed()).toEqual(['keep me'])
    expect(b.listed()).toEqual(['keep me'])
  })

  it('a conversation deleted elsewhere leaves the window that shows it for a new chat', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-1', [['shown here', 'ok']])
    const a = await openWindow(hub)
    await act(async () => fireEvent.click(within(a.item('shown here')).getAllByRole('button')[0]!))
    expect(a.texts()).toEqual(['shown here', 'ok'])
    act(() => void hub.handle('conversations.delete', { conversation_id: 'conv-1' }))
    expect(a.messages()).toEqual([])
    expect(a.ui.getAllByTestId('conversation').map((c) => c.dataset.draft)).toEqual(['true'])
  })

  it('pages through the list as asked, newest first', async () => {
    const hub = new FakeConversationHub()
    for (let i = 1; i <= 120; i++) hub.seed(`conv-${i}`, [[`topic ${i}`, 'ok']])
    const a = await openWindow(hub)
    expect(a.listed()).toHaveLength(50)
    expect(a.listed()[0]).toBe('topic 120')
    expect(a.bridge.callsOf('conversations.list')).toEqual([{ limit: 50 }])
    await act(async () => fireEvent.click(a.ui.getByTestId('more-conversations')))
    expect(a.listed()).toHaveLength(100)
    await act(async () => fireEvent.click(a.ui.getByTestId('more-conversations')))
    expect(a.listed()).toEqual(Array.from({ length: 120 }, (_, i) => `topic ${120 - i}`))
    expect(a.ui.queryByTestId('more-conversations')).toBeNull()
    expect((a.bridge.callsOf('conversations.list') as Array<{ cursor?: string }>).map((p) => typeof p.cursor)).toEqual(['undefined', 'string', 'string'])
  })

  it('shows recorded states plainly: an interrupted reply says so', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-1', [['long story', 'once upon']])
    hub.messages('conv-1')[1]!.state = 'interrupted'
    const a = await openWindow(hub)
    await act(async () => fireEvent.click(within(a.item('long story')).getAllByRole('button')[0]!))
    expect(a.messages()[1]!.dataset.state).toBe('interrupted')
    expect(a.ui.getByTestId('interrupted').textContent).toContain('Interrupted')
  })

  it('copies a message and exports the conversation as Markdown', async () => {
    const hub = new FakeConversationHub()
    hub.seed('conv-1', [['copy this', 'and this answer']])
    const copied: string[] = []
    const saved: Array<{ fileName: string; text: string }> = []
    const a = await openWindow(hub, memory(), {
      copyText: async (text) => void copied.push(text),
      saveFile: async (file) => void saved.push(file),
    })
    await act(async () => fireEvent.click(within(a.item('copy this')).getAllByRole('button')[0]!))
    await act(async () => fireEvent.click(within(a.messages()[1]!.closest('[data-testid=message-block]') as HTMLElement).getByTestId('copy')))
    expect(copied).toEqual(['and this answer'])
    expect(within(a.messages()[1]!.closest('[data-testid=message-block]') as HTMLElement).getByTestId('copy').textContent).toBe('Copied')
    await act(async () => fireEvent.click(a.ui.getByTestId('export')))
    expect(saved).toHaveLength(1)
    expect(saved[0]!.fileName).toBe('copy-this-conv-1.md')
    expect(saved[0]!.text).toMatch(/^## You · \S+\n\ncopy this/m)
    expect(saved[0]!.text).toContain('and this answer')
  })

  it('a conversation of 2,000 messages opens at its end with only a window of them in the DOM', async () => {
    const hub = new FakeConversationHub()
    hub.seed(
      'conv-long',
      Array.from({ length: 1000 }, (_, i): [string, string] => [`question ${i}`, `answer ${i}`]),
    )
    const a = await openWindow(hub)
    await act(async () => fireEvent.click(within(a.item('question 0')).getAllByRole('button')[0]!))
    await vi.waitFor(() => expect(a.ui.getByTestId('message-list').dataset.count).toBe('2000'))
    const rendered = a.messages()
    // The view holds VIEW_HEIGHT / ROW_HEIGHT rows; the virtualiser adds a few on each side.
    expect(rendered.length).toBeGreaterThanOrEqual(VIEW_HEIGHT / ROW_HEIGHT)
    expect(rendered.length).toBeLessThan(30)
    expect(a.texts().at(-1)).toBe('answer 999')
  })
})
