import type { SaveFile, UiEnvironment } from './controller-context.js'

/** How long a download's Blob URL stays valid: the browser reads it after the click, not during it. */
const BLOB_URL_LIFETIME_MS = 60_000

/**
 * Saves through the app's save dialog when the window has one, else as a
 * download. (In Electron a download with no save path set opens the operating
 * system's save dialog itself.)
 */
export async function saveFile(environment: UiEnvironment, file: SaveFile): Promise<void> {
  if (environment.saveFile) return environment.saveFile(file)
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mediaType }))
  const link = document.createElement('a')
  link.href = url
  link.download = file.fileName
  link.rel = 'noopener'
  link.hidden = true
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), BLOB_URL_LIFETIME_MS)
}

export function copyText(environment: UiEnvironment, text: string): Promise<void> {
  if (environment.copyText) return environment.copyText(text)
  if (!navigator.clipboard) return Promise.reject(new Error('the clipboard is not available here'))
  return navigator.clipboard.writeText(text)
}

/**
 * A save dialog offered by the preload, if it has one: `window.carhost.saveFile({fileName, mediaType, text})`.
 * Not part of the hub protocol; absent today, when downloads are used.
 */
export function preloadSaveFile(win: Window): UiEnvironment['saveFile'] {
  const carhost: unknown = Reflect.get(win, 'carhost')
  if (typeof carhost !== 'object' || carhost === null) return undefined
  const save: unknown = Reflect.get(carhost, 'saveFile')
  if (typeof save !== 'function') return undefined
  return async (file) => {
    await Promise.resolve(Reflect.apply(save, carhost, [file]))
  }
}
