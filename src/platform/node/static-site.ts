import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { resolve, sep } from 'node:path'
import { contentTypeOf } from './content-types.js'


/**
 * Maps a request path onto a file under `root`, or null when it cannot name one:
 * undecodable, NUL bytes, or anything that would land outside the root. Symlinks
 * are resolved and must stay inside the (resolved) root as well.
 */
export async function resolveStaticPath(root: string, requestPath: string): Promise<string | null> {
  let decoded: string
  try {
    decoded = decodeURIComponent(requestPath)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null
  if (decoded === '' || decoded.endsWith('/')) decoded += 'index.html'
  const realRoot = await realpath(root).catch(() => null)
  if (realRoot === null) return null
  const candidate = resolve(realRoot, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded))
  if (!isInside(realRoot, candidate)) return null
  const real = await realpath(candidate).catch(() => null)
  if (real === null || !isInside(realRoot, real)) return null
  const info = await stat(real).catch(() => null)
  return info?.isFile() ? real : null
}

function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep)
}

/** Serves files from one folder for GET and HEAD; every response carries `headers`. */
export async function serveStatic(
  root: string | null,
  req: IncomingMessage,
  res: ServerResponse,
  headers: OutgoingHttpHeaders,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'Method Not Allowed', { ...headers, Allow: 'GET, HEAD' })
    return
  }
  let pathname: string
  try {
    pathname = new URL(req.url ?? '/', 'http://host.invalid').pathname
  } catch {
    sendText(res, 400, 'Bad Request', headers)
    return
  }
  const file = root === null ? null : await resolveStaticPath(root, pathname)
  if (file === null) {
    sendText(res, 404, 'Not Found', headers)
    return
  }
  const info = await stat(file).catch(() => null)
  if (info === null) {
    sendText(res, 404, 'Not Found', headers)
    return
  }
  const type = contentTypeOf(file)
  res.writeHead(200, {
    ...headers,
    'Content-Type': type,
    'Content-Length': info.size,
    'Cache-Control': type.startsWith('text/html') ? 'no-cache' : 'public, max-age=300',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const stream = createReadStream(file)
  stream.on('error', () => res.destroy())
  stream.pipe(res)
}

export function sendText(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  })
  res.end(body)
}
