import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { AppController } from '../../src/renderer/src/model/app-controller.js'
import { App } from '../../src/renderer/src/ui/App.js'
import type { UiEnvironment } from '../../src/renderer/src/ui/controller-context.js'
import { FakeBridge, agent, manualFrames } from './helpers/fake-bridge.js'
import { installLayout } from './helpers/layout.js'

let uninstallLayout: () => void
beforeAll(() => (uninstallLayout = installLayout()))
afterAll(() => uninstallLayout())
afterEach(cleanup)

async function mount(bridge = new FakeBridge([agent('echo', 'Echo'), agent('calc', 'Calculator', 'stopped')])) {
  const frames = manualFrames()
  let n = 0
  const controller = new AppController(bridge, {
    chat: { scheduleFrame: frames.schedule, newConversationId: () => `conv-${++n}` },
    memory: null,
    newId: (prefix) => `${prefix}-${++n}`,
  })
  const environment: UiEnvironment = { kind: 'electron', openNewWindow: vi.fn(async () => {}) }
  const view = render(<App controller={controller} environment={environment} />)
  await act(() => controller.start())
  /** Runs the pending animation frame, as the browser would. */
  const frame = () => act(() => frames.run())
  return { bridge, controller, environment, view, frame }
}

const composer = () => screen.getByTestId('composer') as HTMLTextAreaElement
const messages = () => screen.queryAllByTestId('message')
const lastReply = () => messages().filter((m) => m.dataset.role === 'assistant').at(-1)!

async function type(text: string) {
  fireEvent.change(composer(), { target: { value: text } })
}

async function sendWithEnter(text: string) {
  await type(text)
  await act(async () => {
    fireEvent.keyDown(composer(), { key: 'Enter' })
  })
}

/** The session id of the latest reply, as the hub knows it. */
function sessionOf(bridge: FakeBridge): string {
  const params = bridge.callsOf('agents.chat').at(-1) as { session_id: string }
  return params.session_id
}

describe('agent list', () => {
  it('lists the agents with their live status', async () => {
    const { bridge } = await mount()
    const items = within(screen.getByTestId('agent-list')).getAllByTestId('agent-item')
    expect(items.map((i) => [i.dataset.agentId, i.dataset.status])).toEqual([
      ['echo', 'running'],
      ['calc', 'stopped'],
    ])
    act(() => bridge.hostEvent('agent.status_changed', 'calc', { status: 'running', previous: 'stopped' }))
    expect(screen.getAllByTestId('agent-item')[1]!.dataset.status).toBe('running')
    expect(screen.getAllByTestId('agent-item')[1]!.textContent).toContain('Running')
    act(() => bridge.hostEvent('agent.registered', 'new', { agent: agent('new', 'Newcomer') }))
    act(() => bridge.hostEvent('agent.unregistered', 'echo', {}))
    expect(screen.getAllByTestId('agent-item').map((i) => i.dataset.agentId)).toEqual(['calc', 'new'])
  })

  it('starts a stopped agent', async () => {
    const bridge = new FakeBridge([agent('calc', 'Calculator', 'stopped')], { 'agents.start': () => agent('calc', 'Calculator', 'starting') })
    await mount(bridge)
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Start' })))
    expect(bridge.callsOf('agents.start')).toEqual([{ agent_id: 'calc' }])
    expect(screen.getByTestId('agent-item').dataset.status).toBe('starting')
  })
})

describe('chat', () => {
  it('Enter sends the prompt to the selected agent and streams the reply', async () => {
    const { bridge, frame } = await mount()
    await sendWithEnter('What is CarHost?')
    expect(bridge.callsOf('agents.chat')).toEqual([
      { agent_id: 'echo', prompt: 'What is CarHost?', session_id: expect.stringMatching(/^chat-/), conversation_id: 'conv-1', stream: true },
    ])
    expect(composer().value).toBe('')
    expect(messages().map((m) => [m.dataset.role, m.dataset.state])).toEqual([
      ['user', 'done'],
      ['assistant', 'streaming'],
    ])
    expect(within(messages()[0]!).getByTestId('message-text').textContent).toBe('What is CarHost?')

    const session = sessionOf(bridge)
    act(() => {
      bridge.chatEvent({ session_id: session, kind: 'token', delta: 'An **agent** ' })
      bridge.chatEvent({ session_id: session, kind: 'token', delta: 'hub.' })
    })
    // Nothing renders before the frame.
    expect(lastReply().textContent).not.toContain('hub.')
    frame()
    expect(lastReply().querySelector('strong')?.textContent).toBe('agent')
    expect(lastReply().textContent).toContain('An agent hub.')
    act(() => bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' }))
    frame()
    expect(lastReply().dataset.state).toBe('done')
    expect(screen.getByTestId('send')).toBeTruthy()
  })

  it('Shift+Enter does not send; the send button does', async () => {
    const { bridge } = await mount()
    await type('line one')
    await act(async () => {
      fireEvent.keyDown(composer(), { key: 'Enter', shiftKey: true })
    })
    expect(bridge.callsOf('agents.chat')).toHaveLength(0)
    expect(composer().value).toBe('line one')
    await act(async () => fireEvent.click(screen.getByTestId('send')))
    expect(bridge.callsOf('agents.chat')).toHaveLength(1)
  })

  it('does not send while an IME composition is open, nor an empty prompt', async () => {
    const { bridge } = await mount()
    await type('にほん')
    await act(async () => {
      fireEvent.keyDown(composer(), { key: 'Enter', isComposing: true })
    })
    await type('   ')
    await act(async () => {
      fireEvent.keyDown(composer(), { key: 'Enter' })
    })
    expect(bridge.callsOf('agents.chat')).toHaveLength(0)
    expect((screen.getByTestId('send') as HTMLButtonElement).disabled).toBe(true)
  })

  it('Stop cancels the session; the reply ends cancelled', async () => {
    const { bridge, frame } = await mount()
    await sendWithEnter('long story please')
    expect(screen.queryByTestId('send')).toBeNull()
    await act(async () => fireEvent.click(screen.getByTestId('stop')))
    const session = sessionOf(bridge)
    expect(bridge.callsOf('agents.chat.cancel')).toEqual([{ session_id: session }])
    expect(lastReply().textContent).toContain('Stopping')
    act(() => bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'cancelled' }))
    frame()
    expect(lastReply().dataset.state).toBe('cancelled')
    expect(screen.queryByTestId('stop')).toBeNull()
  })

  it('Esc stops the reply in flight', async () => {
    const { bridge } = await mount()
    await sendWithEnter('hi')
    await act(async () => {
      fireEvent.keyDown(composer(), { key: 'Escape' })
    })
    expect(bridge.callsOf('agents.chat.cancel')).toEqual([{ session_id: sessionOf(bridge) }])
  })

  it('Esc with nothing in flight cancels nothing', async () => {
    const { bridge } = await mount()
    await act(async () => {
      fireEvent.keyDown(window, { key: 'Escape' })
    })
    expect(bridge.callsOf('agents.chat.cancel')).toHaveLength(0)
  })

  it('shows tool calls with collapsible arguments and their results', async () => {
    const { bridge, frame } = await mount()
    await sendWithEnter('read it')
    const session = sessionOf(bridge)
    act(() => bridge.chatEvent({ session_id: session, kind: 'tool_call', call_id: 'c1', tool: 'read_file', params: { path: '/tmp/a.txt' } }))
    frame()
    const row = screen.getByTestId('tool-call')
    expect(row.dataset.outcome).toBe('running')
    expect(row.textContent).toContain('read_file')
    expect(within(row).queryByTestId('tool-call-args')).toBeNull()
    const toggle = within(row).getByRole('button')
    fireEvent.click(toggle)
    expect(toggle.getAttribute('aria-expanded')).toBe('true')
    expect(JSON.parse(within(row).getByTestId('tool-call-args').textContent!)).toEqual({ path: '/tmp/a.txt' })
    act(() => bridge.chatEvent({ session_id: session, kind: 'tool_result', call_id: 'c1', ok: true, excerpt: 'hello from a.txt' }))
    frame()
    expect(screen.getByTestId('tool-call').dataset.outcome).toBe('ok')
    expect(screen.getByTestId('tool-call-result').textContent).toBe('hello from a.txt')
    fireEvent.click(toggle)
    expect(within(screen.getByTestId('tool-call')).queryByTestId('tool-call-args')).toBeNull()
  })

  it.each([
    [true, 'approve', 'approved'],
    [false, 'deny', 'denied'],
  ] as const)('an approval card sends decision %s', async (decision, button, status) => {
    const { bridge, frame } = await mount()
    await sendWithEnter('delete the temp files')
    const session = sessionOf(bridge)
    act(() => bridge.chatEvent({ session_id: session, kind: 'approval_pending', approval_id: 'ap-1', tool: 'shell', params: { cmd: 'rm -r /tmp/x' } }))
    frame()
    const card = screen.getByTestId('approval')
    expect(card.textContent).toContain('shell')
    expect(card.textContent).toContain('rm -r /tmp/x')
    await act(async () => fireEvent.click(within(card).getByTestId(button)))
    expect(bridge.callsOf('agents.chat.approve')).toEqual([{ session_id: session, approval_id: 'ap-1', decision }])
    expect(screen.getByTestId('approval').dataset.status).toBe(status)
    expect(screen.queryByTestId('approve')).toBeNull()
  })

  it.each([
    ['agent_exited', 'The agent crashed'],
    ['session_expired', 'The session expired'],
    ['hub_shutdown', 'The hub shut down'],
    ['quota', 'The agent reported an error'],
  ])('an error event with code %s reads "%s"', async (code, text) => {
    const { bridge, frame } = await mount()
    await sendWithEnter('hi')
    act(() => bridge.chatEvent({ session_id: sessionOf(bridge), kind: 'error', error: 'details here', code }))
    frame()
    expect(lastReply().dataset.state).toBe('error')
    expect(within(lastReply()).getByRole('alert').textContent).toContain(text)
    expect(screen.getByTestId('send')).toBeTruthy()
  })

  it('shows a chat the hub refused as an error on the reply', async () => {
    const bridge = new FakeBridge([agent('echo', 'Echo')], {
      'agents.chat': () => {
        throw new RpcError(ErrorCode.AckTimeout, 'no acknowledgement within 5000 ms')
      },
    })
    await mount(bridge)
    await sendWithEnter('hi')
    expect(lastReply().dataset.state).toBe('error')
    expect(lastReply().textContent).toContain('did not answer in time')
  })

  it('keeps several conversations apart, each with its own stream', async () => {
    const { bridge, frame } = await mount()
    await sendWithEnter('first question')
    const first = sessionOf(bridge)
    fireEvent.click(screen.getByTestId('new-chat'))
    expect(messages()).toHaveLength(0)
    await sendWithEnter('second question')
    const second = sessionOf(bridge)
    expect(second).not.toBe(first)
    const [a, b] = bridge.callsOf('agents.chat') as Array<{ conversation_id: string }>
    expect(a!.conversation_id).not.toBe(b!.conversation_id)

    act(() => {
      bridge.chatEvent({ session_id: first, kind: 'token', delta: 'answer one' })
      bridge.chatEvent({ session_id: second, kind: 'token', delta: 'answer two' })
    })
    frame()
    expect(lastReply().textContent).toContain('answer two')
    expect(lastReply().textContent).not.toContain('answer one')

    // The hub's list, newest first.
    const conversations = screen.getAllByTestId('conversation')
    expect(conversations.map((c) => c.textContent)).toEqual([expect.stringContaining('second question'), expect.stringContaining('first question')])
    await act(async () => fireEvent.click(within(conversations[1]!).getAllByRole('button')[0]!))
    expect(within(messages()[0]!).getByTestId('message-text').textContent).toBe('first question')
    expect(lastReply().textContent).toContain('answer one')
    expect(screen.getByTestId('stop')).toBeTruthy()
  })

  it('deleting a conversation mid-turn ends its reply cancelled and opens a new chat', async () => {
    const { bridge, frame } = await mount()
    await sendWithEnter('hi')
    const reply = lastReply()
    expect(reply.dataset.state).toBe('streaming')
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Delete hi' })))
    await act(async () => fireEvent.click(screen.getByTestId('confirm-delete-button')))
    frame()
    // §11: the hub cancels the turn of a conversation it deletes.
    expect(bridge.callsOf('conversations.delete')).toEqual([{ conversation_id: 'conv-1' }])
    expect(screen.queryAllByTestId('conversation').map((c) => c.dataset.draft)).toEqual(['true'])
    expect(messages()).toHaveLength(0)
    expect(screen.getByTestId('send')).toBeTruthy()
  })

  it('picking an agent points the conversation at it', async () => {
    const { bridge } = await mount(new FakeBridge([agent('echo', 'Echo'), agent('calc', 'Calculator')]))
    fireEvent.click(within(screen.getAllByTestId('agent-item')[1]!).getByRole('button', { name: /Calculator/ }))
    await sendWithEnter('2+2')
    expect(bridge.callsOf('agents.chat')).toEqual([expect.objectContaining({ agent_id: 'calc' })])
  })

  it('the New window button asks the environment for one', async () => {
    const { environment } = await mount()
    fireEvent.click(screen.getByTestId('new-window'))
    expect(environment.openNewWindow).toHaveBeenCalledTimes(1)
  })
})

describe('agent text is untrusted', () => {
  it('never turns HTML or hostile Markdown into live elements', async () => {
    const { bridge, frame } = await mount()
    await sendWithEnter('hi')
    const session = sessionOf(bridge)
    const hostile = [
      'Look: <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script>',
      '',
      '<iframe src="https://evil.example"></iframe><a href="javascript:alert(1)">html link</a>',
      '',
      '![tracker](https://evil.example/pixel.png) [click](javascript:alert(1)) [rel](./settings) [ok](https://example.org/docs)',
    ].join('\n')
    act(() => bridge.chatEvent({ session_id: session, kind: 'token', delta: hostile }))
    frame()
    const check = () => {
      const reply = lastReply()
      expect(reply.querySelectorAll('img, script, iframe, object, embed, style')).toHaveLength(0)
      expect(reply.querySelector('[onerror]')).toBeNull()
      const links = [...reply.querySelectorAll('a')]
      expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.org/docs'])
      expect(links[0]!.getAttribute('rel')).toContain('noopener')
      expect(links[0]!.getAttribute('target')).toBe('_blank')
      // The HTML is shown as text, not dropped silently.
      expect(reply.textContent).toContain('<img src=x onerror=')
      expect(reply.textContent).toContain('[image: tracker]')
    }
    check() // while streaming (block by block)
    act(() => bridge.chatEvent({ session_id: session, kind: 'done', finish_reason: 'stop' }))
    frame()
    check() // finished (whole text)
    expect(Reflect.get(window, '__pwned')).toBeUndefined()
  })
})

describe('connection banner', () => {
  it('says Reconnecting… while a window waits for its new hub link, and goes away once it is back', async () => {
    const { controller } = await mount()
    expect(screen.queryByRole('status')).toBeNull()
    act(() => controller.connection.set({ status: 'reconnecting', message: 'Reconnecting…' }))
    expect(screen.getByRole('status').textContent).toBe('Reconnecting…')
    act(() => controller.connection.set({ status: 'ready' }))
    expect(screen.queryByRole('status')).toBeNull()
  })
})
