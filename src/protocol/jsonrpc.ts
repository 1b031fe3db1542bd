import { z } from 'zod'
import type { RpcErrorObject } from './errors.js'

/** The JSON-RPC 2.0 envelope. Payload schemas live next to their methods. */
export const RequestIdSchema = z.union([z.string(), z.number()])
export type RequestId = z.infer<typeof RequestIdSchema>

export const RpcErrorObjectSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
})

/**
 * Object params pass through uncopied: the method's own schema parses them, so a
 * `__proto__` key (which a copying record schema would silently drop) still reaches
 * a strict params schema and is refused by name, and no message is copied twice.
 */
const ParamsObjectSchema = z.custom<Record<string, unknown>>(isPlainObject)

export const RpcRequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string(),
  params: z.union([ParamsObjectSchema, z.array(z.unknown())]).optional(),
  id: z.union([RequestIdSchema, z.null()]).optional(),
})
export type RpcRequest = z.infer<typeof RpcRequestSchema>

export const RpcSuccessSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([RequestIdSchema, z.null()]),
  result: z.unknown(),
})

export const RpcFailureSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([RequestIdSchema, z.null()]),
  error: RpcErrorObjectSchema,
})

export const RpcResponseSchema = z.union([RpcFailureSchema, RpcSuccessSchema])
export type RpcResponse = z.infer<typeof RpcResponseSchema>

export const RpcMessageSchema = z.union([RpcRequestSchema, RpcResponseSchema])
export type RpcMessage = z.infer<typeof RpcMessageSchema>

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A plain object (from any realm, or without prototype): what `z.record()` accepts, checked the same way. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false
  const ctor: unknown = value.constructor
  if (ctor === undefined || typeof ctor !== 'function') return true
  const proto: unknown = (ctor as { prototype?: unknown }).prototype
  return isRecord(proto) && Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf')
}

export function successResponse(id: RequestId | null, result: unknown) {
  return { jsonrpc: '2.0' as const, id, result }
}

export function errorResponse(id: RequestId | null, error: RpcErrorObject) {
  return { jsonrpc: '2.0' as const, id, error }
}

export function notification<M extends string, P>(method: M, params: P) {
  return { jsonrpc: '2.0' as const, method, params }
}

/** The id of a message that may be malformed, or null when it cannot be read (§1). */
export function readableId(message: unknown): RequestId | null {
  if (!isRecord(message)) return null
  const id = message.id
  // NaN and ±Infinity (possible over structured clone) are not JSON-RPC ids.
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null
}

/** Formats zod issues as one line that names the offending key or path. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}${
          issue.path.length ? ` in '${issue.path.join('.')}'` : ''
        }`
      }
      const path = issue.path.length ? `'${issue.path.join('.')}': ` : ''
      return `${path}${issue.message}`
    })
    .join('; ')
}
