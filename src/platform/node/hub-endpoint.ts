import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { writePrivateFile } from './private-file.js'

export const ENDPOINT_FILE = 'hub-endpoint.json'

/** A URL a WebSocket client can open: it parses, its scheme is ws: or wss:, it names a host and has no fragment. */
export function isWebSocketUrl(text: string): boolean {
  if (!URL.canParse(text)) return false
  const { protocol, hostname, hash } = new URL(text)
  return (protocol === 'ws:' || protocol === 'wss:') && hostname !== '' && hash === '' && !text.includes('#')
}

/** Where a running hub listens; written to the data dir so the CLI can find it. */
export const HubEndpointSchema = z.object({
  url: z.string().refine(isWebSocketUrl, 'must be a ws:// or wss:// URL'),
  pid: z.number().int().positive(),
})
export type HubEndpoint = z.infer<typeof HubEndpointSchema>

export function endpointFile(dataDir: string): string {
  return join(dataDir, ENDPOINT_FILE)
}

export async function writeEndpoint(dataDir: string, endpoint: HubEndpoint): Promise<void> {
  await writePrivateFile(endpointFile(dataDir), JSON.stringify(endpoint) + '\n')
}

/** Removes the endpoint file if it is still this process's (another hub may have replaced it). */
export async function removeEndpoint(dataDir: string, pid: number = process.pid): Promise<void> {
  const current = await readEndpoint(dataDir).catch(() => undefined)
  if (current?.pid === pid) await rm(endpointFile(dataDir), { force: true })
}

/**
 * The endpoint a hub wrote, or undefined when there is none. A file that cannot
 * be read or is malformed is an error whose message names the file.
 */
export async function readEndpoint(dataDir: string): Promise<HubEndpoint | undefined> {
  const file = endpointFile(dataDir)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new Error(`cannot read ${file}: ${code ?? (error as Error).message}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error(`${file} is not valid JSON`)
  }
  const parsed = HubEndpointSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new Error(`${file} is malformed: ${issue.path.join('.') || 'the file'}: ${issue.message}`)
  }
  return parsed.data
}
