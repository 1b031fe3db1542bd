import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { IndexHtmlTransformContext, IndexHtmlTransformHook, ViteDevServer } from 'vite'
import { contentSecurityPolicyMeta } from '../../electron.vite.config.js'

const INDEX_HTML = resolve(import.meta.dirname, '../../src/renderer/index.html')

/** src/renderer/index.html as the renderer build (or the dev server) writes it. */
export async function transformedIndexHtml(mode: 'build' | 'serve'): Promise<string> {
  const hook = contentSecurityPolicyMeta().transformIndexHtml
  if (!hook || typeof hook === 'function') throw new Error('carhost:csp-meta has no ordered transformIndexHtml hook')
  const handler: IndexHtmlTransformHook = hook.handler
  const context: IndexHtmlTransformContext = { path: '/index.html', filename: INDEX_HTML }
  // Only the presence of a dev server matters to the plugin.
  if (mode === 'serve') context.server = {} as ViteDevServer
  const result = await handler.call(undefined as never, readFileSync(INDEX_HTML, 'utf8'), context)
  if (typeof result !== 'string') throw new Error('carhost:csp-meta returned tags, not HTML')
  return result
}

/** The content of the page's Content-Security-Policy meta tag. */
export function metaContentSecurityPolicy(html: string): string | undefined {
  const meta = /<meta\s+http-equiv=["']Content-Security-Policy["']\s+content=(?:"([^"]*)"|'([^']*)')/i.exec(html)
  return meta ? (meta[1] ?? meta[2]) : undefined
}
