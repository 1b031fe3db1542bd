import type { AgentInfo, AgentStatus } from '../../../protocol/agent-info.js'
import { useAgentsState, useConnection, useController } from './controller-context.js'

const LABELS: Record<AgentStatus, string> = {
  running: 'Running',
  starting: 'Starting',
  stopped: 'Stopped',
  backoff: 'Restarting',
  errored: 'Crashed',
}

export function statusLabel(status: AgentStatus): string {
  return LABELS[status]
}

/** Every agent of the hub with its live status; picking one points the open conversation at it. */
export function AgentList({ selectedId, onSelect }: { selectedId: string | null; onSelect(agentId: string): void }) {
  const { agents, loaded } = useAgentsState()
  return (
    <nav className="agent-list" data-testid="agent-list" aria-label="Agents">
      <h2 className="sidebar__heading">Agents</h2>
      {loaded && agents.length === 0 && <p className="sidebar__empty">No agents registered.</p>}
      <ul>
        {agents.map((agent) => (
          <AgentItem key={agent.id} agent={agent} selected={agent.id === selectedId} onSelect={onSelect} />
        ))}
      </ul>
    </nav>
  )
}

function AgentItem({ agent, selected, onSelect }: { agent: AgentInfo; selected: boolean; onSelect(agentId: string): void }) {
  const controller = useController()
  const connected = useConnection().status === 'ready'
  const startable = connected && (agent.status === 'stopped' || agent.status === 'errored')
  return (
    <li className="agent-item" data-testid="agent-item" data-agent-id={agent.id} data-status={agent.status}>
      <button
        type="button"
        className="agent-item__main"
        aria-current={selected ? 'true' : undefined}
        title={agent.description || agent.name}
        onClick={() => onSelect(agent.id)}
      >
        <span className="status-dot" data-status={agent.status} aria-hidden="true" />
        <span className="agent-item__name">{agent.name}</span>
        <span className="agent-item__status">{statusLabel(agent.status)}</span>
      </button>
      {startable && (
        <button type="button" className="button button--small" onClick={() => void controller.startAgent(agent.id)}>
          Start
        </button>
      )}
    </li>
  )
}
