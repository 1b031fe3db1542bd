import { useCallback, useEffect, useState } from 'react'
import { REFUSAL_TEXT } from '../model/app-controller.js'
import type { Conversation } from '../model/chat-store.js'
import { Announcer } from './Announcer.js'
import { statusLabel } from './AgentList.js'
import { Composer } from './Composer.js'
import { useAgentsState, useConnection, useController, useConversationList, useEnvironment } from './controller-context.js'
import { FirstStart } from './FirstStart.js'
import { MessageList } from './MessageList.js'
import { ModelPicker } from './ModelPicker.js'
import { useProviders } from './provider-hooks.js'
import { saveFile } from './save-file.js'
import { plainTitle } from './plain-title.js'

export function ChatView({ conversation, drafts }: { conversation: Conversation; drafts: Map<string, string> }) {
  const controller = useController()
  const environment = useEnvironment()
  const { agents } = useAgentsState()
  const connection = useConnection()
  useConversationList() // busy and the title live in the list store
  const meta = controller.conversations.conversation(conversation.id)
  const agentId = conversation.agentId ?? controller.agentFor(conversation.id)
  const agent = agentId === null ? undefined : agents.find((a) => a.id === agentId)
  const agentName = agent?.name ?? agentId ?? 'Agent'
  const ours = conversation.activeSessionId !== null
  const elsewhere = controller.busyElsewhere(conversation.id)
  const connected = connection.status === 'ready'
  const title = plainTitle(meta?.title ?? (conversation.title || 'Conversation'))
  // Each reply is labelled with the agent that wrote it, whatever the conversation talks to now.
  const nameOf = useCallback((id: string) => agents.find((a) => a.id === id)?.name ?? id, [agents])
  const [problem, setProblem] = useState<string | undefined>()
  const providers = useProviders()

  // Esc stops the reply in flight, wherever the focus is.
  useEffect(() => {
    if (!ours) return
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return
      event.preventDefault()
      void controller.cancel(conversation.id)
    }
    window.addEventListener('keydown', onKeyDown)
    return () => window.removeEventListener('keydown', onKeyDown)
  }, [ours, controller, conversation.id])

  const exportMarkdown = async () => {
    setProblem(undefined)
    const result = await controller.exportMarkdown(conversation.id)
    if (!result.ok) return setProblem(result.message)
    try {
      await saveFile(environment, { fileName: result.fileName, mediaType: 'text/markdown', text: result.markdown })
    } catch (error) {
      setProblem(`Could not save the file: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  let hint: string | undefined
  if (!connected) hint = connection.status === 'connecting' ? 'Connecting to the hub…' : 'Not connected to the hub.'
  else if (elsewhere) hint = 'Waiting for the reply another window is receiving…'
  else if (!agent && agents.length > 0 && agentId !== null) hint = `${agentName} is no longer registered with the hub.`
  else if (agent && agent.status !== 'running') hint = `${agent.name} is ${statusLabel(agent.status).toLowerCase()}.`

  const empty =
    conversation.load === 'loading' ? (
      <div className="chat__empty" role="status">
        Loading the conversation…
      </div>
    ) : conversation.load === 'failed' ? (
      <div className="chat__empty" role="alert" data-testid="load-error">
        <p>{conversation.loadError}</p>
        <button type="button" className="button" onClick={() => void controller.open(conversation.id)}>
          Try again
        </button>
      </div>
    ) : providers.loaded && providers.providers.length === 0 ? (
      <FirstStart />
    ) : (
      <div className="chat__empty">
        <div className="chat__empty-title">{agent ? `Chat with ${agent.name}` : 'No agent yet'}</div>
        {agent?.description && <p>{agent.description}</p>}
      </div>
    )

  return (
    <main className="chat" aria-label={title} data-testid="chat" data-conversation-id={conversation.id}>
      <header className="chat__header">
        <h1 className="chat__title" data-testid="chat-title">
          {title}
        </h1>
        {agent && (
          <span className="chat__agent">
            <span className="status-dot" data-status={agent.status} aria-hidden="true" />
            {agent.name}
          </span>
        )}
        {conversation.load === 'loaded' && conversation.messages.length > 0 && (
          <button type="button" className="button button--small" data-testid="export" title="Save this conversation as a Markdown file" onClick={() => void exportMarkdown()}>
            Export
          </button>
        )}
      </header>
      {elsewhere && (
        <div className="chat__notice" role="status" data-testid="busy-elsewhere">
          <span className="pulse" aria-hidden="true" /> A reply is being written in another window. It appears here when it is finished.
        </div>
      )}
      {problem && (
        <div className="chat__notice chat__notice--error" role="alert">
          {problem}
        </div>
      )}
      <MessageList conversationId={conversation.id} messages={conversation.messages} agentName={nameOf} empty={empty} />
      <Announcer messages={conversation.messages} agentName={nameOf} />
      <ModelPicker conversationId={conversation.id} agent={agent} disabled={ours} />
      <Composer
        key={conversation.id}
        initialText={drafts.get(conversation.id) ?? ''}
        busy={ours}
        disabled={!connected || agentId === null || elsewhere || conversation.load === 'loading'}
        placeholder={agentId === null ? 'No agent available' : `Message ${agentName}…`}
        hint={hint}
        onDraftChange={(text) => (text ? drafts.set(conversation.id, text) : drafts.delete(conversation.id))}
        onSend={async (text) => {
          const refusal = await controller.send(conversation.id, text)
          return refusal && REFUSAL_TEXT[refusal]
        }}
        onStop={() => void controller.cancel(conversation.id)}
      />
    </main>
  )
}
