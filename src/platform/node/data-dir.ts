import { homedir } from 'node:os'
import { join } from 'node:path'

/** Electron's app name: package.json `productName`. */
export const APP_NAME = 'CarHost'

/**
 * The folder Electron's `app.getPath('userData')` gives CarHost, computed without
 * Electron, so the headless hub, the CLI and the desktop app share one data dir.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  return join(appDataDir(env, platform, home), APP_NAME)
}

/** Electron's `app.getPath('appData')`. */
function appDataDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  switch (platform) {
    case 'win32':
      return env.APPDATA || join(home, 'AppData', 'Roaming')
    case 'darwin':
      return join(home, 'Library', 'Application Support')
    default:
      return env.XDG_CONFIG_HOME || join(home, '.config')
  }
}
