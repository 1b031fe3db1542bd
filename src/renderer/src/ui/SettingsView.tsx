import { useState } from 'react'
import type { McpServerInfo, McpServerState } from '../../../protocol/agent-info.js'
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
 * Each provider's MCP servers as its agent reported them (`mcp_servers`, from
 * `agent.tools`; nothing when it never did), and what this window has seen of
 * them in its chats: tool names from `tool_call` events and the providers'
 * `status` notices.
 */
function McpSection({ providers }: { providers: readonly Provider[] }) {
  const sightings = useMcpSightings()
  const { agents } = useAgentsState()
  const shown = providers
    .map((provider) => ({ provider, servers: agents.find((a) => a.id === provider.id)?.mcp_servers, seen: sightings[provider.id] }))
    .filter(({ servers, seen }) => servers !== undefined || seen !== undefined)
  return (
    <section className="settings-section" aria-labelledby="settings-mcp" data-testid="mcp-section">
      <h2 id="settings-mcp">MCP tools</h2>
      <p className="settings-form__hint">
        Providers offer the tools of the MCP servers listed in <code>mcp.json</code> in CarHost's data folder (the format of Claude Desktop:{' '}
        <code>{'{"mcpServers": {"name": {"command": …, "args": […], "autoApprove": […]}}}'}</code>). A tool runs only after you approve it in the chat,
        unless its server's <code>autoApprove</code> lists it. A provider reads <code>mcp.json</code> when it starts: restart it after a change.
      </p>
      {shown.length === 0 && <p className="settings-empty">No MCP server reported, no tool used and no server problem seen yet.</p>}
      {shown.map(({ provider, servers, seen }) => (
        <div key={provider.id} className="mcp-provider" data-testid="mcp-provider" data-provider-id={provider.id}>
          <h3>{provider.name}</h3>
          {servers !== undefined && <McpServerList servers={servers} />}
          {seen && (Object.keys(seen.tools).length > 0 || seen.notices.length > 0) && (
            <>
              <p className="settings-form__hint">Seen in chats here:</p>
              <ul>
                {Object.entries(seen.tools).map(([server, names]) => (
                  <li key={server} data-testid="mcp-server" data-server={server}>
                    <strong>{server}</strong>: {names.join(', ')}
                  </li>
                ))}
              </ul>
              {seen.notices.length > 0 && (
                <ul className="mcp-notices">
                  {seen.notices.map((notice, i) => (
                    <li key={i} className="settings-problem">
                      {notice}
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
      ))}
    </section>
  )
}

const MCP_STATE_LABELS: Readonly<Record<McpServerState, string>> = {
  starting: 'Starting',
  ready: 'Ready',
  failed: 'Did not start',
  stopped: 'Stopped',
}

function McpServerList({ servers }: { servers: readonly McpServerInfo[] }) {
  if (servers.length === 0) return <p className="settings-empty">No MCP server: mcp.json lists none, or could not be read.</p>
  return (
    <ul className="mcp-servers" data-testid="mcp-servers">
      {servers.map((server) => (
        <li key={server.name} data-testid="mcp-server-status" data-server={server.name} data-state={server.state}>
          <strong>{server.name}</strong> <span className="settings-badge">{MCP_STATE_LABELS[server.state]}</span>
          {server.tools.length > 0 && (
            <span data-testid="mcp-server-tools">
              {': '}
              {server.tools.map((tool, i) => (
                <span key={i} title={tool.description}>
                  {i > 0 && ', '}
                  {tool.name}
                </span>
              ))}
            </span>
          )}
          {server.error !== undefined && (
            <div className="settings-problem" data-testid="mcp-server-error">
              {server.error}
            </div>
          )}
        </li>
      ))}
    </ul>
  )
}
