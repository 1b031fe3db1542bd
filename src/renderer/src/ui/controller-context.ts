import { createContext, useContext, useSyncExternalStore } from 'react'
import type { HostEnvironment } from '../bridge/environment.js'
import type { AgentsState } from '../model/agent-store.js'
import type { AppController, ConnectionState } from '../model/app-controller.js'
import type { ChatState } from '../model/chat-store.js'

/** What the UI needs to know about where it runs. */
export type UiEnvironment = Pick<HostEnvironment, 'kind' | 'openNewWindow' | 'reconnect'>

export const ControllerContext = createContext<AppController | null>(null)
export const EnvironmentContext = createContext<UiEnvironment>({ kind: 'browser', openNewWindow: async () => {} })

export function useController(): AppController {
  const controller = useContext(ControllerContext)
  if (!controller) throw new Error('no AppController in context')
  return controller
}

export function useEnvironment(): UiEnvironment {
  return useContext(EnvironmentContext)
}

export function useChatState(): ChatState {
  const { chat } = useController()
  return useSyncExternalStore(chat.subscribe, chat.getSnapshot)
}

export function useAgentsState(): AgentsState {
  const { agents } = useController()
  return useSyncExternalStore(agents.subscribe, agents.getSnapshot)
}

export function useConnection(): ConnectionState {
  const { connection } = useController()
  return useSyncExternalStore(connection.subscribe, connection.getSnapshot)
}
