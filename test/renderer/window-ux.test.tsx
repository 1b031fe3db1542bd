/** Issue 10: the window as people use it (follow, smooth long replies, agents per message, a11y, tokens, polish). */
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { tabToken, TOKEN_STORAGE_KEY, watchAccessLink } from '../../src/renderer/src/bridge/environment.js'
import { AppController } from '../../src/renderer/src/model/app-controller.js'
import type { AssistantMessage, AssistantPart } from '../../src/renderer/src/model/chat-message.js'
import { FollowState } from '../../src/renderer/src/model/follow.js'
import { announcement } from '../../src/renderer/src/ui/announcement.js'
import { App } from '../../src/renderer/src/ui/App.js'
import type { UiEnvironment } from '../../src/renderer/src/ui/controller-context.js'
import { LONG_PROMPT_CHARS } from '../../src/renderer/src/ui/MessageView.js'
import { plainTitle } from '../../src/renderer/src/ui/plain-title.js'
import { shownParts } from '../../src/renderer/src/ui/reply-parts.js'
import { FakeBridge, agent, manualFrames } from './helpers/fake-bridge.js'
import { installLayout, VIEW_HEIGHT } from './helpers/layout.js'

let uninstallLayout: () => void
beforeAll(() => (uninstallLayout = installLayout()))
afterAll(() => uninstallLayout())
afterEach(() => {
  cleanup()
  window.sessionStorage.clear()
  window.history.replaceState(null, '', '/')
})

async function mount(bridge = new FakeBridge([agent('echo', 'Echo'), agent('toolbox', 'Toolbox')])) {
  const frames = manualFrames()
  let n = 0
  const controller = new AppController(bridge, {
    chat: { scheduleFrame: frames.schedule, newConversationId: () => `conv-${++n}` },
    memory: null,
    newId: (prefix) => `${prefix}-${++n}`,
  })
  const copied: string[] = []
  const environment: UiEnvironment = { kind: 'browser', openNewWindow: vi.fn(async () => {}), copyText: async (text) => void copied.push(text) }
  const view = render(<App controller={controller} environment={environment} />)
  await act(() => controller.start())
  const frame = () => act(() => frames.run())
  return { bridge, controller, view, frame, copied }
}

const composer = () => screen.getByTestId('composer') as HTMLTextAreaElement
const replies = () => screen.queryAllByTestId('message').filter((m) => m.dataset.role === 'assistant')
const list = () => screen.getByTestId('message-list')

async function send(text: string) {
  fireEvent.change(composer(), { target: { value: text } })
  await act(async () => fireEvent.keyDown(composer(), { key: 'Enter' }))
}

function lastSession(bridge: FakeBridge): string {
  return (bridge.callsOf('agents.chat').at(-1) as { session_id: string }).session_id
}

/** A finished turn: prompt, reply text, done. */
async function turn(bridge: FakeBridge, frame: () => void, prompt: string, reply = prompt) {
  await send(prompt)
  const session = lastSession(bridge)
  act(() => bridge.chatEvent({ session_id: session, kind: 'token', delta: reply }))
  frame()
  act(() => bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' }))
  frame()
  return session
}

const atEnd = () => list().scrollHeight - list().scrollTop - VIEW_HEIGHT <= 1

describe('following the answer (1)', () => {
  it('FollowState: only the user scrolling up stops it; the end, a sent prompt or Jump resume it', () => {
    const follow = new FollowState()
    follow.placed(1000)
    // The virtualiser correcting heights moves the view up: not the user.
    expect(follow.scrolled({ scrollTop: 900, scrollHeight: 2000, clientHeight: 600 }, false)).toBe(false)
    expect(follow.isFollowing).toBe(true)
    // Dragging the scroll bar up.
    expect(follow.scrolled({ scrollTop: 700, scrollHeight: 2000, clientHeight: 600 }, true)).toBe(true)
    expect(follow.isFollowing).toBe(false)
    // Content growing away from a reader who scrolled up does not bring them back.
    expect(follow.scrolled({ scrollTop: 700, scrollHeight: 3000, clientHeight: 600 }, false)).toBe(false)
    expect(follow.isFollowing).toBe(false)
    // Scrolling back down to the end does.
    follow.scrolled({ scrollTop: 2380, scrollHeight: 3000, clientHeight: 600 }, true)
    expect(follow.isFollowing).toBe(true)
    expect(follow.scrolledUpByUser()).toBe(true)
    expect(follow.resume()).toBe(true)
    expect(follow.isFollowing).toBe(true)
  })

  it('follows a growing reply, stops when the user scrolls up, offers Jump to latest, and a sent prompt comes into view', async () => {
    const { bridge, frame } = await mount()
    for (let i = 0; i < 6; i++) await turn(bridge, frame, `turn ${i}`)
    expect(atEnd()).toBe(true)

    await send('a long one')
    const session = lastSession(bridge)
    act(() => bridge.chatEvent({ session_id: session, kind: 'token', delta: 'first ' }))
    frame()
    expect(atEnd(), 'the streaming reply is followed').toBe(true)
    expect(screen.queryByTestId('jump-to-latest')).toBeNull()

    // The user scrolls up with the wheel: the view stays where they put it while text arrives.
    act(() => {
      fireEvent.wheel(list(), { deltaY: -120 })
      list().scrollTop = 100
    })
    act(() => bridge.chatEvent({ session_id: session, kind: 'token', delta: 'more ' }))
    frame()
    expect(list().scrollTop).toBe(100)
    expect(list().dataset.following).toBe('false')
    const jump = screen.getByTestId('jump-to-latest')
    act(() => fireEvent.click(jump))
    expect(atEnd()).toBe(true)
    expect(screen.queryByTestId('jump-to-latest')).toBeNull()
    act(() => bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' }))
    frame()

    // Scrolled to the top, the user sends: the new prompt is shown.
    act(() => {
      fireEvent.wheel(list(), { deltaY: -500 })
      list().scrollTop = 0
    })
    await send('from the top')
    expect(atEnd()).toBe(true)
    expect(within(list()).getAllByTestId('message-text').at(-1)!.textContent).toBe('from the top')
  })
})

describe('long replies stay cheap (2)', () => {
  it('parses each finished block once while streaming and nothing again when the reply finishes', async () => {
    const parsed: string[] = []
    vi.resetModules()
    vi.doMock('react-markdown', async (importOriginal) => {
      const original = await importOriginal<typeof import('react-markdown')>()
      const Counting = (props: Parameters<typeof original.default>[0]) => {
        parsed.push(String(props.children))
        return original.default(props)
      }
      return { ...original, default: Counting }
    })
    const { Markdown } = await import('../../src/renderer/src/ui/Markdown.js')
    const blocks = Array.from({ length: 40 }, (_, i) => `## Part ${i}\n\nSome *emphasis* in paragraph ${i}.`)
    const text = blocks.join('\n\n')
    const view = render(<Markdown text="" streaming />)
    // Streamed in 200-character pieces, one render per frame.
    for (let end = 200; end < text.length + 200; end += 200) view.rerender(<Markdown text={text.slice(0, end)} streaming />)
    view.rerender(<Markdown text={text} streaming={false} />)
    const finished = [...new Set(parsed)].filter((block) => text.includes(`${block}\n\n`))
    for (const block of text.split('\n\n').slice(0, -1)) {
      expect(parsed.filter((p) => p === block), `"${block}" was parsed once`).toHaveLength(1)
    }
    expect(finished.length).toBeGreaterThan(70)
    const before = parsed.length
    view.rerender(<Markdown text={text} streaming={false} />)
    expect(parsed.length, 'a finished reply is never parsed again').toBe(before)
    expect(view.container.querySelectorAll('[role=heading]')).toHaveLength(40)
    vi.doUnmock('react-markdown')
  })
})

describe('each reply shows the agent that wrote it (3)', () => {
  it('choosing another agent labels the next reply, not the earlier ones', async () => {
    const { bridge, frame, controller } = await mount()
    await turn(bridge, frame, 'hello echo')
    const conversationId = controller.chat.getSnapshot().activeConversationId!
    // Pick Toolbox for this conversation's next turn.
    act(() => controller.chat.setConversationAgent(conversationId, 'toolbox'))
    await turn(bridge, frame, 'hello toolbox')
    expect(bridge.callsOf('agents.chat').map((c) => (c as { agent_id: string }).agent_id)).toEqual(['echo', 'toolbox'])
    expect(replies().map((r) => within(r).getByTestId('message-author').textContent)).toEqual(['Echo', 'Toolbox'])
  })
})

describe('keyboard and screen readers (4)', () => {
  it('an approval takes the focus and is announced; after the decision the focus stays on the card', async () => {
    const bridge = new FakeBridge([agent('toolbox', 'Toolbox')])
    const { frame } = await mount(bridge)
    await send('calculate 1 + 1')
    const session = lastSession(bridge)
    act(() => {
      bridge.chatEvent({ session_id: session, kind: 'tool_call', call_id: 'c1', tool: 'calculate', params: { expression: '1 + 1' } })
      bridge.chatEvent({ session_id: session, kind: 'approval_pending', approval_id: 'a1', tool: 'calculate', params: { expression: '1 + 1' } })
    })
    frame()
    expect(document.activeElement).toBe(screen.getByTestId('approve'))
    expect(screen.getByTestId('announcer').textContent).toBe('Toolbox asks for approval to run calculate.')
    const card = screen.getByTestId('approval')
    await act(async () => fireEvent.click(screen.getByTestId('approve')))
    expect(card.dataset.status).toBe('approved')
    expect(document.activeElement).toBe(card)

    act(() => {
      bridge.chatEvent({ session_id: session, kind: 'tool_result', call_id: 'c1', ok: true, excerpt: '2' })
      bridge.chatEvent({ session_id: session, kind: 'token', delta: '1 + 1 = 2' })
      bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' })
    })
    frame()
    expect(screen.getByTestId('announcer').textContent).toBe('Toolbox replied: 1 + 1 = 2')
  })

  it('announces a reply once, when it finishes, not while it streams', async () => {
    const { bridge, frame } = await mount()
    await send('hi')
    const session = lastSession(bridge)
    act(() => bridge.chatEvent({ session_id: session, kind: 'token', delta: 'partial' }))
    frame()
    expect(screen.getByTestId('announcer').textContent).toBe('')
    act(() => bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' }))
    frame()
    expect(screen.getByTestId('announcer').textContent).toBe('Echo replied: partial')
    const reply = { role: 'assistant', id: 'a', sessionId: 's', agentId: 'echo', state: 'done', cancelling: false, parts: [{ type: 'text', id: 1, text: 'x'.repeat(1000) }] } as AssistantMessage
    expect(announcement(reply, 'Echo', 'streaming:0')!.length).toBeLessThan(450)
    expect(announcement(reply, 'Echo', 'done:0')).toBeUndefined()
  })
})

describe('a tab keeps its access (6)', () => {
  it('keeps the token of the link in sessionStorage for reloads, never in localStorage or a cookie', () => {
    window.history.replaceState(null, '', '/#token=tab-token-1')
    expect(tabToken(window)).toBe('tab-token-1')
    expect(window.location.hash).toBe('')
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe('tab-token-1')
    expect(window.localStorage.length).toBe(0)
    expect(document.cookie).toBe('')
    // A reload: no fragment any more, the tab still has its token.
    expect(tabToken(window)).toBe('tab-token-1')
  })

  it('takes a link pasted into the tab (a fragment change) at once', () => {
    const tokens: string[] = []
    const stop = watchAccessLink(window, (token) => tokens.push(token))
    window.history.replaceState(null, '', '/#token=pasted-2')
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    stop()
    expect(tokens).toEqual(['pasted-2'])
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe('pasted-2')
    expect(window.location.hash).toBe('')
  })
})

describe('the wrong-token screen (7)', () => {
  it('says one thing: the link was refused, and what to do', async () => {
    const bridge = new FakeBridge([], { 'host.subscribe': () => Promise.reject(new RpcError(ErrorCode.NotAuthenticated, 'not authenticated')) })
    await mount(bridge)
    const alerts = screen.getAllByRole('alert')
    expect(alerts).toHaveLength(1)
    expect(alerts[0]!.textContent).toContain('did not accept this link')
    expect(alerts[0]!.textContent).toContain('#token=')
    expect(screen.queryByText(/No agent/)).toBeNull()
    expect(screen.queryByTestId('composer')).toBeNull()
    expect(screen.queryByTestId('agent-list')).toBeNull()
  })
})

describe('polish (8)', () => {
  it('titles lose their Markdown', () => {
    expect(plainTitle('# Hello')).toBe('Hello')
    expect(plainTitle('## **Plan:** the `build` [docs](https://x.org)')).toBe('Plan: the build docs')
    expect(plainTitle('- item one')).toBe('item one')
    expect(plainTitle('> quoted _words_')).toBe('quoted words')
    expect(plainTitle('2 * 3 = 6')).toBe('2 * 3 = 6')
    expect(plainTitle('#')).toBe('#')
  })

  it('the sidebar and the header show the plain title', async () => {
    const { bridge, frame } = await mount()
    await turn(bridge, frame, '# Hello there')
    expect(screen.getByTestId('chat-title').textContent).toBe('Hello there')
  })

  it('a long prompt collapses with "Show more"; Copy still copies all of it', async () => {
    const { bridge, frame, copied } = await mount()
    const prompt = 'word '.repeat(50_000)
    await turn(bridge, frame, prompt, 'ok')
    const bubble = screen.getAllByTestId('message-text')[0]!
    expect(bubble.textContent!.length).toBeLessThan(LONG_PROMPT_CHARS + 100)
    const block = bubble.closest('[data-testid=message-block]') as HTMLElement
    await act(async () => fireEvent.click(within(block).getByTestId('copy')))
    expect(copied).toEqual([prompt])
    act(() => fireEvent.click(within(bubble).getByTestId('show-more')))
    expect(bubble.textContent!.length).toBeGreaterThan(prompt.length)
  })

  it('code blocks have a copy button that copies the code', async () => {
    const { bridge, frame, copied } = await mount()
    await turn(bridge, frame, 'code please', 'Here:\n\n```js\nconst a = 1\n```\n\nDone.')
    await act(async () => fireEvent.click(screen.getByTestId('copy-code')))
    expect(copied).toEqual(['const a = 1\n'])
  })

  it('the approval comes before the tool row it asked for, and a denied call reads "denied"', async () => {
    const parts: AssistantPart[] = [
      { type: 'text', id: 1, text: 'Let me see.' },
      { type: 'tool', id: 2, callId: 'c1', tool: 'calculate', params: {}, result: { ok: false, excerpt: 'denied by the user' } },
      { type: 'approval', id: 3, approvalId: 'a1', tool: 'calculate', params: {}, status: 'denied' },
      { type: 'tool', id: 4, callId: 'c2', tool: 'clock', params: {} },
    ]
    expect(shownParts(parts).map((s) => s.part.id)).toEqual([1, 3, 2, 4])
    expect(shownParts(parts).map((s) => ('denied' in s ? s.denied : null))).toEqual([null, null, true, false])

    const bridge = new FakeBridge([agent('toolbox', 'Toolbox')])
    const { frame } = await mount(bridge)
    await send('calculate 6 * 7')
    const session = lastSession(bridge)
    act(() => {
      bridge.chatEvent({ session_id: session, kind: 'tool_call', call_id: 'c1', tool: 'calculate', params: {} })
      bridge.chatEvent({ session_id: session, kind: 'approval_pending', approval_id: 'a1', tool: 'calculate', params: {} })
    })
    frame()
    await act(async () => fireEvent.click(screen.getByTestId('deny')))
    act(() => {
      bridge.chatEvent({ session_id: session, kind: 'approval_resolved', approval_id: 'a1', resolution: 'deny' })
      bridge.chatEvent({ session_id: session, kind: 'tool_result', call_id: 'c1', ok: false, excerpt: 'denied by the user' })
      bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' })
    })
    frame()
    const reply = replies()[0]!
    const order = [...reply.querySelectorAll('[data-testid=approval], [data-testid=tool-call]')].map((el) => el.getAttribute('data-testid'))
    expect(order).toEqual(['approval', 'tool-call'])
    const row = within(reply).getByTestId('tool-call')
    expect(row.dataset.outcome).toBe('denied')
    expect(row.textContent).toContain('denied')
    expect(row.textContent).not.toContain('failed')
  })
})
