import type { ChildProcess } from 'node:child_process'
import type { StreamSpec } from './stream-spec.js'
import { Collector, type ChatEventLike } from './collector.js'
import { forkRawAgent, stopChild } from './env.js'
import { wallMs } from './stats.js'

export interface StreamRun {
  elapsedMs: number
  events: number
  textBytes: number
  latencies?: Float64Array
}

/**
 * The raw baseline: the bench agents stream straight to this process over their
 * fork IPC channel, no hub in between; the parent only counts what arrives.
 */
export class RawRig {
  private constructor(readonly agents: ChildProcess[]) {}

  static async start(agentCount: number): Promise<RawRig> {
    const agents = await Promise.all(Array.from({ length: agentCount }, (_, i) => forkRawAgent(`raw-${i}`)))
    return new RawRig(agents)
  }

  /** Every agent streams `streamsPerAgent` streams; resolves when every `done` arrived. */
  async run(streamsPerAgent: number, spec: StreamSpec, tag: string): Promise<StreamRun> {
    const paced = spec.mode === 'paced'
    const collector = new Collector(paced ? spec.count * streamsPerAgent * this.agents.length : 0)
    const ids = this.agents.map((_, a) => Array.from({ length: streamsPerAgent }, (_, s) => `${tag}-a${a}-s${s}`))
    const listener = (message: unknown) => collector.onEvent((message as { params: ChatEventLike }).params)
    const waits = ids.flat().map((id) => collector.expect(id, { stamped: paced }))
    const start = wallMs()
    this.agents.forEach((agent, a) => {
      agent.on('message', listener)
      agent.send({ bench: 'raw', streams: ids[a], spec })
    })
    await Promise.all(waits)
    const end = wallMs()
    for (const agent of this.agents) agent.off('message', listener)
    return summarize(collector, ids.flat(), start, end, paced)
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map(stopChild))
  }
}

export function summarize(collector: Collector, ids: string[], start: number, end: number, paced: boolean): StreamRun {
  let events = 0
  let textBytes = 0
  for (const id of ids) {
    const tally = collector.tally(id)!
    events += tally.events - 1 // the `done`
    textBytes += tally.textBytes
  }
  return { elapsedMs: end - start, events, textBytes, ...(paced ? { latencies: collector.takeLatencies() } : {}) }
}
