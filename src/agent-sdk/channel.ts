import { toDisposable, type Disposable } from '../base/lifecycle.js'

/**
 * The agent's link to its hub: plain objects both ways (PROTOCOL.md §6). The SDK
 * talks to this, so tests can run an agent over an in-memory pair.
 */
export interface AgentChannel {
  /** Hands one message to the hub. Must not throw once the link is gone. */
  send(message: object): void
  /** Every message the hub sent, not yet validated. */
  onMessage(listener: (message: unknown) => void): Disposable
  /** Fires once the hub is gone (never, where the platform kills the agent with its parent). */
  onDidClose(listener: () => void): Disposable
}

/** The part of Electron's `process.parentPort` an agent uses; declared here so no Electron type is needed. */
interface ParentPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
  off?(event: 'message', listener: (event: { data: unknown }) => void): unknown
  postMessage(message: unknown): void
}

/**
 * The channel of the current process: Electron's parent port in a utility process,
 * else the `child_process.fork` IPC channel. Throws when the process has neither,
 * i.e. it was not started by a hub.
 */
export function processChannel(): AgentChannel {
  const parentPort = Reflect.get(process, 'parentPort') as ParentPortLike | undefined
  if (parentPort) return parentPortChannel(parentPort)
  if (typeof process.send === 'function') return forkChannel()
  throw new Error('not started as a CarHost agent: no parent port and no IPC channel')
}

function parentPortChannel(port: ParentPortLike): AgentChannel {
  return {
    send: (message) => port.postMessage(message),
    onMessage(listener) {
      const onEvent = (event: { data: unknown }) => listener(event.data)
      port.on('message', onEvent)
      return toDisposable(() => port.off?.('message', onEvent))
    },
    // Electron ends a utility process together with its parent.
    onDidClose: () => toDisposable(() => {}),
  }
}

/** A write racing the hub's exit fails with EPIPE; without a callback that would be an uncaught 'error'. */
function ignoreSendError(): void {}

function forkChannel(): AgentChannel {
  return {
    send(message) {
      if (process.connected) process.send!(message, ignoreSendError)
    },
    onMessage(listener) {
      const onMessage = (message: unknown) => listener(message)
      process.on('message', onMessage)
      return toDisposable(() => process.off('message', onMessage))
    },
    onDidClose(listener) {
      if (!process.connected) {
        queueMicrotask(listener)
        return toDisposable(() => {})
      }
      const onDisconnect = () => listener()
      process.once('disconnect', onDisconnect)
      return toDisposable(() => process.off('disconnect', onDisconnect))
    },
  }
}
