import { createContext, useContext, useSyncExternalStore } from 'react'
import type { HostEnvironment } from '../bridge/environment.js'
import type { AgentsState } from '../model/agent-store.js'
import type { AppController, ConnectionState, MessageFocus } from '../model/app-controller.js'
import type { ChatState } from '../model/chat-store.js'
import type { ConversationListState } from '../model/conversation-list.js'
import type { SearchState } from '../model/conversation-sync.js'

/** A file the user saves: the app's own save dialog when the window has one, else a download. */
export interface SaveFile {
  readonly fileName: string
  readonly mediaType: string
  readonly text: string
}

/** What the UI needs to know about where it runs. */
export type UiEnvironment = Pick<HostEnvironment, 'kind' | 'openNewWindow' | 'reconnect'> & {
  /** Saves a file; default (undefined): the browser's download of a Blob. */
  saveFile?: (file: SaveFile) => Promise<void>
  /** Default: navigator.clipboard. */
  copyText?: (text: string) => Promise<void>
}

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

export function useConversationList(): ConversationListState {
  const { conversations } = useController()
  return useSyncExternalStore(conversations.subscribe, conversations.getSnapshot)
}

export function useSearch(): SearchState {
  const { search } = useController().sync
  return useSyncExternalStore(search.subscribe, search.getSnapshot)
}

export function useFocus(): MessageFocus | null {
  const { focus } = useController()
  return useSyncExternalStore(focus.subscribe, focus.getSnapshot)
}
