import { z } from 'zod'
import type { AgentInfo } from '../../../protocol/agent-info.js'
import { ValueStore } from './value-store.js'

/** Where a window keeps the model picked for each conversation (not a secret). */
export type ModelMemory = Pick<Storage, 'getItem' | 'setItem'>

const KEY_PREFIX = 'carhost.model.'

/** A pick belongs to the agent it was made for: another agent's models are not this one's. */
const PickSchema = z.object({ agent_id: z.string(), model: z.string().min(1).max(256) })
type Pick_ = z.infer<typeof PickSchema>

/**
 * The model picked in the composer, remembered per conversation (the model
 * goes as `agents.chat` `model`, §3). Without a pick the agent's
 * `default_model` is shown and sent, else its first announced model (§12).
 */
export class ModelChoice {
  /** Bumped on every pick, so views reading `modelFor` render again. */
  readonly version = new ValueStore(0)
  private readonly picks = new Map<string, Pick_>()

  constructor(private readonly memory: ModelMemory | null) {}

  /** The model picked in this conversation for this agent, if any. */
  picked(conversationId: string, agentId: string): string | undefined {
    const pick = this.picks.get(conversationId) ?? this.recall(conversationId)
    return pick?.agent_id === agentId ? pick.model : undefined
  }

  pick(conversationId: string, agentId: string, model: string): void {
    const pick = { agent_id: agentId, model }
    this.picks.set(conversationId, pick)
    try {
      this.memory?.setItem(KEY_PREFIX + conversationId, JSON.stringify(pick))
    } catch {
      // Storage full or disabled: the pick holds for this page only.
    }
    this.version.set(this.version.getSnapshot() + 1)
  }

  /** The model a turn of this conversation asks for; none for an agent that announced no models. */
  modelFor(conversationId: string, agent: AgentInfo | undefined): string | undefined {
    if (!agent || agent.models.length === 0) return undefined
    return this.picked(conversationId, agent.id) ?? agent.default_model ?? agent.models[0]?.id
  }

  private recall(conversationId: string): Pick_ | undefined {
    try {
      const raw = this.memory?.getItem(KEY_PREFIX + conversationId)
      if (!raw) return undefined
      const parsed = PickSchema.safeParse(JSON.parse(raw))
      if (!parsed.success) return undefined
      this.picks.set(conversationId, parsed.data)
      return parsed.data
    } catch {
      return undefined
    }
  }
}

export function localMemory(): ModelMemory | null {
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null
  }
}
