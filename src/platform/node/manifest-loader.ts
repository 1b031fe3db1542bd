import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { z } from 'zod'
import { isRecord } from '../../protocol/jsonrpc.js'
import { ManifestSchema, type AgentSpec } from '../../protocol/manifest.js'

/** A manifest that cannot be used; `message` is one line naming the file, the agent and the field. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`manifest ${file}: ${detail}`)
    this.name = 'ManifestError'
  }
}

export interface LoadManifestOptions {
  /** Ids already taken (the built-in agents); a manifest agent may not reuse one. */
  reservedIds?: ReadonlySet<string>
}

/**
 * Reads an agent manifest (PROTOCOL.md §10) as a whole or not at all: every agent
 * is validated, ids are unique, and each `module` (resolved against the manifest's
 * folder) names an existing file before anything is returned.
 */
export async function loadManifest(path: string, options: LoadManifestOptions = {}): Promise<AgentSpec[]> {
  const file = resolve(path)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ManifestError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ManifestError(file, `is not valid JSON: ${oneLine((error as Error).message)}`)
  }
  const parsed = ManifestSchema.safeParse(raw)
  if (!parsed.success) throw new ManifestError(file, describeIssues(raw, parsed.error))

  const folder = dirname(file)
  const seen = new Map<string, number>()
  const agents: AgentSpec[] = []
  for (const [index, agent] of parsed.data.agents.entries()) {
    const where = `agent '${agent.id}' (#${index})`
    const first = seen.get(agent.id)
    if (first !== undefined) throw new ManifestError(file, `${where}: field 'id': duplicate of agent #${first}`)
    if (options.reservedIds?.has(agent.id)) {
      throw new ManifestError(file, `${where}: field 'id': '${agent.id}' is a built-in agent (see --no-builtin-agents)`)
    }
    seen.set(agent.id, index)
    const module = resolve(folder, agent.module)
    const info = await stat(module).catch(() => null)
    if (!info?.isFile()) throw new ManifestError(file, `${where}: field 'module': no file at ${module}`)
    agents.push({ ...agent, module })
  }
  return agents
}

/** One line for the first problems (at most three): which agent (id if readable, else index), which field, what is wrong. */
function describeIssues(raw: unknown, error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => describeIssue(raw, issue))
  const more = error.issues.length > shown.length ? ` (and ${error.issues.length - shown.length} more)` : ''
  return shown.join('; ') + more
}

function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string {
  const path = issue.path
  let where = ''
  let fieldPath: PropertyKey[] = path
  if (path[0] === 'agents' && typeof path[1] === 'number') {
    const index = path[1]
    const entry = isRecord(raw) && Array.isArray(raw.agents) ? raw.agents[index] : undefined
    const id = isRecord(entry) && typeof entry.id === 'string' && entry.id.length <= 64 ? entry.id : undefined
    where = id === undefined ? `agent #${index}: ` : `agent '${oneLine(id)}' (#${index}): `
    fieldPath = path.slice(2)
  }
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `'${oneLine(key)}'`).join(', ')
    const inside = fieldPath.length > 0 ? ` in field '${fieldPath.map(String).join('.')}'` : ''
    return `${where}unknown field ${keys}${inside}`
  }
  const field = fieldPath.length > 0 ? `field '${fieldPath.map(String).join('.')}'` : 'the manifest'
  return `${where}${field}: ${oneLine(issue.message)}`
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
