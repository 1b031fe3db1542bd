import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream'
import {
  ProviderError,
  badResponse,
  brokenStream,
  httpStatusError,
  timeoutError,
  unreachableError,
  type RequestSubject,
} from './provider-error.js'

export interface RequestOptions {
  /** The turn's signal: aborting it closes the connection at once (§12 cancel). */
  signal: AbortSignal
  /** How long the server may stay silent: before its answer starts, and between two events of a stream. */
  timeoutMs: number
}

export interface HttpRequest extends RequestSubject {
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: unknown
}

/** What a stream consumer answers per event: `stop` ends the stream early (e.g. at `[DONE]`). */
export type StreamVerdict = void | 'stop'

/** One server-sent event stream is at most this big between two events; more is not a stream we can read. */
const SSE_MAX_BUFFER_CHARS = 16 * 1024 * 1024

/**
 * Aborts when nothing arrived for `ms`. `kick` restarts the one timer in place
 * (`refresh`), so a stream's events cost no allocation here.
 */
class Watchdog {
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => this.controller.abort(new Error('timeout')), ms)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get fired(): boolean {
    return this.controller.signal.aborted
  }

  kick(): void {
    this.timer.refresh()
  }

  stop(): void {
    clearTimeout(this.timer)
  }
}

/** Sends a request and returns its JSON body; HTTP and network failures become §12 errors. */
export async function requestJson(request: HttpRequest, options: RequestOptions): Promise<unknown> {
  const watchdog = new Watchdog(options.timeoutMs)
  try {
    const response = await send(request, options.signal, watchdog)
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      throw failure(error, request, options.signal, watchdog, true)
    }
    try {
      return JSON.parse(text)
    } catch {
      throw badResponse(request.url, 'it is not JSON')
    }
  } finally {
    watchdog.stop()
  }
}

/**
 * Sends a request whose answer is a server-sent event stream and hands each
 * event to `onEvent`, which may throw to end the stream with its error.
 * Resolves when the stream ends or `onEvent` says `stop`; either way the
 * connection is released.
 */
export async function requestEventStream(
  request: HttpRequest,
  options: RequestOptions,
  onEvent: (event: EventSourceMessage) => StreamVerdict,
): Promise<void> {
  const watchdog = new Watchdog(options.timeoutMs)
  try {
    const response = await send(request, options.signal, watchdog)
    if (response.body === null) throw badResponse(request.url, 'it has no body')
    const reader = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ maxBufferSize: SSE_MAX_BUFFER_CHARS }))
      .getReader()
    try {
      for (;;) {
        let next: Awaited<ReturnType<typeof reader.read>>
        try {
          next = await reader.read()
        } catch (error) {
          throw failure(error, request, options.signal, watchdog, true)
        }
        if (next.done) return
        watchdog.kick()
        if (onEvent(next.value) === 'stop') return
      }
    } finally {
      // Ends the body, and with it the connection, whenever we stop reading early.
      reader.cancel().catch(() => {})
    }
  } finally {
    watchdog.stop()
  }
}

async function send(request: HttpRequest, turnSignal: AbortSignal, watchdog: Watchdog): Promise<Response> {
  let response: Response
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.body === undefined ? request.headers : { 'content-type': 'application/json', ...request.headers },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.any([turnSignal, watchdog.signal]),
    })
  } catch (error) {
    throw failure(error, request, turnSignal, watchdog, false)
  }
  watchdog.kick()
  if (response.ok) return response
  let body = ''
  try {
    body = await response.text()
  } catch (error) {
    if (turnSignal.aborted) throw turnSignal.reason
    // The status alone still says what went wrong.
  }
  throw httpStatusError(response.status, response.headers, body, request)
}

/** What a thrown fetch or read error means: the turn's cancel, our timeout, a broken connection, or a stream we cannot parse. */
function failure(error: unknown, request: HttpRequest, turnSignal: AbortSignal, watchdog: Watchdog, started: boolean): unknown {
  if (error instanceof ProviderError) return error
  if (turnSignal.aborted) return turnSignal.reason
  if (watchdog.fired) return timeoutError(request.url, Math.max(1, Math.round(watchdog.ms / 1000)), started)
  if (error instanceof Error && error.name === 'ParseError') return badResponse(request.url, 'an event of the stream is too large')
  return started ? brokenStream(request.url) : unreachableError(error, request.url)
}
