import { useRef } from 'react'
import type { AppController } from '../model/app-controller.js'
import { ChatView } from './ChatView.js'
import { ControllerContext, EnvironmentContext, useChatState, useConnection, useEnvironment, type UiEnvironment } from './controller-context.js'
import { useView } from './provider-hooks.js'
import { SettingsView } from './SettingsView.js'
import { Sidebar } from './Sidebar.js'

/**
 * App
 * ├─ ConnectionBanner
 * ├─ Sidebar: New chat, New window, Search, ConversationList (the hub's) + AgentList
 * └─ ChatView: MessageList (virtualised MessageViews: Markdown, ToolCallRow, ApprovalCard, UsageLine) + ModelPicker + Composer
 *    or SettingsView: providers (ProviderForm), MCP tools seen
 */
export function App({ controller, environment }: { controller: AppController; environment: UiEnvironment }) {
  return (
    <ControllerContext.Provider value={controller}>
      <EnvironmentContext.Provider value={environment}>
        <Shell />
      </EnvironmentContext.Provider>
    </ControllerContext.Provider>
  )
}

function Shell() {
  const { conversations, activeConversationId } = useChatState()
  const drafts = useRef(new Map<string, string>()).current
  const active = conversations.find((c) => c.id === activeConversationId)
  const view = useView()
  return (
    <div className="app">
      <ConnectionBanner />
      <div className="app__body">
        <Sidebar active={active} />
        {view === 'settings' ? <SettingsView /> : active ? <ChatView key={active.id} conversation={active} drafts={drafts} /> : <main className="chat chat--none" />}
      </div>
    </div>
  )
}

function ConnectionBanner() {
  const connection = useConnection()
  const environment = useEnvironment()
  if (connection.status === 'ready') return null
  if (connection.status === 'connecting' || connection.status === 'reconnecting') {
    return (
      <div className="banner banner--info" role="status">
        {connection.status === 'connecting' ? 'Connecting to the hub…' : 'Reconnecting…'}
      </div>
    )
  }
  return (
    <div className="banner banner--error" role="alert" data-testid="connection-error">
      <span>{connection.message ?? 'Not connected to the hub.'}</span>
      {connection.status === 'closed' && environment.reconnect && (
        <button type="button" className="button button--small" onClick={() => environment.reconnect?.()}>
          Reconnect
        </button>
      )}
    </div>
  )
}

/** Shown in a browser tab opened without the hub's `#token=` link. */
export function MissingToken() {
  return (
    <div className="app app--centered">
      <div className="notice" role="alert">
        <h1>CarHost needs its access link</h1>
        <p>
          Open the address the hub printed when it started, the one that ends in <code>#token=…</code>. The token is
          removed from the address bar once the page has read it, so reloading the page needs the link again.
        </p>
      </div>
    </div>
  )
}
