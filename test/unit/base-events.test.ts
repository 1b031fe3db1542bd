import { afterEach, describe, expect, it, vi } from 'vitest'
import { onUnexpectedError, setUnexpectedErrorHandler } from '../../src/base/errors.js'
import { Emitter } from '../../src/base/event.js'
import { DisposableBase, toDisposable, type Disposable } from '../../src/base/lifecycle.js'

describe('Emitter', () => {
  let restore: Disposable | undefined
  afterEach(() => restore?.dispose())

  it('delivers to every listener when one throws, and reports the throw', () => {
    const reported: unknown[] = []
    const emitter = new Emitter<number>({ onListenerError: (error) => reported.push(error) })
    const seen: string[] = []
    const boom = new Error('boom')
    emitter.event((n) => seen.push(`a${n}`))
    emitter.event(() => {
      throw boom
    })
    emitter.event((n) => seen.push(`c${n}`))
    expect(() => emitter.fire(1)).not.toThrow()
    emitter.fire(2)
    expect(seen).toEqual(['a1', 'c1', 'a2', 'c2'])
    expect(reported).toEqual([boom, boom])
  })

  it('reports to the global unexpected-error handler by default', () => {
    const reported: unknown[] = []
    restore = setUnexpectedErrorHandler((error) => reported.push(error))
    const emitter = new Emitter<void>()
    let after = 0
    emitter.event(() => {
      throw new Error('listener failed')
    })
    emitter.event(() => after++)
    emitter.fire()
    expect(after).toBe(1)
    expect(reported).toHaveLength(1)
    expect((reported[0] as Error).message).toBe('listener failed')
  })

  it('the default handler writes to console.error, and a failing handler falls back to it', () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      const error = new Error('nobody listens')
      onUnexpectedError(error)
      expect(consoleError).toHaveBeenLastCalledWith(expect.any(String), error)
      restore = setUnexpectedErrorHandler(() => {
        throw new Error('handler broke')
      })
      expect(() => onUnexpectedError(error)).not.toThrow()
      expect(consoleError).toHaveBeenLastCalledWith(expect.any(String), error)
    } finally {
      consoleError.mockRestore()
    }
  })

  it('a handler is replaced only until its registration is disposed', () => {
    const first: unknown[] = []
    const second: unknown[] = []
    const a = setUnexpectedErrorHandler((e) => first.push(e))
    const b = setUnexpectedErrorHandler((e) => second.push(e))
    onUnexpectedError(1)
    b.dispose()
    onUnexpectedError(2)
    a.dispose()
    expect(second).toEqual([1])
    expect(first).toEqual([2])
  })
})

class Owner extends DisposableBase {
  readonly changes = this._register(new Emitter<string>())
  readonly closes = this._register(new Emitter<void>())

  adopt<T extends Disposable>(item: T): T {
    return this._register(item)
  }

  get closed(): boolean {
    return this.isDisposed
  }
}

describe('DisposableBase', () => {
  it('disposing the owner disposes the emitters it registered', () => {
    const owner = new Owner()
    const seen: string[] = []
    owner.changes.event((value) => seen.push(value))
    owner.changes.fire('before')
    owner.dispose()
    owner.changes.fire('after')
    expect(seen).toEqual(['before'])
    expect(owner.changes.hasListeners).toBe(false)
    expect(owner.closes.hasListeners).toBe(false)
    expect(owner.closed).toBe(true)
  })

  it('disposes each registered item once, and one registered after disposal at once', () => {
    const owner = new Owner()
    let disposals = 0
    owner.adopt(toDisposable(() => disposals++))
    owner.dispose()
    owner.dispose()
    expect(disposals).toBe(1)
    owner.adopt(toDisposable(() => disposals++))
    expect(disposals).toBe(2)
  })

  it('refuses to register itself', () => {
    const owner = new Owner()
    expect(() => owner.adopt(owner)).toThrow(/itself/)
  })
})
