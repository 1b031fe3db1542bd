/**
 * Electron's `safeStorage` as documented, for unit tests (mock `electron` with
 * `{ ...fake-electron, safeStorage: fakeSafeStorage }`): a ciphertext Buffer out,
 * the string back, and the Linux backend's name.
 */
import { vi } from 'vitest'

export const safeStorageState = { available: true, backend: 'gnome_libsecret', reEncrypt: false, failDecrypt: false }

const MAGIC = 'v11'
const scramble = (bytes: Buffer) => Buffer.from(bytes.map((b) => b ^ 0x5a))

export const fakeSafeStorage = {
  isAsyncEncryptionAvailable: vi.fn(async () => safeStorageState.available),
  getSelectedStorageBackend: vi.fn(() => safeStorageState.backend),
  encryptStringAsync: vi.fn(async (text: string) => {
    if (!safeStorageState.available) throw new Error('Encryption is not available.')
    return Buffer.concat([Buffer.from(MAGIC), scramble(Buffer.from(text, 'utf8'))])
  }),
  decryptStringAsync: vi.fn(async (data: Buffer) => {
    if (safeStorageState.failDecrypt || data.subarray(0, 3).toString() !== MAGIC) {
      throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.')
    }
    return { result: scramble(data.subarray(3)).toString('utf8'), shouldReEncrypt: safeStorageState.reEncrypt }
  }),
}

export function resetFakeSafeStorage(): void {
  Object.assign(safeStorageState, { available: true, backend: 'gnome_libsecret', reEncrypt: false, failDecrypt: false })
}
