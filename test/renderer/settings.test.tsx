import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { AgentInfo } from '../../src/protocol/agent-info.js'
import { AppController } from '../../src/renderer/src/model/app-controller.js'
import type { ModelMemory } from '../../src/renderer/src/model/model-choice.js'
import { App } from '../../src/renderer/src/ui/App.js'
import type { UiEnvironment } from '../../src/renderer/src/ui/controller-context.js'
import { FakeBridge, FakeConversationHub, agent, manualFrames } from './helpers/fake-bridge.js'
import { installLayout } from './helpers/layout.js'

let uninstallLayout: () => void
beforeAll(() => (uninstallLayout = installLayout()))
afterAll(() => uninstallLayout())
afterEach(cleanup)

function memoryStorage(): ModelMemory & { items: Map<string, string> } {
  const items = new Map<string, string>()
  return { items, getItem: (key) => items.get(key) ?? null, setItem: (key, value) => void items.set(key, value) }
}

async function mount(bridge = new FakeBridge([agent('echo', 'Echo')]), modelMemory: ModelMemory | null = memoryStorage(), memory: ModelMemory | null = null) {
  const frames = manualFrames()
  let n = 0
  const controller = new AppController(bridge, {
    chat: { scheduleFrame: frames.schedule, newConversationId: () => `conv-${++n}` },
    memory,
    modelMemory,
    newId: (prefix) => `${prefix}-${++n}`,
  })
  const environment: UiEnvironment = { kind: 'browser', openNewWindow: vi.fn(async () => {}) }
  render(<App controller={controller} environment={environment} />)
  await act(() => controller.start())
  const frame = () => act(() => frames.run())
  return { bridge, controller, frame }
}

const click = (element: HTMLElement) => act(async () => void fireEvent.click(element))
const change = (element: HTMLElement, value: string) => act(async () => void fireEvent.change(element, { target: { value } }))
const field = (name: string) => screen.getByTestId(`provider-${name}`) as HTMLInputElement
const rows = () => screen.queryAllByTestId('provider-row')

async function openSettings() {
  await click(screen.getByTestId('open-settings'))
  expect(screen.getByTestId('settings')).toBeTruthy()
}

function withModels(base: AgentInfo, models: string[], defaultModel: string | null = null): AgentInfo {
  return { ...base, models: models.map((id) => ({ id })), default_model: defaultModel }
}

const seeded = { name: 'OpenAI', kind: 'openai' as const, base_url: 'https://api.openai.com/v1', default_model: null, system_prompt: null, temperature: null, max_tokens: null }

describe('first start', () => {
  it('without a provider shows how to add one, naming Ollama and LM Studio, with a way into the settings', async () => {
    await mount()
    const first = screen.getByTestId('first-start')
    expect(first.textContent).toContain('Ollama')
    expect(first.textContent).toContain('LM Studio')
    await click(within(first).getByTestId('first-start-add'))
    expect(screen.getByTestId('settings')).toBeTruthy()
    // With nothing to list, the view opens on the form.
    expect(screen.getByTestId('provider-form')).toBeTruthy()
  })

  it('is not shown once a provider exists', async () => {
    const bridge = new FakeBridge([agent('echo', 'Echo')])
    bridge.providers.seed({ id: 'openai', ...seeded }, 'sk-secret')
    await mount(bridge)
    expect(screen.queryByTestId('first-start')).toBeNull()
  })
})

describe('settings: providers', () => {
  it('adds a provider from a preset: base URL filled in, no key field for a local server', async () => {
    const { bridge } = await mount()
    await openSettings()
    await click(screen.getByTestId('preset-lmstudio'))
    expect(field('base_url').value).toBe('http://127.0.0.1:1234/v1')
    expect(screen.queryByTestId('provider-api_key')).toBeNull()
    await click(screen.getByTestId('provider-save'))
    expect(bridge.callsOf('providers.save')).toEqual([
      { id: 'lmstudio', name: 'LM Studio', kind: 'openai', base_url: 'http://127.0.0.1:1234/v1', default_model: null, system_prompt: null, temperature: null, max_tokens: null },
    ])
    expect(rows().map((r) => [r.dataset.providerId, r.dataset.status])).toEqual([['lmstudio', 'running']])
    expect(within(rows()[0]!).getByTestId('provider-models').textContent).toBe('0 models')
    act(() => bridge.providers.announce('lmstudio', [{ id: 'qwen' }, { id: 'llama' }]))
    expect(within(rows()[0]!).getByTestId('provider-models').textContent).toBe('2 models')
  })

  it('the Anthropic preset picks the anthropic kind and asks for a key; the key is sent once and never shown', async () => {
    const { bridge } = await mount()
    await openSettings()
    await click(screen.getByTestId('preset-anthropic'))
    expect(field('base_url').value).toBe('https://api.anthropic.com')
    await click(screen.getByTestId('provider-save'))
    expect(screen.getByTestId('field-error-api_key').textContent).toBe('enter the key')
    expect(bridge.callsOf('providers.save')).toEqual([])
    await change(field('api_key'), 'sk-ant-secret')
    await click(screen.getByTestId('provider-save'))
    expect(bridge.callsOf('providers.save')).toEqual([expect.objectContaining({ id: 'anthropic', kind: 'anthropic', api_key: 'sk-ant-secret' })])
    expect(document.body.innerHTML).not.toContain('sk-ant-secret')
  })

  it('editing keeps the stored key unless replaced or removed, and never shows it', async () => {
    const bridge = new FakeBridge([agent('echo', 'Echo')])
    bridge.providers.seed({ id: 'openai', ...seeded }, 'sk-stored')
    await mount(bridge)
    await openSettings()
    await click(screen.getByTestId('provider-edit'))
    expect(screen.getByTestId('key-stored').textContent).toContain('A key is stored')
    expect(screen.queryByTestId('provider-api_key')).toBeNull()
    await change(field('default_model'), 'gpt-4o-mini')
    await click(screen.getByTestId('provider-save'))
    const kept = bridge.callsOf('providers.save').at(-1) as Record<string, unknown>
    expect(kept).toMatchObject({ id: 'openai', default_model: 'gpt-4o-mini' })
    expect(kept).not.toHaveProperty('api_key')
    expect(bridge.providers.keys.get('openai')).toBe('sk-stored')

    await click(screen.getByTestId('provider-edit'))
    await click(screen.getByTestId('key-replace'))
    await change(field('api_key'), 'sk-new')
    await click(screen.getByTestId('provider-save'))
    expect(bridge.callsOf('providers.save').at(-1)).toMatchObject({ api_key: 'sk-new' })
    expect(document.body.innerHTML).not.toContain('sk-new')

    await click(screen.getByTestId('provider-edit'))
    await click(screen.getByTestId('key-remove'))
    await click(screen.getByTestId('provider-save'))
    expect(bridge.callsOf('providers.save').at(-1)).toMatchObject({ api_key: null })
    expect(bridge.providers.keys.has('openai')).toBe(false)
  })

  it("shows the hub's -32602 next to the field it names", async () => {
    const { bridge } = await mount()
    await openSettings()
    await click(screen.getByTestId('preset-custom'))
    await change(field('base_url'), 'ftp://example.com')
    await change(field('temperature'), '7')
    await click(screen.getByTestId('provider-save'))
    expect(bridge.callsOf('providers.save')).toHaveLength(1)
    expect(screen.getByTestId('field-error-base_url').textContent).toBe('must be an http or https URL')
    expect(screen.getByTestId('field-error-temperature').textContent).toMatch(/2/)
    expect(screen.queryByTestId('field-error-name')).toBeNull()
    expect(rows()).toHaveLength(0)
    // Fixing a field clears its message.
    await change(field('base_url'), 'http://127.0.0.1:8080/v1')
    expect(screen.queryByTestId('field-error-base_url')).toBeNull()
  })

  it('refuses the id of a built-in agent next to the id field', async () => {
    await mount()
    await openSettings()
    await click(screen.getByTestId('preset-custom'))
    await change(field('id'), 'echo')
    await click(screen.getByTestId('provider-save'))
    expect(screen.getByTestId('field-error-id').textContent).toContain('built-in')
  })

  it('delete asks first and only then calls providers.delete', async () => {
    const bridge = new FakeBridge([agent('echo', 'Echo')])
    bridge.providers.seed({ id: 'openai', ...seeded }, 'sk-stored')
    await mount(bridge)
    await openSettings()
    await click(screen.getByTestId('provider-delete'))
    expect(screen.getByTestId('delete-confirm').textContent).toContain('Delete OpenAI?')
    expect(bridge.callsOf('providers.delete')).toEqual([])
    await click(within(screen.getByTestId('delete-confirm')).getByText('Cancel'))
    expect(rows()).toHaveLength(1)
    await click(screen.getByTestId('provider-delete'))
    await click(screen.getByTestId('delete-yes'))
    expect(bridge.callsOf('providers.delete')).toEqual([{ id: 'openai' }])
    expect(rows()).toHaveLength(0)
    expect(screen.getAllByTestId('agent-item').map((i) => i.dataset.agentId)).toEqual(['echo'])
  })

  it("test connection saves, then lists the models the agent announces, the default marked", async () => {
    const { bridge } = await mount()
    await openSettings()
    await click(screen.getByTestId('preset-ollama'))
    await change(field('default_model'), 'llama3.2')
    await click(screen.getByTestId('provider-test'))
    expect(bridge.callsOf('providers.save')).toHaveLength(1)
    expect(screen.getByTestId('test-result').dataset.outcome).toBe('testing')
    await act(async () => bridge.providers.announce('ollama', [{ id: 'llama3.2' }, { id: 'qwen2.5' }], 'llama3.2'))
    const result = screen.getByTestId('test-result')
    expect(result.dataset.outcome).toBe('models')
    expect(within(result).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['llama3.2 default', 'qwen2.5'])
  })

  it('test connection says in plain words when no models came back', async () => {
    const { bridge } = await mount()
    await openSettings()
    await click(screen.getByTestId('preset-ollama'))
    await click(screen.getByTestId('provider-test'))
    await act(async () => bridge.providers.announce('ollama', []))
    const result = screen.getByTestId('test-result')
    expect(result.dataset.outcome).toBe('no-models')
    expect(result.textContent).toContain('http://127.0.0.1:11434/v1')
    expect(result.textContent).toContain('server is running')
  })

  it("opens from the app menu's Settings… (the preload's app.showSettings)", async () => {
    const { bridge } = await mount()
    expect(screen.queryByTestId('settings')).toBeNull()
    act(() => bridge.emit('app.showSettings', {}))
    expect(screen.getByTestId('settings')).toBeTruthy()
    await click(screen.getByTestId('settings-close'))
    expect(screen.getByTestId('chat')).toBeTruthy()
  })

  it('lists the MCP tools and server problems seen in this window', async () => {
    const bridge = new FakeBridge([withModels(agent('local', 'Local'), ['m1'])])
    bridge.providers.seed({ id: 'ollama', ...seeded, name: 'Ollama', base_url: 'http://127.0.0.1:11434/v1' })
    const { frame } = await mount(bridge)
    await act(async () => void fireEvent.click(screen.getByRole('button', { name: /Ollama/ })))
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'read it' } }))
    await act(async () => void fireEvent.click(screen.getByTestId('send')))
    const { session_id } = bridge.callsOf('agents.chat').at(-1) as { session_id: string }
    act(() => {
      bridge.chatEvent({ session_id, agent_id: 'ollama', kind: 'status', message: "The MCP server 'broken' did not start." })
      bridge.chatEvent({ session_id, agent_id: 'ollama', kind: 'tool_call', call_id: 'c1', tool: 'files.read_file', params: {} })
    })
    frame()
    await openSettings()
    const server = within(screen.getByTestId('mcp-section')).getByTestId('mcp-server')
    expect(server.dataset.server).toBe('files')
    expect(server.textContent).toContain('read_file')
    expect(screen.getByTestId('mcp-section').textContent).toContain("The MCP server 'broken' did not start.")
  })

  it("shows each provider's MCP servers as its agent reports them: state, tools, why one failed; nothing before it reports", async () => {
    const bridge = new FakeBridge([agent('echo', 'Echo')])
    bridge.providers.seed({ id: 'ollama', ...seeded, name: 'Ollama', base_url: 'http://127.0.0.1:11434/v1' })
    bridge.providers.seed({ id: 'openai', ...seeded })
    await mount(bridge)
    await openSettings()
    const section = () => screen.getByTestId('mcp-section')
    expect(within(section()).queryAllByTestId('mcp-provider')).toHaveLength(0)

    act(() =>
      bridge.providers.announceTools('ollama', [
        { name: 'files', state: 'ready', tools: [{ name: 'read_file', description: 'Reads a file.' }, { name: 'list_dir' }] },
        { name: 'broken', state: 'failed', tools: [], error: 'spawn /nonexistent ENOENT' },
      ]),
    )
    const providers = within(section()).getAllByTestId('mcp-provider')
    expect(providers.map((p) => p.dataset.providerId)).toEqual(['ollama'])
    const servers = within(providers[0]!).getAllByTestId('mcp-server-status')
    expect(servers.map((s) => [s.dataset.server, s.dataset.state])).toEqual([
      ['files', 'ready'],
      ['broken', 'failed'],
    ])
    expect(within(servers[0]!).getByTestId('mcp-server-tools').textContent).toBe(': read_file, list_dir')
    expect(within(servers[0]!).getByText('read_file').title).toBe('Reads a file.')
    expect(within(servers[0]!).queryByTestId('mcp-server-error')).toBeNull()
    expect(within(servers[1]!).getByTestId('mcp-server-error').textContent).toBe('spawn /nonexistent ENOENT')
    expect(within(servers[1]!).queryByTestId('mcp-server-tools')).toBeNull()
    expect(servers[1]!.textContent).toContain('Did not start')

    act(() => bridge.providers.announceTools('ollama', [{ name: 'files', state: 'stopped', tools: [] }]))
    const after = within(section()).getAllByTestId('mcp-server-status')
    expect(after.map((s) => [s.dataset.server, s.dataset.state, s.textContent])).toEqual([['files', 'stopped', 'files Stopped']])

    act(() => bridge.providers.announceTools('openai', []))
    expect(within(section()).getAllByTestId('mcp-provider').map((p) => p.dataset.providerId)).toEqual(['ollama', 'openai'])
    expect(within(section()).getAllByTestId('mcp-provider')[1]!.textContent).toContain('No MCP server')
  })
})

describe('model picker', () => {
  const local = () => withModels(agent('local', 'Local'), ['small', 'big'], 'big')

  it("lists the agent's models with the default marked and selected, and sends the pick as model", async () => {
    const memory = memoryStorage()
    const { bridge } = await mount(new FakeBridge([local()]), memory)
    const picker = screen.getByTestId('model-picker') as HTMLSelectElement
    expect([...picker.options].map((o) => o.textContent)).toEqual(['small', 'big — default'])
    expect(picker.value).toBe('big')
    await change(picker, 'small')
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'hello' } }))
    await click(screen.getByTestId('send'))
    expect(bridge.callsOf('agents.chat')).toEqual([expect.objectContaining({ agent_id: 'local', conversation_id: 'conv-1', model: 'small' })])
    expect(JSON.parse(memory.items.get('carhost.model.conv-1')!)).toEqual({ agent_id: 'local', model: 'small' })
  })

  it("a pick belongs to its agent: another agent of the conversation gets its own default", async () => {
    const memory = memoryStorage()
    const other = withModels(agent('other', 'Other'), ['x', 'y'], 'y')
    const { bridge } = await mount(new FakeBridge([local(), other]), memory)
    await change(screen.getByTestId('model-picker'), 'small')
    await click(screen.getByRole('button', { name: /Other/ }))
    expect((screen.getByTestId('model-picker') as HTMLSelectElement).value).toBe('y')
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'hello' } }))
    await click(screen.getByTestId('send'))
    expect(bridge.callsOf('agents.chat').at(-1)).toMatchObject({ agent_id: 'other', model: 'y' })
  })

  it('remembers the pick per conversation, across a reload', async () => {
    const memory = memoryStorage()
    const windowMemory = memoryStorage()
    const hub = new FakeConversationHub()
    const first = await mount(new FakeBridge([local()], {}, hub), memory, windowMemory)
    await change(screen.getByTestId('model-picker'), 'small')
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'hello' } }))
    await click(screen.getByTestId('send'))
    const { session_id } = first.bridge.callsOf('agents.chat').at(-1) as { session_id: string }
    act(() => first.bridge.chatEvent({ session_id, kind: 'done', finish_reason: 'stop', text: 'hi' }))
    first.frame()
    // Another conversation starts on the default.
    await click(screen.getByTestId('new-chat'))
    expect((screen.getByTestId('model-picker') as HTMLSelectElement).value).toBe('big')
    first.controller.dispose()
    cleanup()

    // The window reloads: it reopens conv-1, whose pick is remembered.
    windowMemory.setItem('carhost.conversation', 'conv-1')
    const again = await mount(new FakeBridge([local()], {}, hub), memory, windowMemory)
    expect((screen.getByTestId('model-picker') as HTMLSelectElement).value).toBe('small')
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'again' } }))
    await click(screen.getByTestId('send'))
    expect(again.bridge.callsOf('agents.chat').at(-1)).toMatchObject({ conversation_id: 'conv-1', model: 'small' })
  })

  it('is absent for an agent that announced no models, and no model is sent', async () => {
    const { bridge } = await mount()
    expect(screen.queryByTestId('model-picker')).toBeNull()
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'hello' } }))
    await click(screen.getByTestId('send'))
    expect(bridge.callsOf('agents.chat').at(-1)).not.toHaveProperty('model')
  })
})

describe('usage line', () => {
  it('shows the model and the tokens in and out under a finished answer, and again from the stored record', async () => {
    const memory = memoryStorage()
    const windowMemory = memoryStorage()
    const hub = new FakeConversationHub()
    const local = withModels(agent('local', 'Local'), ['qwen'], 'qwen')
    const { bridge, frame, controller } = await mount(new FakeBridge([local], {}, hub), memory, windowMemory)
    await act(async () => void fireEvent.change(screen.getByTestId('composer'), { target: { value: 'hello' } }))
    await click(screen.getByTestId('send'))
    const { session_id } = bridge.callsOf('agents.chat').at(-1) as { session_id: string }
    expect(screen.queryByTestId('usage')).toBeNull()
    await act(async () => bridge.chatEvent({ session_id, kind: 'done', finish_reason: 'stop', text: 'hi', usage: { input_tokens: 1234, output_tokens: 56 } }))
    frame()
    const usage = screen.getByTestId('usage')
    expect(within(usage).getByTestId('usage-model').textContent).toBe('qwen')
    expect(usage.textContent).toContain(`${(1234).toLocaleString()} in · 56 out`)
    controller.dispose()
    cleanup()

    windowMemory.setItem('carhost.conversation', 'conv-1')
    await mount(new FakeBridge([local], {}, hub), memory, windowMemory)
    const stored = screen.getByTestId('usage')
    expect(stored.textContent).toContain('qwen')
    expect(stored.textContent).toContain('56 out')
  })
})
