import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import { contentSecurityPolicy, LOOPBACK_WEBSOCKET_SOURCES } from './src/shared/content-security-policy.js'

const CSP_PLACEHOLDER = '__CARHOST_CSP__'

/**
 * Writes src/shared/content-security-policy.ts's policy into the page's `<meta>`
 * tag, whose content in src/renderer/index.html is a placeholder. Under `npm run dev`
 * the dev server injects an inline React Refresh preamble and talks to the page over
 * its own WebSocket, which the production policy forbids.
 */
export function contentSecurityPolicyMeta(): Plugin {
  return {
    name: 'carhost:csp-meta',
    transformIndexHtml: {
      order: 'pre',
      handler(html, ctx) {
        if (!html.includes(CSP_PLACEHOLDER)) throw new Error(`index.html has no ${CSP_PLACEHOLDER} CSP meta tag`)
        const policy = ctx.server
          ? contentSecurityPolicy({
              delivery: 'meta',
              scriptSources: ["'unsafe-inline'"],
              connectSources: ['http://localhost:*', ...LOOPBACK_WEBSOCKET_SOURCES],
            })
          : contentSecurityPolicy({ delivery: 'meta', connectSources: LOOPBACK_WEBSOCKET_SOURCES })
        return html.replace(CSP_PLACEHOLDER, policy)
      },
    },
  }
}

/**
 * One build for everything that runs:
 * - main: the Electron main process, the headless hub and the `carhost` CLI
 *   (plain Node can run the last two), with built-in agents as separate
 *   `?modulePath` entries that both the app and the headless hub fork;
 * - preload: one sandboxed CommonJS bundle;
 * - renderer: the CarHost window, also served to browser tabs by the headless hub.
 */
export default defineConfig({
  main: {
    build: {
      rolldownOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          headless: resolve('src/headless/main.ts'),
          carhost: resolve('src/cli/carhost.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: false,
      // It bundles the JSON-RPC client core and with it zod: parsed once per window.
      minify: true,
      rolldownOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    plugins: [react(), contentSecurityPolicyMeta()],
    build: {
      minify: true,
      rolldownOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
  },
})
