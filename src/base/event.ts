import { onUnexpectedError } from './errors.js'
import type { Disposable } from './lifecycle.js'

/** A subscribable event: call it with a listener, dispose the result to unsubscribe. */
export type Event<T> = (listener: (value: T) => void) => Disposable

export interface EmitterOptions {
  /** Where an error thrown by a listener goes; `onUnexpectedError` by default. */
  onListenerError?: (error: unknown) => void
}

/**
 * A minimal emitter. Listeners are kept in an array that is copied only when it
 * changes, so `fire` on the hot path allocates nothing. A listener that throws is
 * reported and the others still run: the throw must not land in the transport's
 * callback that fired the event.
 */
export class Emitter<T> implements Disposable {
  private listeners: ReadonlyArray<(value: T) => void> = []
  private disposed = false
  private readonly onListenerError: (error: unknown) => void

  constructor(options: EmitterOptions = {}) {
    this.onListenerError = options.onListenerError ?? onUnexpectedError
  }

  readonly event: Event<T> = (listener) => {
    if (this.disposed) return { dispose() {} }
    this.listeners = [...this.listeners, listener]
    let removed = false
    return {
      dispose: () => {
        if (removed) return
        removed = true
        this.listeners = this.listeners.filter((l) => l !== listener)
      },
    }
  }

  get hasListeners(): boolean {
    return this.listeners.length > 0
  }

  fire(value: T): void {
    const listeners = this.listeners
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(value)
      } catch (error) {
        this.onListenerError(error)
      }
    }
  }

  dispose(): void {
    this.disposed = true
    this.listeners = []
  }
}

/** Resolves with the next value of `event`. */
export function once<T>(event: Event<T>): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((value) => {
      sub.dispose()
      resolve(value)
    })
  })
}
