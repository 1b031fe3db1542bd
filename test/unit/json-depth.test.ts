import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH, checkJsonShape } from '../../src/protocol/json-depth.js'

const bytes = (text: string) => Buffer.from(text, 'utf8')
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

describe('checkJsonShape (§2 pre-scan)', () => {
  it('admits 256 levels and refuses 257, arrays and objects alike', () => {
    expect(checkJsonShape(bytes(nested(MAX_JSON_DEPTH)))).toBe('ok')
    expect(checkJsonShape(bytes(nested(MAX_JSON_DEPTH + 1)))).toBe('too-deep')
    expect(checkJsonShape(bytes('{"a":'.repeat(MAX_JSON_DEPTH) + '1' + '}'.repeat(MAX_JSON_DEPTH)))).toBe('ok')
    expect(checkJsonShape(bytes('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1)))).toBe('too-deep')
  })

  it('counts depth at its peak, not in total', () => {
    expect(checkJsonShape(bytes(`[${Array.from({ length: 1000 }, () => nested(200)).join(',')}]`))).toBe('ok')
  })

  it('ignores brackets and commas inside strings, escaped quotes and backslashes included', () => {
    const brackets = '['.repeat(10_000) + '{'.repeat(10_000) + ','.repeat(10_000)
    expect(checkJsonShape(bytes(JSON.stringify({ prompt: brackets })), 256, 100)).toBe('ok')
    // \" does not end the string; \\ does not escape the closing quote.
    expect(checkJsonShape(bytes(`["\\"${'['.repeat(300)}", "\\\\", 1]`))).toBe('ok')
    expect(checkJsonShape(bytes(`["\\\\"${'['.repeat(300)}`))).toBe('too-deep')
    // Multi-byte UTF-8 never looks like a structural byte.
    expect(checkJsonShape(bytes(JSON.stringify(['€[', '😀{'.repeat(500)])), 2, 10)).toBe('ok')
  })

  it('bounds the number of elements and members', () => {
    const flat = (n: number) => `[${Array.from({ length: n }, () => '1').join(',')}]`
    expect(checkJsonShape(bytes(flat(100)), 256, 100)).toBe('ok')
    expect(checkJsonShape(bytes(flat(101)), 256, 100)).toBe('too-many-items')
    expect(checkJsonShape(bytes(`[${Array.from({ length: 60 }, () => '{}').join(',')}]`), 256, 100)).toBe('too-many-items')
  })

  it('leaves malformed text to JSON.parse', () => {
    expect(checkJsonShape(bytes('{not json'))).toBe('ok')
    expect(checkJsonShape(bytes('"unterminated [[['))).toBe('ok')
  })
})
