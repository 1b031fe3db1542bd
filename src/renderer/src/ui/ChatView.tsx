import { useEffect, useLayoutEffect, useRef } from 'react'
import type { SendRefusal } from '../model/app-controller.js'
import type { Conversation } from '../model/chat-store.js'
import { Composer } from './Composer.js'
import { useAgentsState, useConnection, useController } from './controller-context.js'
import { MessageView } from './MessageView.js'
import { statusLabel } from './AgentList.js'

const REFUSALS: Record<SendRefusal, string> = {
  empty: 'Type a message first.',
  too_long: 'This message is too long (the limit is 256 KiB).',
  no_agent: 'There is no agent to talk to.',
  busy: 'Wait for the reply, or stop it first.',
  disconnected: 'Not connected to the hub.',
}

export function ChatView({ conversation, drafts }: { conversation: Conversation; drafts: Map<string, string> }) {
  const controller = useController()
  const { agents } = useAgentsState()
  const connection = useConnection()
  const agentId = conversation.agentId ?? controller.agentFor(conversation.id)
  const agent = agentId === null ? undefined : agents.find((a) => a.id === agentId)
  const agentName = agent?.name ?? agentId ?? 'Agent'
  const busy = conversation.activeSessionId !== null
  const connected = connection.status === 'ready'

  // Esc stops the reply in flight, wherever the focus is.
  useEffect(() => {
    if (!busy) return
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return
      event.preventDefault()
      void controller.cancel(conversation.id)
    }
    window.addEventListener('keydown', onKeyDown)
    return () => window.removeEventListener('keydown', onKeyDown)
  }, [busy, controller, conversation.id])

  const list = useRef<HTMLDivElement>(null)
  const pinned = useRef(true)
  useLayoutEffect(() => {
    const el = list.current
    if (el && pinned.current) el.scrollTop = el.scrollHeight
  }, [conversation.messages])

  let hint: string | undefined
  if (!connected) hint = connection.status === 'connecting' ? 'Connecting to the hub…' : 'Not connected to the hub.'
  else if (!agent && agents.length > 0 && agentId !== null) hint = `${agentName} is no longer registered with the hub.`
  else if (agent && agent.status !== 'running') hint = `${agent.name} is ${statusLabel(agent.status).toLowerCase()}.`

  return (
    <main className="chat" aria-label={conversation.title}>
      <header className="chat__header">
        <h1 className="chat__title">{conversation.title}</h1>
        {agent && (
          <span className="chat__agent">
            <span className="status-dot" data-status={agent.status} aria-hidden="true" />
            {agent.name}
          </span>
        )}
      </header>
      <div
        className="chat__messages"
        ref={list}
        onScroll={(e) => {
          const el = e.currentTarget
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48
        }}
      >
        {conversation.messages.length === 0 ? (
          <div className="chat__empty">
            <div className="chat__empty-title">{agent ? `Chat with ${agent.name}` : 'No agent yet'}</div>
            {agent?.description && <p>{agent.description}</p>}
          </div>
        ) : (
          <div className="chat__column">
            {conversation.messages.map((message) => (
              <MessageView key={message.id} message={message} agentName={agentName} />
            ))}
          </div>
        )}
      </div>
      <Composer
        key={conversation.id}
        initialText={drafts.get(conversation.id) ?? ''}
        busy={busy}
        disabled={!connected || agentId === null}
        placeholder={agentId === null ? 'No agent available' : `Message ${agentName}…`}
        hint={hint}
        onDraftChange={(text) => (text ? drafts.set(conversation.id, text) : drafts.delete(conversation.id))}
        onSend={async (text) => {
          const refusal = await controller.send(conversation.id, text)
          return refusal && REFUSALS[refusal]
        }}
        onStop={() => void controller.cancel(conversation.id)}
      />
    </main>
  )
}
