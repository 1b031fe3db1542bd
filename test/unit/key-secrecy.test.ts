import { describe, expect, it } from 'vitest'
import { assertKeyNowhere, findKey, keyForms } from '../support/key-secrecy.js'

const KEY = 'sk-test-"Zq9"\\w/ü+7f3a9c1e5b'

describe('the key-secrecy scan', () => {
  it('passes when the key appears nowhere', () => {
    expect(() =>
      assertKeyNowhere(KEY, { messages: [{ has_api_key: true, name: 'sk-test' }], logLines: ['provider saved'], other: [new Error('x')] }),
    ).not.toThrow()
  })

  it('finds the key raw, JSON-escaped (once and twice), percent-encoded and in hex', () => {
    expect(findKey(KEY, { logLines: [`Bearer ${KEY}`] })).toContain('log line #0 holds the key (raw)')
    expect(findKey(KEY, { messages: [{ error: `bad key ${KEY}` }] })).toContain('host message #0 holds the key (JSON-escaped)')
    expect(findKey(KEY, { messages: [{ payload: JSON.stringify({ key: KEY }) }] })).toContain('host message #0 holds the key (JSON-escaped twice)')
    expect(findKey(KEY, { other: [`url?k=${encodeURIComponent(KEY)}`] })).toContain('value #0 holds the key (percent-encoded)')
    expect(findKey(KEY, { other: [Buffer.from(KEY).toString('hex').toUpperCase()] })).toContain('value #0 holds the key (hex)')
  })

  it('finds the key inside longer base64 at every alignment, and in base64url', () => {
    for (const prefix of ['', 'a', 'ab', 'Authorization: Basic ']) {
      const blob = Buffer.from(`${prefix}${KEY} and more`).toString('base64')
      expect(findKey(KEY, { messages: [{ data: blob }] }), prefix).toContain('host message #0 holds the key (base64)')
      const url = Buffer.from(`${prefix}${KEY}`).toString('base64url')
      expect(findKey(KEY, { messages: [{ data: url }] }).length, prefix).toBeGreaterThan(0)
    }
  })

  it('finds it in an error message and names every place', () => {
    expect(() => assertKeyNowhere(KEY, { other: [new Error(`401 for ${KEY}`)], logLines: ['ok', KEY] })).toThrow(
      /log line #1 holds the key \(raw\)[\s\S]*value #0 holds the key \(raw\)/,
    )
  })

  it('refuses a test key too short to have distinctive encodings', () => {
    expect(() => keyForms('short')).toThrow(/at least 12 bytes/)
  })
})
