import type { Conversation } from '../model/chat-store.js'
import { AgentList } from './AgentList.js'
import { useAgentsState, useController, useEnvironment } from './controller-context.js'

/** Conversations of this window, "New chat", "New window", and the agents. */
export function Sidebar({ conversations, activeId }: { conversations: readonly Conversation[]; activeId: string | null }) {
  const controller = useController()
  const environment = useEnvironment()
  const { agents } = useAgentsState()
  const active = conversations.find((c) => c.id === activeId)
  const selectedAgent = active ? (active.agentId ?? controller.agentFor(active.id)) : null

  const selectAgent = (agentId: string) => {
    // A conversation mid-turn keeps its agent; the choice then opens a new chat.
    if (!active || active.activeSessionId) controller.newChat(agentId)
    else controller.chat.setConversationAgent(active.id, agentId)
  }

  return (
    <aside className="sidebar">
      <div className="sidebar__top">
        <span className="brand">CarHost</span>
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="new-window"
          title={environment.kind === 'electron' ? 'Open another CarHost window' : 'Open another tab on this hub'}
          onClick={() => void environment.openNewWindow().catch((e: unknown) => console.warn('carhost: new window failed', e))}
        >
          New window
        </button>
      </div>
      <button type="button" className="button button--new-chat" data-testid="new-chat" onClick={() => controller.newChat()}>
        <span className="plus-icon" aria-hidden="true" /> New chat
      </button>
      <nav className="conversation-list" aria-label="Conversations">
        <ul>
          {conversations.map((conversation) => {
            const agent = agents.find((a) => a.id === conversation.agentId)
            return (
              <li key={conversation.id} className="conversation-item" data-testid="conversation" data-active={conversation.id === activeId}>
                <button
                  type="button"
                  className="conversation-item__main"
                  aria-current={conversation.id === activeId ? 'page' : undefined}
                  onClick={() => controller.chat.selectConversation(conversation.id)}
                >
                  <span className="conversation-item__title">{conversation.title}</span>
                  <span className="conversation-item__agent">
                    {conversation.activeSessionId && <span className="pulse" aria-label="replying" />}
                    {agent?.name ?? conversation.agentId ?? ''}
                  </span>
                </button>
                <button
                  type="button"
                  className="conversation-item__close"
                  aria-label={`Close ${conversation.title}`}
                  title="Close"
                  onClick={() => controller.closeChat(conversation.id)}
                >
                  ×
                </button>
              </li>
            )
          })}
        </ul>
      </nav>
      <AgentList selectedId={selectedAgent} onSelect={selectAgent} />
    </aside>
  )
}
