import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { writePrivateFile } from './private-file.js'

export const ENDPOINT_FILE = 'hub-endpoint.json'

/** Where a running hub listens; written to the data dir so the CLI can find it. */
export const HubEndpointSchema = z.object({
  url: z.string().regex(/^wss?:\/\//, 'must be a ws:// URL'),
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

/** The endpoint a hub wrote, or undefined when there is none (a malformed file is an error). */
export async function readEndpoint(dataDir: string): Promise<HubEndpoint | undefined> {
  let text: string
  try {
    text = await readFile(endpointFile(dataDir), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = HubEndpointSchema.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`${endpointFile(dataDir)} is malformed`)
  return parsed.data
}
