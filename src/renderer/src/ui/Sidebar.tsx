import type { Conversation } from '../model/chat-store.js'
import { AgentList } from './AgentList.js'
import { useController, useEnvironment, useSearch } from './controller-context.js'
import { ConversationList } from './ConversationList.js'
import { useView } from './provider-hooks.js'
import { SearchBox, SearchResults } from './Search.js'

/** "New chat", "New window", search, the hub's conversations, and the agents. */
export function Sidebar({ active }: { active: Conversation | undefined }) {
  const controller = useController()
  const environment = useEnvironment()
  const search = useSearch()
  const view = useView()
  const selectedAgent = active ? (active.agentId ?? controller.agentFor(active.id)) : null

  const selectAgent = (agentId: string) => {
    // A conversation with turns keeps its agent; the choice then opens a new chat.
    if (!active || active.activeSessionId || active.messages.length > 0) controller.newChat(agentId)
    else controller.chat.setConversationAgent(active.id, agentId)
  }

  return (
    <aside className="sidebar" id="sidebar" aria-label="Conversations and agents">
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
      <SearchBox />
      {search.query.trim() ? <SearchResults /> : <ConversationList active={active} />}
      <AgentList selectedId={selectedAgent} onSelect={selectAgent} />
      <button
        type="button"
        className="button button--ghost sidebar__settings"
        data-testid="open-settings"
        aria-current={view === 'settings' ? 'page' : undefined}
        onClick={() => controller.view.set(view === 'settings' ? 'chat' : 'settings')}
      >
        Settings
      </button>
    </aside>
  )
}
