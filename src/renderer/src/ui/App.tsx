import { useEffect, useRef, useState } from 'react'
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
  const connection = useConnection()
  const drafts = useRef(new Map<string, string>()).current
  const active = conversations.find((c) => c.id === activeConversationId)
  // Narrow windows (styles.css) hide the sidebar behind a button; choosing a conversation closes it again.
  const [sidebarOpen, setSidebarOpen] = useState(false)
  useEffect(() => setSidebarOpen(false), [activeConversationId])
  const toggle = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (!sidebarOpen) return
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return
      event.preventDefault()
      setSidebarOpen(false)
      toggle.current?.focus()
    }
    window.addEventListener('keydown', onKeyDown)
    return () => window.removeEventListener('keydown', onKeyDown)
  }, [sidebarOpen])
  const view = useView()
  // A refused token leaves nothing to show: one message, and what to do.
  if (connection.refused) return <AccessRefused />
  return (
    <div className="app" data-sidebar={sidebarOpen ? 'open' : 'closed'}>
      <ConnectionBanner />
      <div className="app__body">
        <button
          ref={toggle}
          type="button"
          className="button button--small sidebar-toggle"
          data-testid="sidebar-toggle"
          aria-expanded={sidebarOpen}
          aria-controls="sidebar"
          onClick={() => setSidebarOpen(!sidebarOpen)}
        >
          <span className="menu-icon" aria-hidden="true" /> {sidebarOpen ? 'Close' : 'Chats'}
        </button>
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
    <main className="app app--centered" data-testid="missing-token">
      <div className="notice" role="alert">
        <h1>CarHost needs its access link</h1>
        <p>
          Open the address the hub printed when it started, the one that ends in <code>#token=…</code>, or paste it into
          this tab's address bar. The tab then keeps its access until it is closed.
        </p>
      </div>
    </main>
  )
}

/** The hub refused the tab's token (a hub started with a new one, or a mistyped link). */
export function AccessRefused() {
  const environment = useEnvironment()
  return (
    <main className="app app--centered" data-testid="access-refused">
      <div className="notice" role="alert">
        <h1>The hub did not accept this link</h1>
        <p>
          {environment.kind === 'browser' ? (
            <>
              Its access token is not the hub's current one. Open the address the hub printed when it last started (it ends
              in <code>#token=…</code>), or paste it into this tab's address bar.
            </>
          ) : (
            <>The window's access to the hub was refused. Close this window and open CarHost again.</>
          )}
        </p>
      </div>
    </main>
  )
}
