import type { ProviderKind } from '../../../protocol/providers.js'

/** A starting point for the provider form (§12 `kind` and `base_url`); every field stays editable. */
export interface ProviderPreset {
  readonly key: string
  readonly label: string
  /** The id and name a new provider gets. */
  readonly id: string
  readonly name: string
  readonly kind: ProviderKind
  readonly baseUrl: string
  /** The server wants an API key: the key field is shown. */
  readonly needsKey: boolean
  readonly hint: string
}

export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  {
    key: 'ollama',
    label: 'Ollama',
    id: 'ollama',
    name: 'Ollama',
    kind: 'openai',
    baseUrl: 'http://127.0.0.1:11434/v1',
    needsKey: false,
    hint: 'Models running on this computer with Ollama (ollama serve). No key needed.',
  },
  {
    key: 'lmstudio',
    label: 'LM Studio',
    id: 'lmstudio',
    name: 'LM Studio',
    kind: 'openai',
    baseUrl: 'http://127.0.0.1:1234/v1',
    needsKey: false,
    hint: "Start LM Studio's local server (Developer tab). No key needed.",
  },
  {
    key: 'openai',
    label: 'OpenAI',
    id: 'openai',
    name: 'OpenAI',
    kind: 'openai',
    baseUrl: 'https://api.openai.com/v1',
    needsKey: true,
    hint: 'Needs an API key from platform.openai.com.',
  },
  {
    key: 'anthropic',
    label: 'Anthropic',
    id: 'anthropic',
    name: 'Anthropic',
    kind: 'anthropic',
    baseUrl: 'https://api.anthropic.com',
    needsKey: true,
    hint: 'Needs an API key from console.anthropic.com.',
  },
  {
    key: 'openrouter',
    label: 'OpenRouter',
    id: 'openrouter',
    name: 'OpenRouter',
    kind: 'openai',
    baseUrl: 'https://openrouter.ai/api/v1',
    needsKey: true,
    hint: 'Needs an API key from openrouter.ai.',
  },
  {
    key: 'custom',
    label: 'Custom OpenAI-compatible',
    id: 'custom',
    name: 'Custom server',
    kind: 'openai',
    baseUrl: 'http://127.0.0.1:8080/v1',
    needsKey: false,
    hint: "Any server that speaks OpenAI's chat completions (llama.cpp, vLLM, …). The base URL includes the version path, e.g. /v1.",
  },
]

/** The preset a saved provider most likely came from, for the form's key field and hint. */
export function presetOf(kind: ProviderKind, baseUrl: string): ProviderPreset {
  return PROVIDER_PRESETS.find((p) => p.kind === kind && p.baseUrl === baseUrl) ?? PROVIDER_PRESETS.at(-1)!
}
