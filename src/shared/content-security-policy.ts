/**
 * The one Content-Security-Policy of the CarHost page, wherever it is delivered:
 * the `carhost://app` responses (main), the headless hub's HTTP responses
 * (platform/node) and the page's own `<meta>` tag (written at build time by
 * electron.vite.config.ts). Scripts and styles only from the app itself (no inline
 * script, no eval), no network beyond the app's own origin and the hub's
 * WebSocket, no plugins, frames, workers, forms or base-URI tricks. Images may be
 * data:/blob: URLs (attachment previews).
 */

export interface ContentSecurityPolicyOptions {
  /** Origins `connect-src` allows besides `'self'`: the headless hub's WebSocket. */
  connectSources?: readonly string[]
  /** Extra `script-src` sources; only the dev server needs any. */
  scriptSources?: readonly string[]
  /** `frame-ancestors` is ignored (with a console error) in a `<meta>` policy. */
  delivery?: 'header' | 'meta'
}

/** The meta tag cannot know the headless hub's port; the headers name it exactly. */
// Chromium refuses an IPv6 literal in a CSP source ("invalid source"); a hub on ::1 is reached as localhost.
export const LOOPBACK_WEBSOCKET_SOURCES: readonly string[] = ['ws://127.0.0.1:*', 'ws://localhost:*']

export function contentSecurityPolicy(options: ContentSecurityPolicyOptions = {}): string {
  const directives: [string, ...string[]][] = [
    ['default-src', "'none'"],
    ['script-src', "'self'", ...(options.scriptSources ?? [])],
    ['style-src', "'self'"],
    ['img-src', "'self'", 'data:', 'blob:'],
    ['font-src', "'self'"],
    ['connect-src', "'self'", ...(options.connectSources ?? [])],
    ['manifest-src', "'self'"],
    ['object-src', "'none'"],
    ['frame-src', "'none'"],
    ['worker-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
  ]
  if (options.delivery !== 'meta') directives.push(['frame-ancestors', "'none'"])
  return directives.map((directive) => directive.join(' ')).join('; ')
}
