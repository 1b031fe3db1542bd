import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chooseHostToken, generateToken, readStoredToken, readToken, resolveHostToken } from '../../src/platform/node/host-token.js'
import { endpointFile, isWebSocketUrl, readEndpoint, removeEndpoint, writeEndpoint } from '../../src/platform/node/hub-endpoint.js'

let root: string
let n = 0
const fresh = () => join(root, `d${n++}`, 'CarHost')

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'carhost-token-'))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('host token (§2)', () => {
  it('--token wins over $CARHOST_TOKEN, which wins over a generated one; neither writes a file', async () => {
    const dataDir = fresh()
    expect(await resolveHostToken({ flag: 'f', env: { CARHOST_TOKEN: 'e' }, dataDir })).toEqual({ token: 'f', source: 'flag' })
    expect(await resolveHostToken({ env: { CARHOST_TOKEN: 'e' }, dataDir })).toEqual({ token: 'e', source: 'env' })
    expect(existsSync(dataDir)).toBe(false)
  })

  it('generates 32 random bytes as base64url, writes them 0600 in a 0700 folder, and readToken finds them', async () => {
    const dataDir = fresh()
    const token = await resolveHostToken({ env: {}, dataDir })
    expect(token.source).toBe('file')
    expect(Buffer.from(token.token, 'base64url')).toHaveLength(32)
    expect(token.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(statSync(token.file!).mode & 0o777).toBe(0o600)
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(await readToken(dataDir)).toBe(token.token)
    expect(chooseHostToken({ env: {} }).token).not.toBe(token.token)
  })

  it('reuses the token a previous hub wrote (§2), and writes a new one only when asked', async () => {
    const dataDir = fresh()
    const first = await resolveHostToken({ env: {}, dataDir })
    const again = await resolveHostToken({ env: {}, dataDir })
    expect(again).toEqual({ token: first.token, source: 'file', file: first.file })
    const renewed = await resolveHostToken({ env: {}, dataDir, fresh: true })
    expect(renewed.token).not.toBe(first.token)
    expect(await readToken(dataDir)).toBe(renewed.token)
    expect(await readStoredToken(dataDir)).toBe(renewed.token)
    expect(chooseHostToken({ flag: 'f', env: {}, stored: 's' }).source).toBe('flag')
    expect(chooseHostToken({ env: { CARHOST_TOKEN: 'e' }, stored: 's' }).source).toBe('env')
    expect(chooseHostToken({ env: {}, stored: 's' })).toEqual({ token: 's', source: 'stored' })
  })

  it('replaces a token file with loose permissions by a 0600 one', async () => {
    const dataDir = fresh()
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(join(dataDir, 'hub-token'), 'old\n', { mode: 0o644 })
    const token = await resolveHostToken({ env: {}, dataDir })
    expect(readFileSync(join(dataDir, 'hub-token'), 'utf8')).toBe(token.token + '\n')
    expect(statSync(join(dataDir, 'hub-token')).mode & 0o777).toBe(0o600)
  })

  it('readToken: undefined when there is no file; an unreadable one is an error naming it', async () => {
    expect(await readToken(fresh())).toBeUndefined()
    const dataDir = fresh()
    mkdirSync(join(dataDir, 'hub-token'), { recursive: true })
    await expect(readToken(dataDir)).rejects.toThrow(`cannot read ${join(dataDir, 'hub-token')}: EISDIR`)
  })

  it('never generates a token beginning with "-" (a command line would take it for an option)', () => {
    // 0xf8 encodes as '-' in base64url: the first draw is thrown away.
    const draws = [Buffer.alloc(32, 0xf8), Buffer.alloc(32, 0x01)]
    expect(draws[0]!.toString('base64url')).toMatch(/^-/)
    const token = generateToken(() => draws.shift()!)
    expect(token).toBe(Buffer.alloc(32, 0x01).toString('base64url'))
    expect(draws).toEqual([])
  })
})

describe('hub-endpoint.json', () => {
  it('is written, read back, and removed only by the process that wrote it', async () => {
    const dataDir = fresh()
    await writeEndpoint(dataDir, { url: 'ws://127.0.0.1:1234', pid: 4242 })
    expect(statSync(endpointFile(dataDir)).mode & 0o777).toBe(0o600)
    expect(await readEndpoint(dataDir)).toEqual({ url: 'ws://127.0.0.1:1234', pid: 4242 })
    await removeEndpoint(dataDir, 1)
    expect(await readEndpoint(dataDir)).toBeDefined()
    await removeEndpoint(dataDir, 4242)
    expect(await readEndpoint(dataDir)).toBeUndefined()
  })

  it('a malformed file is an error naming the file and what is wrong', async () => {
    const dataDir = fresh()
    mkdirSync(dataDir, { recursive: true })
    const file = endpointFile(dataDir)
    writeFileSync(file, '{"url": ')
    await expect(readEndpoint(dataDir)).rejects.toThrow(`${file} is not valid JSON`)
    writeFileSync(file, JSON.stringify({ url: 'ws://127.0.0.1:1' }))
    await expect(readEndpoint(dataDir)).rejects.toThrow(`${file} is malformed: pid: `)
    writeFileSync(file, JSON.stringify({ url: 'ws://[', pid: 1 }))
    await expect(readEndpoint(dataDir)).rejects.toThrow(`${file} is malformed: url: must be a ws:// or wss:// URL`)
  })

  it('isWebSocketUrl: a parseable ws: or wss: URL with a host and no fragment', () => {
    for (const url of ['ws://127.0.0.1:8765', 'wss://localhost/hub', 'ws://[::1]:1']) expect(isWebSocketUrl(url), url).toBe(true)
    for (const url of ['nonsense', 'ws://[', 'http://127.0.0.1:1', 'ws://', 'ws://h/#x', 'ws://h/#', '']) {
      expect(isWebSocketUrl(url), url).toBe(false)
    }
  })
})
