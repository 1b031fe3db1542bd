import { describe, expect, it, vi } from 'vitest'
import { ErrorCode, RpcError } from '../../src/protocol/errors.js'
import { AppController } from '../../src/renderer/src/model/app-controller.js'
import { ChatStore, type AssistantMessage } from '../../src/renderer/src/model/chat-store.js'
import { FakeBridge, agent, manualFrames } from './helpers/fake-bridge.js'

async function started(bridge = new FakeBridge(), onDidClose?: (l: (e: RpcError) => void) => () => void) {
  const frames = manualFrames()
  let n = 0
  const controller = new AppController(bridge, {
    chat: { scheduleFrame: frames.schedule, newConversationId: () => `conv-${++n}` },
    memory: null,
    newId: (prefix) => `${prefix}-${++n}`,
    ...(onDidClose && { onDidClose }),
  })
  await controller.start()
  const conversationId = controller.chat.getSnapshot().activeConversationId!
  const reply = () => controller.chat.conversation(conversationId)!.messages.at(-1) as AssistantMessage
  return { bridge, controller, frames, conversationId, reply }
}

describe('AppController', () => {
  it('subscribes, opens a first conversation and points it at the first running agent', async () => {
    const { bridge, controller, conversationId } = await started(new FakeBridge([agent('off', 'Off', 'stopped'), agent('echo', 'Echo')]))
    expect(bridge.calls[0]).toEqual({ method: 'host.subscribe', params: {} })
    expect(controller.connection.getSnapshot().status).toBe('ready')
    expect(controller.chat.conversation(conversationId)!.agentId).toBe('echo')
  })

  it('sends agents.chat with its own session id and the conversation id', async () => {
    const { bridge, controller, conversationId, reply } = await started()
    expect(await controller.send(conversationId, 'hello there')).toBeUndefined()
    const [params] = bridge.callsOf('agents.chat') as Array<Record<string, unknown>>
    expect(params).toEqual({
      agent_id: 'echo',
      prompt: 'hello there',
      session_id: reply().sessionId,
      conversation_id: conversationId,
      stream: true,
    })
    expect(params!.session_id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
    expect(reply().state).toBe('streaming')
  })

  it('refuses what the hub would refuse without sending it', async () => {
    const { bridge, controller, conversationId } = await started()
    expect(await controller.send(conversationId, '   \n')).toBe('empty')
    expect(await controller.send(conversationId, 'é'.repeat(131_073))).toBe('too_long')
    expect(bridge.callsOf('agents.chat')).toHaveLength(0)
  })

  it('shows a refused chat on the reply', async () => {
    const bridge = new FakeBridge(undefined, {
      'agents.chat': () => {
        throw new RpcError(ErrorCode.AgentUnavailable, "agent 'echo' is not running")
      },
    })
    const { controller, conversationId, reply } = await started(bridge)
    await controller.send(conversationId, 'hi')
    expect(reply().state).toBe('error')
    expect(reply().failure).toEqual({ reason: 'request_failed', code: -32011, message: "agent 'echo' is not running" })
    expect(controller.chat.conversation(conversationId)!.activeSessionId).toBeNull()
  })

  it('validates chat events: malformed ones never reach the store', async () => {
    const { bridge, controller, conversationId, frames, reply } = await started()
    await controller.send(conversationId, 'hi')
    const sessionId = reply().sessionId
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    bridge.chatEvent({ session_id: sessionId, kind: 'token' }) // no delta
    bridge.chatEvent({ session_id: sessionId, kind: 'tool_result', call_id: 'c', ok: 'yes' })
    bridge.emit('agents.chat.event', { session_id: sessionId, kind: 'token', delta: 'no agent_id' })
    bridge.emit('agents.chat.event', 'garbage')
    expect(controller.chat.queuedEvents).toBe(0)
    expect(warn).toHaveBeenCalledTimes(4)
    warn.mockRestore()
    bridge.chatEvent({ session_id: sessionId, kind: 'token', delta: 'ok' })
    frames.run()
    expect(reply().parts).toEqual([expect.objectContaining({ type: 'text', text: 'ok' })])
  })

  it('cancels the turn in flight', async () => {
    const { bridge, controller, conversationId, reply, frames } = await started()
    await controller.send(conversationId, 'hi')
    await controller.cancel(conversationId)
    expect(bridge.callsOf('agents.chat.cancel')).toEqual([{ session_id: reply().sessionId }])
    expect(reply().cancelling).toBe(true)
    bridge.chatEvent({ session_id: reply().sessionId, kind: 'done', finish_reason: 'cancelled' })
    frames.run()
    expect(reply().state).toBe('cancelled')
  })

  it('sends the decision of an approval and shows a failed one', async () => {
    let fail = true
    const bridge = new FakeBridge(undefined, {
      'agents.chat.approve': (params) => {
        if (fail) throw new RpcError(ErrorCode.InternalError, 'connection closed')
        return { resolved: true, session_id: (params as { session_id: string }).session_id }
      },
    })
    const { controller, conversationId, reply, frames } = await started(bridge)
    await controller.send(conversationId, 'hi')
    const sessionId = reply().sessionId
    bridge.chatEvent({ session_id: sessionId, kind: 'approval_pending', approval_id: 'a1', tool: 'shell' })
    frames.run()
    await controller.decide(sessionId, 'a1', true)
    expect(reply().parts[0]).toMatchObject({ status: 'pending', error: 'connection closed' })
    fail = false
    await controller.decide(sessionId, 'a1', false)
    expect(bridge.callsOf('agents.chat.approve').at(-1)).toEqual({ session_id: sessionId, approval_id: 'a1', decision: false })
    expect(reply().parts[0]).toMatchObject({ status: 'denied' })
  })

  it('keeps the agent list live and refetches it after a gap', async () => {
    const { bridge, controller } = await started(new FakeBridge([agent('echo', 'Echo')]))
    bridge.hostEvent('agent.status_changed', 'echo', { status: 'errored', previous: 'running' })
    expect(controller.agents.agent('echo')!.status).toBe('errored')
    bridge.hostEvent('agent.status_changed', 'echo', { status: 'running', previous: 'errored' }, 5)
    await vi.waitFor(() => expect(bridge.callsOf('agents.list')).toHaveLength(1))
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    bridge.emit('host.event', { kind: 'agent.unregistered' })
    expect(warn).toHaveBeenCalledTimes(1)
    warn.mockRestore()
  })

  it('ends live turns and reports it when the connection drops', async () => {
    let drop: ((e: RpcError) => void) | undefined
    const { controller, conversationId, reply } = await started(new FakeBridge(), (listener) => {
      drop = listener
      return () => {}
    })
    await controller.send(conversationId, 'hi')
    drop!(new RpcError(ErrorCode.InternalError, 'disconnected from the hub: code 1006'))
    expect(controller.connection.getSnapshot().status).toBe('closed')
    expect(reply().failure?.reason).toBe('connection_lost')
    expect(await controller.send(conversationId, 'again')).toBe('disconnected')
  })

  it('a window whose link dropped shows Reconnecting…, then subscribes again on the new link and can chat', async () => {
    let drop: ((e: RpcError) => void) | undefined
    let reconnected: (() => void) | undefined
    const bridge = new FakeBridge()
    const frames = manualFrames()
    let n = 0
    const controller = new AppController(bridge, {
      chat: { scheduleFrame: frames.schedule, newConversationId: () => `conv-${++n}` },
      newId: (prefix) => `${prefix}-${++n}`,
      onDidClose: (listener) => ((drop = listener), () => {}),
      onDidReconnect: (listener) => ((reconnected = listener), () => {}),
    })
    await controller.start()
    const conversationId = controller.chat.getSnapshot().activeConversationId!
    await controller.send(conversationId, 'hi')
    drop!(new RpcError(ErrorCode.InternalError, 'the hub closed the connection'))
    expect(controller.connection.getSnapshot()).toEqual({ status: 'reconnecting', message: 'Reconnecting…' })
    const reply = controller.chat.conversation(conversationId)!.messages.at(-1) as AssistantMessage
    expect(reply.failure?.reason).toBe('connection_lost')
    expect(await controller.send(conversationId, 'meanwhile')).toBe('disconnected')

    bridge.hub.disconnect(bridge)
    reconnected!()
    await vi.waitFor(() => expect(controller.connection.getSnapshot().status).toBe('ready'))
    expect(bridge.callsOf('host.subscribe')).toHaveLength(2)
    expect(await controller.send(conversationId, 'again')).toBeUndefined()
    expect(bridge.callsOf('agents.chat')).toHaveLength(2)
  })

  it('reports a refused token', async () => {
    const bridge = new FakeBridge(undefined, {
      'host.subscribe': () => {
        throw new RpcError(ErrorCode.NotAuthenticated, 'not authenticated')
      },
    })
    const { controller } = await started(bridge)
    expect(controller.connection.getSnapshot()).toMatchObject({ status: 'failed', message: expect.stringContaining('token') })
  })

  it('stops listening when disposed', async () => {
    const { bridge, controller } = await started()
    expect(bridge.listenerCount).toBe(1)
    controller.dispose()
    expect(bridge.listenerCount).toBe(0)
  })
})
