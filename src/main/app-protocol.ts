import { protocol } from 'electron'
import { respondWithAppFile } from './app-files.js'
import { APP_SCHEME, appSchemePrivileges } from './security-policy.js'

/** Declares `carhost://` standard and secure. Must run before `app` is ready. */
export function registerAppSchemePrivileged(): void {
  protocol.registerSchemesAsPrivileged([appSchemePrivileges()])
}

/** Serves `carhost://app/` from `root` (out/renderer) for the default session. */
export function serveAppProtocol(root: string): void {
  protocol.handle(APP_SCHEME, (request) => respondWithAppFile(root, request))
}
