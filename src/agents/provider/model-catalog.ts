import { Limits } from '../../protocol/limits.js'
import { ProviderErrorCode } from '../../protocol/providers.js'
import { abortable } from './abortable.js'
import type { ModelClient, ModelInfo } from './model-client.js'
import { ProviderError } from './provider-error.js'

/** §6: `agent.models` holds at most this many entries. */
const MODELS_MAX = 1000
/** A model list is quick to answer or not coming: the start does not wait the chat timeout for it. */
const LIST_TIMEOUT_MAX_MS = 30_000

export type AnnounceModels = (models: ModelInfo[], defaultModel: string | null) => void

/**
 * The server's models (§12): listed at start and announced with `agent.models`.
 * A listing that fails leaves the list empty; the failure is kept so a chat that
 * has no model to name reports it after one more try.
 */
export class ModelCatalog {
  private models: ModelInfo[] = []
  private failure: ProviderError | null = null
  private listing: Promise<void> | null = null

  constructor(
    private readonly client: ModelClient,
    private readonly defaultModel: string | null,
    private readonly timeoutMs: number,
    private readonly announce: AnnounceModels,
  ) {}

  /** Lists the models and announces them (an empty list when the server cannot say). Never rejects. */
  refresh(): Promise<void> {
    this.listing ??= this.list().finally(() => {
      this.listing = null
    })
    return this.listing
  }

  private async list(): Promise<void> {
    try {
      const listed = await this.client.listModels({ signal: new AbortController().signal, timeoutMs: Math.min(this.timeoutMs, LIST_TIMEOUT_MAX_MS) })
      this.models = listed.filter((model) => model.id.length <= Limits.modelMaxChars).slice(0, MODELS_MAX)
      this.failure = null
    } catch (error) {
      this.models = []
      this.failure =
        error instanceof ProviderError
          ? error
          : new ProviderError(ProviderErrorCode.BadResponse, 'The model list could not be read: check the provider\'s base URL and kind.')
    }
    this.announce(this.models, this.defaultModel)
  }

  /** §12: the chat's model, else the default model, else the first announced one. */
  async pick(requested: string | undefined, signal: AbortSignal): Promise<string> {
    const chosen = requested ?? this.defaultModel ?? this.models[0]?.id
    if (chosen !== undefined) return chosen
    await abortable(this.refresh(), signal)
    const first = this.models[0]?.id
    if (first !== undefined) return first
    throw (
      this.failure ??
      new ProviderError(ProviderErrorCode.NotFound, 'The server lists no models: pick a model or set the provider\'s default model.')
    )
  }
}
