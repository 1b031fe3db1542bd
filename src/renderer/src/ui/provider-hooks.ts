import { useSyncExternalStore } from 'react'
import type { AppView } from '../model/app-controller.js'
import type { McpSightings, ProvidersState } from '../model/provider-store.js'
import { useController } from './controller-context.js'

export function useProviders(): ProvidersState {
  const { state } = useController().providers
  return useSyncExternalStore(state.subscribe, state.getSnapshot)
}

export function useMcpSightings(): Readonly<Record<string, McpSightings>> {
  const { mcp } = useController().providers
  return useSyncExternalStore(mcp.subscribe, mcp.getSnapshot)
}

export function useView(): AppView {
  const { view } = useController()
  return useSyncExternalStore(view.subscribe, view.getSnapshot)
}

/** Re-renders on every model pick; returns the ModelChoice. */
export function useModelChoice() {
  const { models } = useController()
  useSyncExternalStore(models.version.subscribe, models.version.getSnapshot)
  return models
}
