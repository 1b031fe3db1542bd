import type { AgentInfo } from '../../../protocol/agent-info.js'
import { useModelChoice } from './provider-hooks.js'

/**
 * The composer's model picker: the agent's announced models (§6), its default
 * marked. The pick is remembered per conversation and sent as `agents.chat`
 * `model`; an agent that announced none gets no picker.
 */
export function ModelPicker({ conversationId, agent, disabled }: { conversationId: string; agent: AgentInfo | undefined; disabled: boolean }) {
  const models = useModelChoice()
  if (!agent || agent.models.length === 0) return null
  const selected = models.modelFor(conversationId, agent)!
  const listed = agent.models.some((m) => m.id === selected)
  return (
    <div className="model-picker">
      <label className="model-picker__label" htmlFor={`model-${conversationId}`}>
        Model
      </label>
      <select
        id={`model-${conversationId}`}
        className="model-picker__select"
        data-testid="model-picker"
        value={selected}
        disabled={disabled}
        onChange={(e) => models.pick(conversationId, agent.id, e.target.value)}
      >
        {!listed && <option value={selected}>{selected} (not listed by the server)</option>}
        {agent.models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id}
            {m.id === agent.default_model ? ' — default' : ''}
          </option>
        ))}
      </select>
    </div>
  )
}
