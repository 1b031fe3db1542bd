import { toDisposable, type Disposable } from './lifecycle.js'

/** Receives an error that no caller can handle, such as one thrown by an event listener. */
export type UnexpectedErrorHandler = (error: unknown) => void

const defaultHandler: UnexpectedErrorHandler = (error) => console.error('carhost: unexpected error', error)
let handler = defaultHandler

/**
 * Reports an error that would otherwise escape into whoever called us (Electron's or
 * ws's callback, a timer). Never throws: a failing handler falls back to the default.
 */
export function onUnexpectedError(error: unknown): void {
  try {
    handler(error)
  } catch (handlerError) {
    defaultHandler(handlerError)
    defaultHandler(error)
  }
}

/** Routes unexpected errors to `next` (a shell's logger) until the result is disposed. */
export function setUnexpectedErrorHandler(next: UnexpectedErrorHandler): Disposable {
  const previous = handler
  handler = next
  return toDisposable(() => {
    if (handler === next) handler = previous
  })
}
