import type { Disposable } from './lifecycle.js'

/** A subscribable event: call it with a listener, dispose the result to unsubscribe. */
export type Event<T> = (listener: (value: T) => void) => Disposable

/**
 * A minimal emitter. Listeners are kept in an array that is copied only when it
 * changes, so `fire` on the hot path allocates nothing.
 */
export class Emitter<T> implements Disposable {
  private listeners: ReadonlyArray<(value: T) => void> = []
  private disposed = false

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
    for (let i = 0; i < listeners.length; i++) listeners[i]!(value)
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
