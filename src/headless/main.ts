import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConversationStore } from '../hub/conversation-store.js'
import { builtinAgents, PROVIDER_AGENT_MODULE } from '../agents/builtin.js'
import { providerAgentEnv } from '../agents/provider/settings.js'
import { Hub } from '../hub/hub.js'
import { MemoryConversationStore } from '../hub/memory-conversation-store.js'
import type { Logger } from '../hub/logger.js'
import type { AgentSpec } from '../protocol/manifest.js'
import { ChildProcessLauncher } from '../platform/node/child-process-launcher.js'
import { defaultDataDir } from '../platform/node/data-dir.js'
import { DataDirInUseError, lockDataDir, type DataDirLock } from '../platform/node/data-dir-lock.js'
import { removeEndpoint, writeEndpoint } from '../platform/node/hub-endpoint.js'
import { HubServer } from '../platform/node/hub-server.js'
import { ConversationStoreTooNewError, openConversationStore } from '../platform/node/sqlite-conversation-store.js'
import { chooseHostToken, readStoredToken, tokenProblem, writeTokenFile, TOKEN_ENV } from '../platform/node/host-token.js'
import { ManifestError, loadManifest } from '../platform/node/manifest-loader.js'
import { headlessProviderStore } from '../platform/node/provider-file-store.js'
import { isLoopbackHost, parseHeadlessArgs, USAGE, UsageError, type HeadlessOptions } from './options.js'
import { stderrLogger } from './stderr-logger.js'

/** Exit codes: 0 clean shutdown, 1 runtime failure (the data folder in use included), 2 bad command line or manifest. */
const EXIT_FAILURE = 1
const EXIT_USAGE = 2

/** The built renderer next to this bundle: out/main/headless.js → out/renderer. */
function rendererDir(): string | null {
  const dir = fileURLToPath(new URL('../renderer/', import.meta.url))
  return existsSync(resolve(dir, 'index.html')) ? dir : null
}

function fail(code: number, message: string): never {
  process.stderr.write(`carhost-hub: ${message.replace(/[\r\n]+/g, ' ')}\n`)
  process.exit(code)
}

async function loadAgents(options: HeadlessOptions): Promise<AgentSpec[]> {
  const builtin = options.builtinAgents ? builtinAgents() : []
  if (options.agentsFile === undefined) return builtin
  const extra = await loadManifest(options.agentsFile, { reservedIds: new Set(builtin.map((agent) => agent.id)) })
  return [...builtin, ...extra]
}

function checkToken(options: HeadlessOptions): void {
  if (options.token !== undefined) {
    const problem = tokenProblem(options.token)
    if (problem) throw new UsageError(`--token ${problem}`)
  }
  const fromEnv = process.env[TOKEN_ENV]
  if (options.token === undefined && fromEnv) {
    const problem = tokenProblem(fromEnv)
    if (problem) throw new UsageError(`$${TOKEN_ENV} ${problem}`)
  }
}

async function main(argv: string[]): Promise<void> {
  let options: HeadlessOptions
  let agents: AgentSpec[]
  try {
    options = parseHeadlessArgs(argv)
    if (options.help) {
      process.stdout.write(USAGE)
      return
    }
    checkToken(options)
    agents = await loadAgents(options)
  } catch (error) {
    if (error instanceof UsageError) fail(EXIT_USAGE, `${error.message} (see --help)`)
    if (error instanceof ManifestError) fail(EXIT_USAGE, error.message)
    throw error
  }

  const logger = stderrLogger()
  const dataDir = resolve(options.dataDir ?? defaultDataDir())
  // One hub per data folder (§2): a second one leaves the first's token and endpoint alone.
  let lock: DataDirLock
  try {
    lock = await lockDataDir(dataDir)
  } catch (error) {
    if (error instanceof DataDirInUseError) fail(EXIT_FAILURE, error.message)
    fail(EXIT_FAILURE, `cannot lock the data folder ${dataDir}: ${(error as Error).message}`)
  }
  let conversations: ConversationStore
  try {
    conversations = options.history ? openConversationStore(dataDir) : new MemoryConversationStore()
  } catch (error) {
    lock.dispose()
    fail(EXIT_FAILURE, error instanceof ConversationStoreTooNewError ? error.message : `cannot open the conversations in ${dataDir}: ${(error as Error).message}`)
  }
  // The folder's token is reused (§2) unless --new-token; a new one is written only once the hub listens.
  let stored: string | undefined
  try {
    stored = options.newToken ? undefined : await readStoredToken(dataDir)
  } catch (error) {
    lock.dispose()
    fail(EXIT_FAILURE, (error as Error).message)
  }
  const token = chooseHostToken({ flag: options.token, stored })

  const hub = new Hub({
    agents,
    launcher: new ChildProcessLauncher(),
    logger,
    conversations,
    // §12: providers.json and the 0600 key file in the data folder; each provider agent reads mcp.json there.
    providers: {
      store: headlessProviderStore(dataDir),
      agentModule: PROVIDER_AGENT_MODULE,
      agentEnv: (settings, apiKey) => providerAgentEnv(settings, apiKey, dataDir),
    },
    ...(options.ackTimeoutMs === undefined ? {} : { ackTimeoutMs: options.ackTimeoutMs }),
    ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }),
    ...(options.sessionMaxAgeMs === undefined ? {} : { sessionMaxAgeMs: options.sessionMaxAgeMs }),
  })

  let server: HubServer
  try {
    server = await HubServer.listen({
      hub,
      token: token.token,
      host: options.host,
      port: options.port,
      staticRoot: rendererDir(),
      logger,
    })
  } catch (error) {
    hub.dispose()
    const code = (error as NodeJS.ErrnoException).code ?? String(error)
    fail(EXIT_FAILURE, `cannot listen on ${options.host}:${options.port} (${code})`)
  }
  if (!isLoopbackHost(options.host)) logger.warn('listening on a non-loopback address; traffic is not encrypted', { host: options.host })

  installShutdown(hub, server, dataDir, lock, conversations, logger)

  try {
    if (token.source === 'generated') logger.info('host token written', { file: await writeTokenFile(dataDir, token.token) })
  } catch (error) {
    await server.close()
    hub.dispose()
    fail(EXIT_FAILURE, `cannot write the host token to ${dataDir}: ${(error as Error).message}`)
  }

  await hub.start()
  for (const agent of hub.supervisor.list()) {
    if (agent.status !== 'running' && agents.find((spec) => spec.id === agent.id)?.auto_start) {
      logger.warn('agent did not start', { agent: agent.id, status: agent.status })
    }
  }
  if (shuttingDown) return
  await writeEndpoint(dataDir, { url: server.wsUrl, pid: process.pid })
  process.stdout.write(`CarHost hub ready on ${server.wsUrl} - open ${server.browserUrl}\n`)
}

let shuttingDown = false

function installShutdown(
  hub: Hub,
  server: HubServer,
  dataDir: string,
  lock: DataDirLock,
  conversations: ConversationStore,
  logger: Logger,
): void {
  const stop = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn('second signal: exiting now', { signal })
      process.exit(EXIT_FAILURE)
    }
    shuttingDown = true
    logger.info('shutting down', { signal })
    void (async () => {
      // Sessions end with hub_shutdown and agents stop before the sockets close.
      await hub.shutdown()
      await server.close()
      conversations.close()
      await removeEndpoint(dataDir)
      lock.dispose()
      logger.info('stopped')
      process.exit(0)
    })().catch((error: unknown) => {
      logger.error('shutdown failed', { error: String(error) })
      process.exit(EXIT_FAILURE)
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}


main(process.argv.slice(2)).catch((error: unknown) => {
  fail(EXIT_FAILURE, error instanceof Error ? error.message : String(error))
})
