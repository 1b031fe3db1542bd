import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'

/**
 * `npm run dev` only: the dev server injects an inline React Refresh preamble and
 * talks to the page over its own WebSocket, which the production CSP forbids.
 */
function devServerContentSecurityPolicy(): Plugin {
  return {
    name: 'carhost:dev-server-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("connect-src 'self'", "connect-src 'self' ws://localhost:* http://localhost:*"),
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
    plugins: [react(), devServerContentSecurityPolicy()],
    build: {
      minify: true,
      rolldownOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
  },
})
