import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'

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
      rolldownOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    plugins: [react()],
    build: {
      rolldownOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
  },
})
