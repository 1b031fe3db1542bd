/**
 * The layer table of README.md ("may import"), enforced on every import in src/.
 * A file may import files under its own folder and under the folders its row
 * lists, and only the packages its row lists.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const SRC = join(ROOT, 'src')

interface Layer {
  /** Folders under src/ (with their sub-folders). */
  folders: string[]
  /** Package names; `node:*` is every Node built-in. */
  packages: string[]
}

const NODE = 'node:*'
const SQLITE = ['libsql', '@photostructure/sqlite']
const MODEL_CLIENTS = ['eventsource-parser', '@modelcontextprotocol/sdk', 'openai']

/** Keep in step with the table in README.md (the last test compares them). */
const LAYERS: Record<string, Layer> = {
  base: { folders: [], packages: [] },
  protocol: { folders: ['base'], packages: ['zod'] },
  hub: { folders: ['base', 'protocol'], packages: ['zod'] },
  'platform/common': { folders: ['base', 'protocol', 'hub'], packages: [] },
  'platform/node': { folders: ['base', 'protocol', 'hub', 'shared'], packages: ['zod', 'ws', 'pidtree', NODE, ...SQLITE] },
  'platform/electron': { folders: ['base', 'protocol', 'hub', 'platform/node'], packages: ['electron'] },
  shared: { folders: ['protocol'], packages: [] },
  main: {
    folders: ['base', 'protocol', 'hub', 'platform', 'shared', 'agents'],
    packages: ['zod', 'electron', NODE],
  },
  preload: { folders: ['base', 'protocol', 'shared'], packages: ['electron', 'zod'] },
  renderer: { folders: ['protocol'], packages: ['zod', 'react', 'react-dom', 'react-markdown', '@tanstack/react-virtual'] },
  'agent-sdk': { folders: ['base', 'protocol'], packages: [NODE] },
  agents: { folders: ['agent-sdk', 'protocol'], packages: ['zod', NODE] },
  'agents/provider': { folders: ['agent-sdk', 'base', 'protocol'], packages: ['zod', NODE, ...MODEL_CLIENTS] },
  headless: { folders: ['base', 'protocol', 'hub', 'platform/node', 'agents'], packages: ['zod', NODE] },
  cli: { folders: ['base', 'protocol', 'platform/node'], packages: ['zod', 'ws', NODE] },
}

const under = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`)

/** The row a src/-relative path falls in: the longest folder that holds it. */
function layerOf(path: string): string | undefined {
  return Object.keys(LAYERS)
    .filter((folder) => under(path, folder))
    .sort((a, b) => b.length - a.length)[0]
}

function packageOf(specifier: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return NODE
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** Crossings of one file (`file` relative to src/) given its module specifiers. */
function crossings(file: string, specifiers: string[]): string[] {
  const layer = layerOf(file)
  if (!layer) return [`${file}: in no row of the layer table`]
  const rule = LAYERS[layer]!
  const found: string[] = []
  for (const raw of specifiers) {
    const specifier = raw.replace(/\?.*$/, '')
    if (specifier.startsWith('.')) {
      const target = relative(SRC, resolve(SRC, dirname(file), specifier)).split('\\').join('/')
      const allowed = under(target, layer) || rule.folders.some((folder) => under(target, folder))
      if (!allowed) found.push(`${file} (${layer}) imports ${raw}`)
    } else if (!rule.packages.includes(packageOf(specifier))) {
      found.push(`${file} (${layer}) imports package ${raw}`)
    }
  }
  return found
}

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(m|c)?tsx?$/.test(e.name))
    .map((e) => relative(SRC, join(e.parentPath, e.name)).split('\\').join('/'))
}

/** Every static, type-only, re-export and dynamic import of a file. */
function specifiersOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true)
  return info.importedFiles.map((f) => f.fileName)
}

describe('layers', () => {
  it('no file in src/ imports across the layer table', () => {
    const files = sourceFiles()
    expect(files.length).toBeGreaterThan(50)
    expect(files.flatMap((file) => crossings(file, specifiersOf(file)))).toEqual([])
  })

  it('the check sees a crossing: upward, sideways, a forbidden package, a type-only import', () => {
    expect(crossings('hub/x.ts', ['electron'])).toHaveLength(1)
    expect(crossings('hub/x.ts', ['ws', 'node:http', 'libsql'])).toHaveLength(3)
    expect(crossings('hub/x.ts', ['../platform/node/hub-server.js'])).toHaveLength(1)
    expect(crossings('main/x.ts', ['../preload/channels.js'])).toHaveLength(1)
    expect(crossings('base/x.ts', ['../protocol/errors.js'])).toHaveLength(1)
    expect(crossings('renderer/src/ui/x.tsx', ['../../../hub/hub.js', 'node:fs'])).toHaveLength(2)
    expect(crossings('agents/x.ts', ['eventsource-parser'])).toHaveLength(1)
    expect(specifiersOf('hub/hub.ts').length).toBeGreaterThan(0)
    const typeOnly = ts.preProcessFile("import type { X } from 'electron'\n", true, true).importedFiles
    expect(typeOnly.map((f) => f.fileName)).toEqual(['electron'])
  })

  it('allows what the table allows', () => {
    expect(crossings('main/x.ts', ['../shared/ipc-channels.js', '../platform/node/hub-server.js', 'node:fs'])).toEqual([])
    expect(crossings('agents/provider/x.ts', ['@modelcontextprotocol/sdk/client/index.js', '../../agent-sdk/index.js'])).toEqual([])
    expect(crossings('agents/x.ts', ['./echo.ts?modulePath', './provider/index.ts?modulePath'])).toEqual([])
  })

  it('the hub core uses timers only through the injectable Clock', () => {
    const globalTimer = /(?<![.\w])(setTimeout|setInterval|setImmediate)\s*\(/
    const core = sourceFiles().filter((f) => ['base', 'protocol', 'hub'].some((l) => under(f, l)) && f !== 'base/clock.ts')
    expect(core.filter((f) => globalTimer.test(readFileSync(join(SRC, f), 'utf8')))).toEqual([])
    expect(globalTimer.test('const t = setTimeout(fn, 1)')).toBe(true)
    expect(globalTimer.test('this.clock.setTimeout(fn, 1)')).toBe(false)
  })

  it('README.md states the same table', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const start = readme.indexOf('| folder | what it holds | may import |')
    expect(start).toBeGreaterThanOrEqual(0)
    const rows = readme.slice(start).split('\n').slice(2)
    const table: Record<string, string[]> = {}
    for (const row of rows) {
      if (!row.startsWith('|')) break
      const cells = row.split('|').map((c) => c.trim())
      const folder = /^`src\/([^`]+)`$/.exec(cells[1]!)?.[1]
      expect(folder, row).toBeDefined()
      table[folder!] = [...cells[3]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort()
    }
    const expected = Object.fromEntries(
      Object.entries(LAYERS).map(([folder, rule]) => [folder, [...rule.folders, ...rule.packages].sort()]),
    )
    expect(table).toEqual(expected)
  })
})
