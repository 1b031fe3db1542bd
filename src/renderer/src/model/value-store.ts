/** One value that React components read with useSyncExternalStore. */
export class ValueStore<T> {
  private readonly listeners = new Set<() => void>()

  constructor(private value: T) {}

  readonly getSnapshot = (): T => this.value

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  set(value: T): void {
    if (Object.is(value, this.value)) return
    this.value = value
    for (const listener of [...this.listeners]) listener()
  }
}
