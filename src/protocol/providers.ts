import { z } from 'zod'
import { Limits, isHttpUrl } from './limits.js'

/** Model providers configured at run time (PROTOCOL.md §12). */
export const ProviderKindSchema = z.enum(['openai', 'anthropic'])
export type ProviderKind = z.infer<typeof ProviderKindSchema>

const HttpUrlSchema = z.string().max(2048).refine(isHttpUrl, 'must be an http or https URL')

/** What a host sees of a provider: never the key itself, only whether one is stored. */
export const ProviderSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: ProviderKindSchema,
  base_url: z.string(),
  has_api_key: z.boolean(),
  default_model: z.string().nullable(),
  system_prompt: z.string().nullable(),
  temperature: z.number().nullable(),
  max_tokens: z.number().int().nullable(),
})
export type Provider = z.infer<typeof ProviderSchema>

export const ProviderSaveParamsSchema = z.strictObject({
  id: z.string().regex(Limits.agentIdPattern, 'must match ^[A-Za-z0-9._-]{1,64}$'),
  name: z.string().min(1).max(256),
  kind: ProviderKindSchema,
  base_url: HttpUrlSchema,
  /** Omitted keeps the stored key; null removes it. */
  api_key: z.string().min(1).max(4096).nullable().optional(),
  default_model: z.string().min(1).max(Limits.modelMaxChars).nullable().optional(),
  system_prompt: z.string().max(65_536).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).nullable().optional(),
})
export type ProviderSaveParams = z.infer<typeof ProviderSaveParamsSchema>

export const ProviderMethods = {
  'providers.list': { params: z.strictObject({}), result: z.object({ providers: z.array(ProviderSchema) }) },
  'providers.save': { params: ProviderSaveParamsSchema, result: ProviderSchema },
  'providers.delete': {
    params: z.strictObject({ id: z.string().min(1).max(64) }),
    result: z.object({ deleted: z.boolean() }),
  },
} as const

/** §12 error codes of a provider agent's `error` events. */
export const ProviderErrorCode = {
  AuthFailed: 'auth_failed',
  NotFound: 'not_found',
  RateLimited: 'rate_limited',
  ServerError: 'server_error',
  Unreachable: 'unreachable',
  BadResponse: 'bad_response',
} as const
