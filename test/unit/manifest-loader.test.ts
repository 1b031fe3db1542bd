import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManifestError, loadManifest } from '../../src/platform/node/manifest-loader.js'

let dir: string
let counter = 0

function manifest(content: unknown): string {
  const file = join(dir, `m${counter++}.json`)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

async function failure(file: string, reserved?: string[]): Promise<string> {
  const error = await loadManifest(file, reserved ? { reservedIds: new Set(reserved) } : {}).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ManifestError)
  const message = (error as Error).message
  expect(message).not.toContain('\n')
  expect(message).toContain(file)
  return message
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'carhost-manifest-'))
  mkdirSync(join(dir, 'agents'))
  writeFileSync(join(dir, 'agents', 'a.js'), '')
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('loadManifest (§10)', () => {
  it('resolves module against the manifest folder and fills defaults', async () => {
    const file = manifest({ agents: [{ id: 'a.1', name: 'A', module: 'agents/a.js' }] })
    expect(await loadManifest(file)).toEqual([
      {
        id: 'a.1',
        name: 'A',
        module: join(dir, 'agents', 'a.js'),
        description: '',
        capabilities: ['chat'],
        args: [],
        env: {},
        restart: 'on_failure',
        max_restarts: 5,
        auto_start: true,
        ready_signal: false,
      },
    ])
  })

  it('reads ready_signal (§6 v2) and refuses a non-boolean one', async () => {
    const ok = manifest({ agents: [{ id: 'r', name: 'R', module: 'agents/a.js', ready_signal: true }] })
    expect((await loadManifest(ok))[0]).toMatchObject({ id: 'r', ready_signal: true })
    const bad = manifest({ agents: [{ id: 'r', name: 'R', module: 'agents/a.js', ready_signal: 'yes' }] })
    await expect(loadManifest(bad)).rejects.toThrow(/ready_signal/)
  })

  it('names the agent (id, or index when the id is unreadable) and the field', async () => {
    expect(await failure(manifest({ agents: [{ id: 'x', name: 'X', module: 'agents/a.js', restart: 'sometimes' }] }))).toMatch(
      /agent 'x' \(#0\): field 'restart': /,
    )
    expect(await failure(manifest({ agents: [{ id: 7, name: 'X', module: 'agents/a.js' }] }))).toMatch(/agent #0: field 'id': /)
    expect(await failure(manifest({ agents: [{ id: 'x', name: 'X', module: 'agents/a.js', env: { K: 1 } }] }))).toMatch(
      /agent 'x' \(#0\): field 'env\.K': /,
    )
    expect(await failure(manifest({ agents: [{ id: 'x', name: 'X', module: 'agents/a.js', extra: 1 }] }))).toMatch(
      /agent 'x' \(#0\): unknown field 'extra'/,
    )
    expect(await failure(manifest({ agent: [] }))).toContain("'agent'")
    expect(await failure(manifest('not json'))).toContain('not valid JSON')
    expect(await failure(join(dir, 'absent.json'))).toContain('ENOENT')
  })

  it('refuses duplicate ids, reserved ids and missing modules, returning nothing', async () => {
    const ok = { id: 'ok', name: 'Ok', module: 'agents/a.js' }
    expect(await failure(manifest({ agents: [ok, { ...ok, name: 'Again' }] }))).toMatch(/agent 'ok' \(#1\): field 'id': duplicate of agent #0/)
    expect(await failure(manifest({ agents: [ok] }), ['ok'])).toMatch(/agent 'ok' \(#0\): field 'id': .*built-in/)
    expect(await failure(manifest({ agents: [ok, { id: 'gone', name: 'G', module: 'agents/none.js' }] }))).toMatch(
      /agent 'gone' \(#1\): field 'module': no file at .*none\.js/,
    )
    expect(await failure(manifest({ agents: [{ ...ok, module: 'agents' }] }))).toMatch(/field 'module'/)
  })
})
