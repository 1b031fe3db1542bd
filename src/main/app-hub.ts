import { isAbsolute, resolve } from 'node:path'
import { builtinAgents } from '../agents/builtin.js'
import type { ConversationStore } from '../hub/conversation-store.js'
import { Hub } from '../hub/hub.js'
import { MemoryConversationStore } from '../hub/memory-conversation-store.js'
import type { Logger } from '../hub/logger.js'
import type { AgentSpec } from '../protocol/manifest.js'
import { UtilityProcessLauncher } from '../platform/electron/utility-process-launcher.js'
import { removeEndpoint, writeEndpoint } from '../platform/node/hub-endpoint.js'
import { HubServer } from '../platform/node/hub-server.js'
import { openConversationStore } from '../platform/node/sqlite-conversation-store.js'
import { resolveHostToken } from '../platform/node/host-token.js'
import { loadManifest } from '../platform/node/manifest-loader.js'
import { loadSettings, resolveMainOptions } from './settings.js'

export interface AppHubOptions {
  /** `app.getPath('userData')`: settings.json, conversations.db, the host token, the endpoint file. */
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
 * settings (or `--agents`), each agent a utility process. A manifest that does not
 * load is left out as a whole (PROTOCOL.md §10: never half-read).
 */
export async function startAppHub(options: AppHubOptions): Promise<AppHub> {
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
  const hub = new Hub({ agents: [...builtin, ...extra], launcher, logger, conversations })
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
  await hub.start()

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
      })()
      return stopping
    },
  }
}
