/**
 * The release configuration, checked the way electron-builder reads it, and an actual
 * (unpacked, linux) package built from out/ against a stand-in Electron: what the
 * app.asar holds and which fuses the executable ends up with. Offline: the Electron
 * distribution is a local folder, downloads point at a closed port, no native rebuild.
 * Needs `out/` (npm test builds it first).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const require = createRequire(import.meta.url)

interface BuilderConfig {
  [key: string]: unknown
  directories?: Record<string, string>
}

const config = require(join(ROOT, 'electron-builder.config.cjs')) as BuilderConfig

describe('electron-builder.config.cjs', () => {
  const Ajv = require('ajv') as typeof import('ajv').default
  const scheme = JSON.parse(require('node:fs').readFileSync(join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8'))
  const validate = new Ajv({ allErrors: true, strict: false }).compile(scheme)

  it("is valid against app-builder-lib's scheme.json", () => {
    const valid = validate(config)
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([])
    expect(valid).toBe(true)
  })

  it('the scheme check is real: a misspelt option is refused', () => {
    expect(validate({ ...config, asarr: true })).toBe(false)
    expect(validate({ ...config, electronFuses: { runAsNod: false } })).toBe(false)
  })

  it('names the app, packs only the build output, and targets every platform', () => {
    expect(config).toMatchObject({
      appId: 'app.carhost.desktop',
      productName: 'CarHost',
      asar: true,
      files: ['out/**', 'package.json'],
      linux: { target: ['AppImage', 'deb'], category: expect.any(String), maintainer: expect.stringMatching(/\S+@\S+/) },
      win: { target: ['nsis'] },
      mac: { target: ['dmg'], category: expect.stringMatching(/^public\.app-category\./) },
    })
    const pkg = JSON.parse(require('node:fs').readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.main).toBe('./out/main/index.js')
    expect(pkg.build).toBeUndefined() // the config lives in the .cjs file only
    expect(pkg.scripts.dist).toContain('electron-builder.config.cjs')
    for (const icon of ['build/icon.png', 'build/icon.ico', 'build/icon.icns']) {
      expect(existsSync(join(ROOT, icon)), icon).toBe(true)
    }
  })

  it("names SQLite's native binary for unpacking (electron-builder's own detection is not relied on)", () => {
    expect(config.asarUnpack).toEqual(['node_modules/@libsql/*/*.node'])
  })

  it('ships a 512x512 PNG icon', async () => {
    const png = await readFile(join(ROOT, 'build/icon.png'))
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG')
    expect(png.readUInt32BE(16)).toBe(512)
    expect(png.readUInt32BE(20)).toBe(512)
  })
})

// ------------------------------------------------------------------------ packaging

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
/** Fuse wire V1, 8 fuses, each set the opposite of what the config asks, so a flip is visible. */
const STAND_IN_WIRE = '10110001'

/** An Electron "distribution" with a fake executable that still carries a fuse wire. */
async function makeStandInElectron(dir: string): Promise<void> {
  await mkdir(join(dir, 'resources'), { recursive: true })
  await mkdir(join(dir, 'locales'), { recursive: true })
  const executable = Buffer.concat([
    Buffer.from('#!/bin/sh\necho "stand-in electron"\n#'),
    Buffer.from(SENTINEL, 'ascii'),
    Buffer.from([1, STAND_IN_WIRE.length]),
    Buffer.from(STAND_IN_WIRE, 'ascii'),
    Buffer.from('\n'),
  ])
  await writeFile(join(dir, 'electron'), executable)
  await chmod(join(dir, 'electron'), 0o755)
  await writeFile(join(dir, 'LICENSE'), 'stand-in')
  await writeFile(join(dir, 'locales', 'en-US.pak'), '')
}

describe('packaging the app (linux, unpacked)', () => {
  let work: string
  let appDir: string
  let files: string[]
  const savedEnv = { ...process.env }

  beforeAll(async () => {
    for (const required of ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
      if (!existsSync(join(ROOT, required))) throw new Error(`${required} is missing: run \`npm run build\` first`)
    }
    work = await mkdtemp(join(tmpdir(), 'carhost-pack-'))
    const electronDist = join(work, 'electron-dist')
    await makeStandInElectron(electronDist)
    // Nothing may reach the network: no signing identity lookup, caches in the temp dir.
    process.env.CSC_IDENTITY_AUTO_DISCOVERY = 'false'
    process.env.ELECTRON_SKIP_BINARY_DOWNLOAD = '1'
    process.env.ELECTRON_BUILDER_CACHE = join(work, 'cache')
    process.env.ELECTRON_CACHE = join(work, 'cache')

    const { build, Platform, Arch } = require('electron-builder') as typeof import('electron-builder')
    await build({
      projectDir: ROOT,
      targets: Platform.LINUX.createTarget('dir', Arch.x64),
      publish: 'never',
      config: {
        ...(config as object),
        electronDist,
        electronVersion: '45.4.1',
        // Any attempt to download Electron would hit a closed local port and fail fast.
        electronDownload: { mirror: 'http://127.0.0.1:9/' },
        directories: { ...config.directories, output: join(work, 'dist') },
      },
    })
    appDir = join(work, 'dist', 'linux-unpacked')
    const asar = require('@electron/asar') as typeof import('@electron/asar')
    files = asar.listPackage(join(appDir, 'resources', 'app.asar'), { isPack: false }).map((f) => f.replaceAll('\\', '/'))
  }, 90_000)

  afterAll(async () => {
    process.env = savedEnv
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('renames the executable and packs app.asar', () => {
    expect(existsSync(join(appDir, 'carhost-desktop'))).toBe(true)
    expect(existsSync(join(appDir, 'resources', 'app.asar'))).toBe(true)
    expect(existsSync(join(appDir, 'resources', 'app'))).toBe(false)
  })

  it('app.asar holds the build output, package.json and the runtime dependencies', async () => {
    for (const path of [
      '/package.json',
      '/out/main/index.js',
      '/out/preload/index.cjs',
      '/out/renderer/index.html',
      '/node_modules/pidtree/package.json',
      '/node_modules/ws/package.json',
      '/node_modules/zod/package.json',
      '/node_modules/libsql/package.json',
    ]) {
      expect(files, path).toContain(path)
    }
    const asar = require('@electron/asar') as typeof import('@electron/asar')
    const pkg = JSON.parse(asar.extractFile(join(appDir, 'resources', 'app.asar'), 'package.json').toString())
    expect(pkg.main).toBe('./out/main/index.js')
    expect(pkg.devDependencies).toBeUndefined()
    expect(pkg.scripts).toBeUndefined()
  })

  it('app.asar holds no sources, tests, configs or development dependencies', () => {
    const topModules = new Set(files.filter((f) => /^\/node_modules\/[^/]+$/.test(f)).map((f) => f.split('/')[2]))
    const scoped = files.filter((f) => /^\/node_modules\/@[^/]+\/[^/]+$/.test(f))
    // libsql and what it loads its per-platform binary with (§11 Storage).
    expect([...topModules].sort()).toEqual(['@libsql', '@neon-rs', 'detect-libc', 'libsql', 'pidtree', 'ws', 'zod'])
    // The @libsql binaries are the optional dependencies npm installed for this platform.
    const platformBinaries = readdirSync(join(ROOT, 'node_modules/@libsql')).map((name) => `/node_modules/@libsql/${name}`)
    expect(platformBinaries).toContain('/node_modules/@libsql/linux-x64-gnu')
    expect(scoped.sort()).toEqual([...platformBinaries, '/node_modules/@neon-rs/load'].sort())
    const forbidden = files.filter(
      (f) =>
        /^\/(src|test|bench|build|bin|dist|\.ci|node_modules\/\.bin)(\/|$)/.test(f) ||
        /^\/tsconfig[^/]*\.json$/.test(f) ||
        /^\/(electron\.vite|vitest)\.config\.ts$/.test(f) ||
        /^\/electron-builder\.config\.cjs$/.test(f) ||
        /^\/package-lock\.json$/.test(f) ||
        (/\.tsx?$/.test(f) && !f.startsWith('/node_modules/')),
    )
    expect(forbidden).toEqual([])
  })

  it("unpacks SQLite's native binary beside the asar, where Node can load it", () => {
    const binary = 'node_modules/@libsql/linux-x64-gnu/index.node'
    const unpacked = join(appDir, 'resources', 'app.asar.unpacked', binary)
    expect(existsSync(unpacked), unpacked).toBe(true)
    // The asar keeps only an entry pointing at the unpacked file.
    expect(files).toContain(`/${binary}`)
    const asar = require('@electron/asar') as typeof import('@electron/asar')
    const entry = asar.statFile(join(appDir, 'resources', 'app.asar'), binary) as { unpacked?: boolean }
    expect(entry.unpacked).toBe(true)
    // It is a real shared object (ELF), and the same binary the Node tests load.
    expect(readFileSync(unpacked).subarray(0, 4).toString('latin1')).toBe('\x7fELF')
    expect(readFileSync(unpacked).equals(readFileSync(join(ROOT, binary)))).toBe(true)
  })

  it('the packaged executable has every hardening fuse flipped', async () => {
    const fuses = require('@electron/fuses') as typeof import('@electron/fuses')
    const wire = await fuses.getCurrentFuseWire(join(appDir, 'carhost-desktop'))
    const { FuseV1Options } = fuses as unknown as { FuseV1Options: Record<string, number> }
    // The wire stores ASCII '0' (disabled) and '1' (enabled).
    const FuseState = { DISABLE: '0'.charCodeAt(0), ENABLE: '1'.charCodeAt(0) }
    const state = (option: string) => (wire as unknown as Record<number, number>)[FuseV1Options[option]!]
    expect(state('RunAsNode')).toBe(FuseState.DISABLE)
    expect(state('EnableCookieEncryption')).toBe(FuseState.ENABLE)
    expect(state('EnableNodeOptionsEnvironmentVariable')).toBe(FuseState.DISABLE)
    expect(state('EnableNodeCliInspectArguments')).toBe(FuseState.DISABLE)
    expect(state('EnableEmbeddedAsarIntegrityValidation')).toBe(FuseState.ENABLE)
    expect(state('OnlyLoadAppFromAsar')).toBe(FuseState.ENABLE)
    expect(state('GrantFileProtocolExtraPrivileges')).toBe(FuseState.DISABLE)
  })
})
