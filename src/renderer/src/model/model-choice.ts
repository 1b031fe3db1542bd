import type { AgentInfo } from '../../../protocol/agent-info.js'
import { ValueStore } from './value-store.js'

/** Where a window keeps the model picked for each conversation (not a secret). */
export type ModelMemory = Pick<Storage, 'getItem' | 'setItem'>

const KEY_PREFIX = 'carhost.model.'

/**
 * The model picked in the composer, remembered per conversation (the model
 * goes as `agents.chat` `model`, §3). Without a pick the agent's
 * `default_model` is shown and sent, else its first announced model (§12).
 */
export class ModelChoice {
  /** Bumped on every pick, so views reading `picked` render again. */
  readonly version = new ValueStore(0)
  private readonly picks = new Map<string, string>()

  constructor(private readonly memory: ModelMemory | null) {}

  picked(conversationId: string): string | undefined {
    const held = this.picks.get(conversationId)
    if (held !== undefined) return held
    try {
      return this.memory?.getItem(KEY_PREFIX + conversationId) ?? undefined
    } catch {
      return undefined
    }
  }

  pick(conversationId: string, model: string): void {
    this.picks.set(conversationId, model)
    try {
      this.memory?.setItem(KEY_PREFIX + conversationId, model)
    } catch {
      // Storage full or disabled: the pick holds for this page only.
    }
    this.version.set(this.version.getSnapshot() + 1)
  }

  /** The model a turn of this conversation asks for; none for an agent that announced no models. */
  modelFor(conversationId: string, agent: AgentInfo | undefined): string | undefined {
    if (!agent || agent.models.length === 0) return undefined
    return this.picked(conversationId) ?? agent.default_model ?? agent.models[0]?.id
  }
}

export function localMemory(): ModelMemory | null {
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null
  }
}
