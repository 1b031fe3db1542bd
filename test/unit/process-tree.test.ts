import { describe, expect, it } from 'vitest'
import { ManualClock } from '../support/manual-clock.js'
import { ProcessTree, reapPendingTrees, type StopSignal } from '../../src/platform/node/process-tree.js'

/** A process table the tree reads and signals: which pids exist, and every call in order. */
function table(children: number[], options: { listing?: 'fails' } = {}) {
  const calls: string[] = []
  const alive = new Set(children)
  let rootAlive = true
  const tree = new ProcessTree(
    1,
    (signal) => {
      calls.push(`root ${signal}`)
      rootAlive = false
    },
    {
      clock,
      graceMs: 2_000,
      listDescendants: async (pid) => {
        calls.push(`list ${pid}`)
        if (options.listing === 'fails') throw new Error('no ps')
        return rootAlive ? [...alive] : []
      },
      killPid: (pid: number, signal: StopSignal) => {
        if (!alive.has(pid)) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' })
        calls.push(`${pid} ${signal}`)
        if (signal === 'SIGKILL') alive.delete(pid)
      },
    },
  )
  return { tree, calls, alive }
}

const clock = new ManualClock()

describe('ProcessTree', () => {
  it('lists the tree before it signals the root, then signals every descendant', async () => {
    const { tree, calls } = table([2, 3])
    await tree.signal('SIGTERM')
    expect(calls).toEqual(['list 1', 'root SIGTERM', '2 SIGTERM', '3 SIGTERM'])
  })

  it('kills what survives the root once the grace has passed, not before', async () => {
    const { tree, calls, alive } = table([2, 3])
    await tree.signal('SIGTERM')
    alive.delete(2) // 2 obeyed SIGTERM; 3 ignores it
    tree.rootExited()
    await Promise.resolve()
    clock.advance(1_999)
    expect(alive.has(3)).toBe(true)
    clock.advance(1)
    expect(alive.has(3)).toBe(false)
    expect(calls.slice(4)).toEqual(['3 SIGKILL'])
  })

  it('a forced stop after a polite one still reaches descendants the root no longer leads', async () => {
    const { tree, calls, alive } = table([2])
    await tree.signal('SIGTERM')
    // The root died; a later listing finds nothing, yet 2 is remembered.
    await tree.signal('SIGKILL')
    expect(calls).toContain('2 SIGKILL')
    expect(alive.size).toBe(0)
  })

  it('stops the root even when the listing fails', async () => {
    const { tree, calls } = table([2], { listing: 'fails' })
    await tree.signal('SIGTERM')
    expect(calls).toEqual(['list 1', 'root SIGTERM'])
  })

  it('does not signal a root that exited while its tree was being listed', async () => {
    const { tree, calls } = table([2])
    const sent = tree.signal('SIGTERM')
    tree.rootExited()
    await sent
    expect(calls).not.toContain('root SIGTERM')
  })

  it('the hub\'s way out (reapPendingTrees, also its exit hook) kills pending descendants at once', async () => {
    const { tree, alive } = table([4])
    await tree.signal('SIGTERM')
    tree.rootExited()
    await Promise.resolve()
    expect(process.listeners('exit')).toContain(reapPendingTrees)
    reapPendingTrees()
    expect(alive.size).toBe(0)
    expect(process.listeners('exit')).not.toContain(reapPendingTrees)
  })
})
