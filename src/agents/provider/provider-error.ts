import { z } from 'zod'
import { ProviderErrorCode } from '../../protocol/providers.js'

export type ProviderErrorCodeValue = (typeof ProviderErrorCode)[keyof typeof ProviderErrorCode]

/**
 * A failure a person can act on (§12): `code` is one of the §12 codes and the
 * message says what to do. The SDK turns a thrown one into the turn's `error`
 * event with this code.
 */
export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCodeValue,
    message: string,
    /** The HTTP status when the server answered with an error. */
    readonly status?: number,
    /** The server's own words, if it gave any. */
    readonly detail?: string,
  ) {
    super(message)
    this.name = 'ProviderError'
  }
}

/** Error bodies as OpenAI, Anthropic, Ollama and most compatible servers send them. */
const ErrorBodySchema = z.union([
  z.object({ error: z.object({ message: z.string() }) }),
  z.object({ error: z.string() }),
  z.object({ message: z.string() }),
  z.object({ detail: z.string() }),
])

const DETAIL_MAX_CHARS = 300

/** The server's message from an error body, if it has one we can read. */
export function serverDetail(body: string): string | undefined {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return undefined
  }
  const parsed = ErrorBodySchema.safeParse(json)
  if (!parsed.success) return undefined
  const data = parsed.data
  const text = 'error' in data ? (typeof data.error === 'string' ? data.error : data.error.message) : 'message' in data ? data.message : data.detail
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  return trimmed.length > DETAIL_MAX_CHARS ? `${trimmed.slice(0, DETAIL_MAX_CHARS)}…` : trimmed
}

/**
 * Seconds to wait from `retry-after` (seconds or an HTTP date) or OpenAI's
 * `retry-after-ms`; undefined when the server gave neither.
 */
export function retryAfterSeconds(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN)
  if (Number.isFinite(ms) && ms >= 0) return Math.max(1, Math.ceil(ms / 1000))
  const raw = headers.get('retry-after')?.trim()
  if (!raw) return undefined
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.max(1, Math.ceil(Number(raw)))
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(1, Math.ceil((date - now) / 1000))
}

/** What a request was for, so a message can name it. */
export interface RequestSubject {
  url: string
  model?: string
}

/** The §12 error for an HTTP error status. */
export function httpStatusError(status: number, headers: Headers, body: string, subject: RequestSubject): ProviderError {
  const detail = serverDetail(body)
  const said = detail ? ` The server said: ${detail}` : ''
  if (status === 401 || status === 403) {
    return new ProviderError(
      ProviderErrorCode.AuthFailed,
      `The server refused the request (HTTP ${status}): check the provider's API key and that it may use this model.${said}`,
      status,
      detail,
    )
  }
  if (status === 404) {
    const model = subject.model ? ` and the model name '${subject.model}'` : ''
    return new ProviderError(
      ProviderErrorCode.NotFound,
      `Nothing found at ${endpoint(subject.url)} (HTTP 404): check the provider's base URL${model}.${said}`,
      status,
      detail,
    )
  }
  if (status === 429) {
    const seconds = retryAfterSeconds(headers)
    const when = seconds === undefined ? 'wait a little and try again' : `retry in ${seconds} s`
    return new ProviderError(ProviderErrorCode.RateLimited, `The server is rate limiting requests (HTTP 429): ${when}.${said}`, status, detail)
  }
  if (status >= 500) {
    return new ProviderError(
      ProviderErrorCode.ServerError,
      `The model server failed (HTTP ${status}): try again in a moment.${said}`,
      status,
      detail,
    )
  }
  return new ProviderError(
    ProviderErrorCode.BadResponse,
    `The server did not accept the request (HTTP ${status}): check the model and the provider's settings.${said}`,
    status,
    detail,
  )
}

const UNREACHABLE_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name could not be looked up',
  EHOSTUNREACH: 'the host cannot be reached',
  ENETUNREACH: 'the network cannot be reached',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
}

/** The §12 error for a request that never got an answer (fetch threw before a response). */
export function unreachableError(error: unknown, url: string): ProviderError {
  const code = causeCode(error)
  const reason =
    (code && UNREACHABLE_CAUSES[code]) ??
    (code && /CERT|TLS|SSL/i.test(code) ? `the TLS handshake failed (${code})` : `the request failed${code ? ` (${code})` : ''}`)
  return new ProviderError(
    ProviderErrorCode.Unreachable,
    `Cannot reach the model server at ${origin(url)}: ${reason}. Check that the server is running and the provider's base URL.`,
  )
}

export function timeoutError(url: string, seconds: number, midStream: boolean): ProviderError {
  const what = midStream ? 'stopped sending in the middle of the answer' : 'did not answer'
  return new ProviderError(
    ProviderErrorCode.Unreachable,
    `The model server at ${origin(url)} ${what} for ${seconds} s: check that it is running and not overloaded, then try again.`,
  )
}

export function badResponse(url: string, what: string): ProviderError {
  return new ProviderError(
    ProviderErrorCode.BadResponse,
    `The answer from ${origin(url)} could not be read: ${what}. Check that the provider's base URL and kind match the server.`,
  )
}

/** A stream the server broke off after it had started answering. */
export function brokenStream(url: string): ProviderError {
  return new ProviderError(
    ProviderErrorCode.ServerError,
    `The model server at ${origin(url)} broke off the answer in the middle: try again.`,
  )
}

function causeCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** The URL without credentials or query, fit to show. */
function endpoint(url: string): string {
  try {
    const parsed = new URL(url)
    return parsed.origin + parsed.pathname
  } catch {
    return 'the configured address'
  }
}

function origin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return 'the configured address'
  }
}
