import { ProviderSaveParamsSchema, type ProviderKind } from '../../protocol/providers.js'
import type { HubConnection } from '../hub-connection.js'
import type { CliIO } from '../io.js'
import { CliError, ExitCode } from '../exit-codes.js'
import { readSecret } from '../stdin.js'
import { formatTable, printable } from '../terminal.js'

/** §12's bound on `api_key`; what is read from stdin is cut off past it. */
const API_KEY_MAX_CHARS = 4096

/** `carhost providers`: one row per provider; the key only as whether one is stored (§12). */
export async function providersCommand(connection: HubConnection, options: { json: boolean }, io: CliIO): Promise<number> {
  const { providers } = await connection.client.call('providers.list', {})
  if (options.json) {
    io.stdout.write(JSON.stringify(providers, null, 2) + '\n')
    return ExitCode.Ok
  }
  if (providers.length === 0) {
    io.stderr.write(`no providers yet: add one with 'carhost providers add ID --kind openai|anthropic --base-url URL'\n`)
    return ExitCode.Ok
  }
  const rows = providers.map((p) => [
    printable(p.id),
    printable(p.name),
    p.kind,
    printable(p.base_url),
    p.default_model === null ? '-' : printable(p.default_model),
    p.has_api_key ? 'yes' : 'no',
  ])
  io.stdout.write(formatTable(['ID', 'NAME', 'KIND', 'BASE URL', 'MODEL', 'KEY'], rows))
  return ExitCode.Ok
}

export interface ProviderAddOptions {
  id: string
  providerName: string
  kind: ProviderKind
  baseUrl: string
  model: string | undefined
  system: string | undefined
  apiKeyFromStdin: boolean
}

/**
 * `carhost providers add`: `providers.save`. The key comes only from stdin
 * (`--api-key-stdin`); without it the stored key, if any, is kept (§12 `api_key`
 * omitted). The key is never printed, not even in an error.
 */
export async function providersAddCommand(connection: HubConnection, options: ProviderAddOptions, io: CliIO): Promise<number> {
  let apiKey: string | undefined
  if (options.apiKeyFromStdin) {
    apiKey = await readSecret(io.stdin, io.stderr, API_KEY_MAX_CHARS + 1)
    if (!ProviderSaveParamsSchema.shape.api_key.safeParse(apiKey).success) {
      throw new CliError(ExitCode.Usage, `--api-key-stdin: the key read from stdin must be 1 to ${API_KEY_MAX_CHARS} characters`)
    }
  }
  const saved = await connection.client.call('providers.save', {
    id: options.id,
    name: options.providerName,
    kind: options.kind,
    base_url: options.baseUrl,
    ...(options.model === undefined ? {} : { default_model: options.model }),
    ...(options.system === undefined ? {} : { system_prompt: options.system }),
    ...(apiKey === undefined ? {} : { api_key: apiKey }),
  })
  io.stdout.write(
    `saved provider ${printable(saved.id)} (${saved.kind}, ${printable(saved.base_url)}` +
      `${saved.default_model === null ? '' : `, model ${printable(saved.default_model)}`}, ${saved.has_api_key ? 'with' : 'without'} an API key)\n`,
  )
  return ExitCode.Ok
}

/** `carhost providers remove ID`: exit 1 when there was no such provider. */
export async function providersRemoveCommand(connection: HubConnection, options: { id: string }, io: CliIO): Promise<number> {
  const { deleted } = await connection.client.call('providers.delete', { id: options.id })
  if (!deleted) {
    io.stderr.write(`carhost: no provider '${printable(options.id)}'\n`)
    return ExitCode.Failed
  }
  io.stdout.write(`removed provider ${printable(options.id)}\n`)
  return ExitCode.Ok
}

/** `carhost models AGENT`: what the agent announced (`agent.models`), its default marked with `*`. */
export async function modelsCommand(connection: HubConnection, options: { agentId: string; json: boolean }, io: CliIO): Promise<number> {
  const { agents } = await connection.client.call('agents.list')
  const agent = agents.find((candidate) => candidate.id === options.agentId)
  if (agent === undefined) {
    io.stderr.write(`carhost: no agent '${printable(options.agentId)}' (see 'carhost agents')\n`)
    return ExitCode.Failed
  }
  if (options.json) {
    io.stdout.write(JSON.stringify({ models: agent.models, default_model: agent.default_model }, null, 2) + '\n')
    return ExitCode.Ok
  }
  if (agent.models.length === 0) {
    io.stderr.write(`${printable(agent.id)} has announced no models${agent.status === 'running' ? '' : ` (it is ${agent.status})`}\n`)
    return ExitCode.Ok
  }
  const rows = agent.models.map((model) => [
    model.id === agent.default_model ? '*' : ' ',
    printable(model.id),
    model.name === undefined || model.name === model.id ? '' : printable(model.name),
  ])
  io.stdout.write(formatTable(['', 'MODEL', 'NAME'], rows))
  return ExitCode.Ok
}
