/**
 * `npm test` runs `npm run typecheck` first (pretest): that gate must reach every
 * TypeScript file. A root tsconfig with `files: []` and references checks nothing
 * under `tsc -p`; under `tsc -b` it checks each referenced project.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
const TSCONFIGS = ['tsconfig.json', 'tsconfig.base.json', 'tsconfig.node.json', 'tsconfig.web.json']

function parseConfig(path: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(path, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (!parsed) throw new Error(`cannot read ${path}`)
  return parsed
}

/** Root files of every project `tsc -b <root>` builds: the root's references, transitively. */
function filesChecked(rootConfig: string): Map<string, string[]> {
  const projects = new Map<string, string[]>()
  const visit = (path: string): void => {
    if (projects.has(path)) return
    const parsed = parseConfig(path)
    projects.set(path, parsed.fileNames.map((f) => resolve(f)))
    for (const ref of parsed.projectReferences ?? []) visit(ts.resolveProjectReferencePath(ref))
  }
  visit(resolve(rootConfig))
  return projects
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(m|c)?tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
}

describe('the type-check gate', () => {
  it('pretest runs it, and it builds the project references', () => {
    expect(pkg.scripts.pretest).toMatch(/npm run typecheck/)
    expect(pkg.scripts.typecheck).toMatch(/^tsc (-b|--build) tsconfig\.json$/)
  })

  it('reaches every .ts/.tsx file under src, test and bench', () => {
    const projects = filesChecked(join(ROOT, 'tsconfig.json'))
    const checked = new Set([...projects.values()].flat())
    const all = ['src', 'test', 'bench'].flatMap((d) => sourceFiles(join(ROOT, d)))
    const missed = all.filter((f) => !checked.has(f)).map((f) => relative(ROOT, f))
    expect(missed).toEqual([])
    for (const folder of ['src/hub', 'src/main', 'src/preload', 'src/renderer', 'test']) {
      expect(all.some((f) => relative(ROOT, f).startsWith(`${folder}/`)), folder).toBe(true)
    }
  })

  describe('on a copy of the configuration with an error in each guarded folder', () => {
    let dir = ''
    const broken = [
      'src/hub/broken.ts',
      'src/main/broken.ts',
      'src/preload/broken.ts',
      'src/renderer/broken.tsx',
      'test/unit/broken.ts',
      'test/renderer/broken.tsx',
    ]

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'carhost-typecheck-'))
      for (const name of TSCONFIGS) await copyFile(join(ROOT, name), join(dir, name))
      // Only the declared `types`; build info then lands in the copy's own node_modules/.tmp.
      await mkdir(join(dir, 'node_modules'))
      await symlink(join(ROOT, 'node_modules/@types'), join(dir, 'node_modules/@types'), 'dir')
      for (const file of broken) {
        await mkdir(dirname(join(dir, file)), { recursive: true })
        await writeFile(join(dir, file), 'export const n: number = "not a number"\n')
      }
    })
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    it('`npm run typecheck` fails and names every broken file', async () => {
      const { code, output } = await new Promise<{ code: number; output: string }>((done) => {
        execFile(
          process.execPath,
          [join(ROOT, 'node_modules/typescript/bin/tsc'), ...pkg.scripts.typecheck!.split(' ').slice(1), '--pretty', 'false'],
          { cwd: dir },
          (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
        )
      })
      expect(code).not.toBe(0)
      for (const file of broken) expect(output, file).toContain(`${file}(1,14): error TS2322`)
    }, 120_000)
  })
})
