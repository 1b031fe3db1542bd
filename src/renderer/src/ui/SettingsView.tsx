import { useState } from 'react'
import type { Provider } from '../../../protocol/providers.js'
import { statusLabel } from './AgentList.js'
import { useAgentsState, useConnection, useController } from './controller-context.js'
import { useMcpSightings, useProviders } from './provider-hooks.js'
import { ProviderForm } from './ProviderForm.js'

type Editing = { mode: 'list' } | { mode: 'add' } | { mode: 'edit'; id: string }

/** Settings: the model providers of §12 and what the window has seen of their MCP tools. */
export function SettingsView() {
  const controller = useController()
  const { providers, loaded, problem } = useProviders()
  const connected = useConnection().status === 'ready'
  const [editing, setEditing] = useState<Editing>(() => (loaded && providers.length === 0 ? { mode: 'add' } : { mode: 'list' }))
  const editingProvider = editing.mode === 'edit' ? providers.find((p) => p.id === editing.id) : undefined

  return (
    <main className="settings" aria-label="Settings" data-testid="settings">
      <header className="chat__header">
        <h1 className="chat__title">Settings</h1>
        <button type="button" className="button button--small" data-testid="settings-close" onClick={() => controller.view.set('chat')}>
          Back to chat
        </button>
      </header>
      <div className="settings__body">
        <section className="settings-section" aria-labelledby="settings-providers">
          <div className="settings-section__head">
            <h2 id="settings-providers">Model providers</h2>
            {editing.mode === 'list' && loaded && (
              <button type="button" className="button button--primary button--small" data-testid="provider-add" disabled={!connected} onClick={() => setEditing({ mode: 'add' })}>
                Add provider
              </button>
            )}
          </div>
          {problem && (
            <p className="settings-problem" role="alert">
              {problem}
            </p>
          )}
          {!loaded && !problem && <p role="status">Loading…</p>}
          {loaded && providers.length === 0 && editing.mode === 'list' && (
            <p className="settings-empty">No provider yet. Add one to chat with a language model.</p>
          )}
          {editing.mode === 'list' ? (
            <ul className="provider-list" data-testid="provider-list">
              {providers.map((provider) => (
                <ProviderRow key={provider.id} provider={provider} onEdit={() => setEditing({ mode: 'edit', id: provider.id })} />
              ))}
            </ul>
          ) : (
            <ProviderForm key={editing.mode === 'edit' ? editing.id : 'new'} editing={editingProvider} onDone={() => setEditing({ mode: 'list' })} />
          )}
        </section>
        <McpSection providers={providers} />
      </div>
    </main>
  )
}

function ProviderRow({ provider, onEdit }: { provider: Provider; onEdit(): void }) {
  const controller = useController()
  const { agents } = useAgentsState()
  const agent = agents.find((a) => a.id === provider.id)
  const [confirming, setConfirming] = useState(false)
  const [problem, setProblem] = useState<string | undefined>()
  const models = agent?.models.length ?? 0

  const remove = async () => {
    const result = await controller.providers.remove(provider.id)
    if (!result.ok) setProblem(result.message)
    setConfirming(false)
  }

  return (
    <li className="provider-row" data-testid="provider-row" data-provider-id={provider.id} data-status={agent?.status ?? 'unknown'}>
      <div className="provider-row__main">
        <span className="status-dot" data-status={agent?.status} aria-hidden="true" />
        <span className="provider-row__name">{provider.name}</span>
        <span className="provider-row__meta">
          {agent ? statusLabel(agent.status) : 'Not running'} · <span data-testid="provider-models">{models === 1 ? '1 model' : `${models} models`}</span>
          {provider.default_model && ` · default ${provider.default_model}`}
        </span>
        <span className="provider-row__url">{provider.base_url}</span>
      </div>
      {confirming ? (
        <div className="provider-row__confirm" role="alertdialog" aria-label={`Delete ${provider.name}?`} data-testid="delete-confirm">
          <span>Delete {provider.name}? Its key is removed and chats with it in progress end.</span>
          <button type="button" className="button button--danger button--small" data-testid="delete-yes" onClick={() => void remove()}>
            Delete
          </button>
          <button type="button" className="button button--small" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <div className="provider-row__actions">
          <button type="button" className="button button--small" data-testid="provider-edit" onClick={onEdit}>
            Edit
          </button>
          <button type="button" className="button button--small" data-testid="provider-delete" onClick={() => setConfirming(true)}>
            Delete
          </button>
        </div>
      )}
      {problem && (
        <div className="settings-problem" role="alert">
          {problem}
        </div>
      )}
    </li>
  )
}

/**
 * The protocol has no host method listing `mcp.json`'s servers (§12); this
 * shows what this window has seen of them in its chats: tool names from
 * `tool_call` events and the providers' `status` notices (a server that failed
 * to start is reported there on the next turn).
 */
function McpSection({ providers }: { providers: readonly Provider[] }) {
  const sightings = useMcpSightings()
  const seen = providers.filter((p) => sightings[p.id])
  return (
    <section className="settings-section" aria-labelledby="settings-mcp" data-testid="mcp-section">
      <h2 id="settings-mcp">MCP tools</h2>
      <p className="settings-form__hint">
        Providers offer the tools of the MCP servers listed in <code>mcp.json</code> in CarHost's data folder (the format of Claude Desktop:{' '}
        <code>{'{"mcpServers": {"name": {"command": …, "args": […], "autoApprove": […]}}}'}</code>). A tool runs only after you approve it in the chat,
        unless its server's <code>autoApprove</code> lists it. The hub does not report the servers themselves; below is what your chats here have
        seen.
      </p>
      {seen.length === 0 && <p className="settings-empty">No tool used and no server problem reported yet.</p>}
      {seen.map((provider) => {
        const { tools, notices } = sightings[provider.id]!
        return (
          <div key={provider.id} className="mcp-provider" data-testid="mcp-provider" data-provider-id={provider.id}>
            <h3>{provider.name}</h3>
            <ul>
              {Object.entries(tools).map(([server, names]) => (
                <li key={server} data-testid="mcp-server" data-server={server}>
                  <strong>{server}</strong>: {names.join(', ')}
                </li>
              ))}
            </ul>
            {notices.length > 0 && (
              <ul className="mcp-notices">
                {notices.map((notice, i) => (
                  <li key={i} className="settings-problem">
                    {notice}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )
      })}
    </section>
  )
}
