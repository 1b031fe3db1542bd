import { isAbsolute, resolve } from 'node:path'
import type { ConversationStore } from '../hub/conversation-store.js'
import { MemoryConversationStore } from '../hub/memory-conversation-store.js'
import { builtinAgents, PROVIDER_AGENT_MODULE } from '../agents/builtin.js'
import { providerAgentEnv } from '../agents/provider/settings.js'
import { Hub } from '../hub/hub.js'
import type { Disposable } from '../base/lifecycle.js'
import type { Logger } from '../hub/logger.js'
import type { AgentSpec } from '../protocol/manifest.js'
import { UtilityProcessLauncher } from '../platform/electron/utility-process-launcher.js'
import { lockDataDir } from '../platform/node/data-dir-lock.js'
import { removeEndpoint, writeEndpoint } from '../platform/node/hub-endpoint.js'
import { HubServer } from '../platform/node/hub-server.js'
import { openConversationStore } from '../platform/node/sqlite-conversation-store.js'
import { resolveHostToken } from '../platform/node/host-token.js'
import { loadManifest } from '../platform/node/manifest-loader.js'
import { appProviderStore } from './provider-keys.js'
import { loadSettings, resolveMainOptions } from './settings.js'

export interface AppHubOptions {
  /** `app.getPath('userData')`: settings.json, conversations.db, the host token, the endpoint file. */
  /** `app.getPath('userData')`: settings.json, the host token, the endpoint file, providers.json, mcp.json. */
  dataDir: string
  argv: readonly string[]
  logger: Logger
}

export interface AppHub {
  hub: Hub
  /** The loopback endpoint when `--listen` or `listen: true` asked for it. */
  server: HubServer | null
  /** Problems the user should hear about (a broken settings file or manifest); the hub runs regardless. */
  problems: string[]
  /** Ends every session, stops every agent and closes the endpoint. */
  shutdown(): Promise<void>
}

/**
 * The hub inside the app: built-in agents plus those of the manifest named in
 * settings (or `--agents`), and the saved providers (§12), each agent a utility
 * process. A manifest that does not load is left out as a whole (PROTOCOL.md §10:
 * never half-read). Call after the app is ready: provider keys use safeStorage.
 * Rejects with `DataDirInUseError` when a headless hub holds the data folder.
 */
export async function startAppHub(options: AppHubOptions): Promise<AppHub> {
  const { dataDir } = options
  // One hub per data folder (§2), whether or not the app listens: the providers and
  // their keys live there, and a headless hub on the same folder would overwrite them.
  const lock = await lockDataDir(dataDir)
  try {
    return await startLocked(options, lock)
  } catch (error) {
    lock.dispose()
    throw error
  }
}

async function startLocked(options: AppHubOptions, lock: Disposable): Promise<AppHub> {
  const { dataDir, logger } = options
  const problems: string[] = []
  const { settings, problem } = await loadSettings(dataDir)
  if (problem) problems.push(problem)
  const main = resolveMainOptions(options.argv, settings)

  const builtin = builtinAgents()
  let extra: AgentSpec[] = []
  if (main.agentsManifest !== undefined) {
    const file = isAbsolute(main.agentsManifest) ? main.agentsManifest : resolve(dataDir, main.agentsManifest)
    try {
      extra = await loadManifest(file, { reservedIds: new Set(builtin.map((agent) => agent.id)) })
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error))
    }
  }
  for (const text of problems) logger.error(text)

  let conversations: ConversationStore
  try {
    conversations = openConversationStore(dataDir)
  } catch (error) {
    // §11 Storage: a file this app cannot read is left as it is; this run keeps its chats in memory only.
    conversations = new MemoryConversationStore()
    const message = error instanceof Error ? error.message : String(error)
    problems.push(`Conversations are not being saved: ${message}`)
    logger.error('conversation store unavailable', { error: message })
  }

  const launcher = new UtilityProcessLauncher({ logger })
  const hub = new Hub({
    agents: [...builtin, ...extra],
    launcher,
    logger,
    conversations,
    providers: {
      store: appProviderStore({ dataDir, settings, logger }),
      agentModule: PROVIDER_AGENT_MODULE,
      // Each provider agent reads mcp.json from the user-data folder.
      agentEnv: (providerSettings, apiKey) => providerAgentEnv(providerSettings, apiKey, dataDir),
    },
  })
  let server: HubServer | null = null
  if (main.listen) {
    try {
      const token = await resolveHostToken({ dataDir })
      server = await HubServer.listen({ hub, token: token.token, host: '127.0.0.1', port: main.listenPort, staticRoot: null, logger })
      await writeEndpoint(dataDir, { url: server.wsUrl, pid: process.pid })
      logger.info('hub endpoint listening', { url: server.wsUrl })
    } catch (error) {
      problems.push(`the hub endpoint could not be opened: ${String(error)}`)
      logger.error('hub endpoint failed', { error: String(error) })
    }
  }
  problems.push(...(await hub.start()))

  let stopping: Promise<void> | undefined
  return {
    hub,
    server,
    problems,
    shutdown() {
      stopping ??= (async () => {
        // Hosts on the endpoint still get their `hub_shutdown` events before it closes.
        await hub.shutdown()
        if (server) {
          await server.close()
          await removeEndpoint(dataDir).catch(() => {})
        }
        launcher.dispose()
        conversations.close()
        lock.dispose()
      })()
      return stopping
    },
  }
}
