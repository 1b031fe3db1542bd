import { readFile } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { contentTypeOf } from '../platform/node/content-types.js'
import { APP_HOST, APP_SCHEME, appResponseHeaders } from './security-policy.js'


/**
 * The file under `root` that `carhost://app/<path>` names, or null when the URL is
 * not the app's, is malformed, or would leave `root` (`..`, encoded separators,
 * absolute paths, NUL bytes). `/` serves index.html.
 */
export function resolveAppFile(root: string, url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return null
  let pathname: string
  try {
    pathname = decodeURIComponent(parsed.pathname)
  } catch {
    return null
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null
  const segments = pathname.split('/').filter((segment) => segment !== '')
  if (segments.some((segment) => segment === '..' || segment === '.')) return null
  if (segments.length === 0) segments.push('index.html')
  const base = resolve(root)
  const file = resolve(base, ...segments)
  const rel = relative(base, file)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null
  return file
}

/**
 * Answers one `carhost://app/...` request with a file of `root` (out/renderer) and
 * the app's security headers. Only GET and HEAD; anything outside `root` is 404.
 */
export async function respondWithAppFile(
  root: string,
  request: { method: string; url: string },
  readFileFn: (path: string) => Promise<Uint8Array> = (path) => readFile(path),
): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response(null, { status: 405, headers: { Allow: 'GET, HEAD' } })
  }
  const file = resolveAppFile(root, request.url)
  if (file === null) return new Response(null, { status: 404 })
  let body: Uint8Array
  try {
    body = await readFileFn(file)
  } catch {
    return new Response(null, { status: 404 })
  }
  const headers = appResponseHeaders(contentTypeOf(file))
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers })
}
