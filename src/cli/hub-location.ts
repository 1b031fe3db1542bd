import { resolve } from 'node:path'
import { defaultDataDir } from '../platform/node/data-dir.js'
import { endpointFile, isWebSocketUrl, readEndpoint } from '../platform/node/hub-endpoint.js'
import { readToken, TOKEN_ENV } from '../platform/node/host-token.js'
import { CliError, ExitCode } from './exit-codes.js'

export const URL_ENV = 'CARHOST_URL'

export interface HubLocation {
  url: string
  token: string
  /** Where `url` came from (`--url`, `$CARHOST_URL` or the endpoint file), for messages. */
  source: string
}

/**
 * Finds the hub: flags first, then `$CARHOST_URL` / `$CARHOST_TOKEN`, then the
 * files a running hub (headless or the desktop app) keeps in its data dir. A bad
 * variable is a usage error (exit 2); a hub that cannot be found or whose files
 * cannot be read is exit 3, naming what was tried.
 */
export async function locateHub(
  flags: { url?: string | undefined; token?: string | undefined; dataDir?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<HubLocation> {
  const dataDir = resolve(flags.dataDir ?? defaultDataDir(env))
  const { url, source } = await locateUrl(flags.url, env, dataDir)
  let token = flags.token ?? (env[TOKEN_ENV] || undefined)
  if (token === undefined) {
    try {
      token = await readToken(dataDir)
    } catch (error) {
      throw new CliError(ExitCode.Unreachable, `cannot read the host token: ${(error as Error).message}`)
    }
  }
  if (token === undefined) {
    throw new CliError(ExitCode.Unreachable, `no host token: no --token, no $${TOKEN_ENV}, and no hub-token in ${dataDir}`)
  }
  return { url, token, source }
}

async function locateUrl(flag: string | undefined, env: NodeJS.ProcessEnv, dataDir: string): Promise<{ url: string; source: string }> {
  if (flag !== undefined) return { url: flag, source: '--url' }
  const fromEnv = env[URL_ENV] || undefined
  if (fromEnv !== undefined) {
    if (!isWebSocketUrl(fromEnv)) throw new CliError(ExitCode.Usage, `$${URL_ENV}: must be a ws:// or wss:// URL`)
    return { url: fromEnv, source: `$${URL_ENV}` }
  }
  let endpoint
  try {
    endpoint = await readEndpoint(dataDir)
  } catch (error) {
    throw new CliError(ExitCode.Unreachable, `cannot find the hub: ${(error as Error).message}`)
  }
  if (endpoint === undefined) {
    throw new CliError(ExitCode.Unreachable, `no hub found: no --url, no $${URL_ENV}, and no hub-endpoint.json in ${dataDir}`)
  }
  return { url: endpoint.url, source: endpointFile(dataDir) }
}
