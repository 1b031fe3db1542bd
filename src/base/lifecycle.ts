/** Anything that holds a resource releases it through `dispose()`, once. */
export interface Disposable {
  dispose(): void
}

export function toDisposable(fn: () => void): Disposable {
  let done = false
  return {
    dispose() {
      if (done) return
      done = true
      fn()
    },
  }
}

/** Disposes its members as a unit (VS Code's DisposableStore). */
export class DisposableStore implements Disposable {
  private readonly items = new Set<Disposable>()
  private disposed = false

  get isDisposed(): boolean {
    return this.disposed
  }

  add<T extends Disposable>(item: T): T {
    if (this.disposed) item.dispose()
    else this.items.add(item)
    return item
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    const errors: unknown[] = []
    for (const item of this.items) {
      try {
        item.dispose()
      } catch (error) {
        errors.push(error)
      }
    }
    this.items.clear()
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed')
  }
}

/**
 * Base of an object that owns disposables (VS Code's `Disposable`): what it makes,
 * its emitters first, it registers with `this._register(...)`, and disposing the
 * owner disposes them all. Subclasses that override `dispose` call `super.dispose()`.
 */
export abstract class DisposableBase implements Disposable {
  private readonly store = new DisposableStore()

  protected get isDisposed(): boolean {
    return this.store.isDisposed
  }

  /** Adds `item` to what this object disposes; disposes it at once if this object already is. */
  protected _register<T extends Disposable>(item: T): T {
    if ((item as Disposable) === this) throw new Error('an object cannot register itself')
    return this.store.add(item)
  }

  dispose(): void {
    this.store.dispose()
  }
}
