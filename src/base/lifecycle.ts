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
