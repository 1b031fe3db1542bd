import { describe, expect, it } from 'vitest'
import { uniqueToolName } from '../../src/agents/provider/mcp-toolbox.js'
import { parseToolArguments, turnTranscript } from '../../src/agents/provider/model-client.js'
import { httpStatusError, retryAfterSeconds, serverDetail } from '../../src/agents/provider/provider-error.js'
import { readProviderConfig } from '../../src/agents/provider/settings.js'

/** The provider agent's pure parts (§12); its behaviour end to end is in test/integration/provider-*.test.ts. */
describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it('reads seconds, an HTTP date and retry-after-ms, rounding up', () => {
    expect(retryAfterSeconds(new Headers({ 'retry-after': '20' }), now)).toBe(20)
    expect(retryAfterSeconds(new Headers({ 'retry-after': '1.2' }), now)).toBe(2)
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30)
    expect(retryAfterSeconds(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), now)).toBe(2)
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined()
    expect(retryAfterSeconds(new Headers(), now)).toBeUndefined()
  })
})

describe('httpStatusError', () => {
  it('gives each status its §12 code and keeps the server\'s words, cut short', () => {
    const subject = { url: 'http://user:pw@127.0.0.1:1/v1/chat/completions?x=1', model: 'm' }
    const codes = [401, 403, 404, 429, 500, 503, 529, 400, 422].map((status) => httpStatusError(status, new Headers(), '', subject).code)
    expect(codes).toEqual(['auth_failed', 'auth_failed', 'not_found', 'rate_limited', 'server_error', 'server_error', 'server_error', 'bad_response', 'bad_response'])
    const notFound = httpStatusError(404, new Headers(), JSON.stringify({ error: { message: 'no such model' } }), subject)
    expect(notFound.message).toBe(
      "Nothing found at http://127.0.0.1:1/v1/chat/completions (HTTP 404): check the provider's base URL and the model name 'm'. The server said: no such model",
    )
    expect(serverDetail(JSON.stringify({ error: 'x'.repeat(1000) }))).toHaveLength(301)
    expect(serverDetail('<html>')).toBeUndefined()
  })
})

describe('turnTranscript', () => {
  it('starts with the user, joins adjacent messages of one role, skips empty ones, and attaches images to the prompt', () => {
    const image = { type: 'image_url' as const, url: 'https://x.example/a.png' }
    expect(
      turnTranscript(
        [
          { role: 'assistant', text: 'leading answer' },
          { role: 'user', text: 'one' },
          { role: 'user', text: 'two' },
          { role: 'assistant', text: '' },
          { role: 'assistant', text: 'reply' },
          { role: 'user', text: 'unanswered' },
        ],
        'prompt',
        [image],
      ),
    ).toEqual([
      { role: 'user', text: 'one\n\ntwo', attachments: [] },
      { role: 'assistant', text: 'reply', toolCalls: [] },
      { role: 'user', text: 'unanswered\n\nprompt', attachments: [image] },
    ])
  })
})

describe('parseToolArguments', () => {
  it('takes a JSON object (empty means none) and refuses anything else', () => {
    expect(parseToolArguments('')).toEqual({ ok: true, value: {} })
    expect(parseToolArguments('{"a":1}')).toEqual({ ok: true, value: { a: 1 } })
    expect(parseToolArguments('{"a":')).toEqual({ ok: false, reason: 'the arguments are not valid JSON' })
    expect(parseToolArguments('[1]')).toEqual({ ok: false, reason: 'the arguments are not a JSON object' })
  })
})

describe('uniqueToolName', () => {
  it('keeps to ^[a-zA-Z0-9_-]{1,64}$ and stays unique', () => {
    const taken = new Map<string, unknown>()
    const names: string[] = []
    for (const wanted of ['my tools__read.file', 'my tools__read file', `${'s'.repeat(60)}__tool`, `${'s'.repeat(60)}__tool`]) {
      const name = uniqueToolName(wanted, taken)
      taken.set(name, true)
      names.push(name)
    }
    expect(names.slice(0, 2)).toEqual(['my_tools__read_file', 'my_tools__read_file_2'])
    expect(names[2]).toBe(`${'s'.repeat(60)}__to`)
    expect(names[3]).toBe(`${'s'.repeat(60)}___2`)
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/)
  })
})

describe('readProviderConfig', () => {
  const settings = JSON.stringify({ kind: 'anthropic', base_url: 'https://api.anthropic.com' })
  it('reads the settings, the key and the data folder', () => {
    const read = readProviderConfig({ CARHOST_PROVIDER: settings, CARHOST_PROVIDER_API_KEY: 'k', CARHOST_DATA_DIR: '/d', CARHOST_PROVIDER_TIMEOUT_MS: '5000' })
    expect(read).toEqual({
      ok: true,
      config: {
        settings: { kind: 'anthropic', base_url: 'https://api.anthropic.com' },
        apiKey: 'k',
        dataDir: '/d',
        timeoutMs: 5000,
        mcpStartTimeoutMs: 30_000,
      },
    })
    expect(readProviderConfig({ CARHOST_PROVIDER: settings, CARHOST_PROVIDER_API_KEY: '' })).toMatchObject({ ok: true, config: { apiKey: null, dataDir: null } })
  })
  it('names the variable and the field of a bad setting', () => {
    expect(readProviderConfig({})).toEqual({ ok: false, error: 'CARHOST_PROVIDER is not set' })
    expect(readProviderConfig({ CARHOST_PROVIDER: '{' })).toEqual({ ok: false, error: 'CARHOST_PROVIDER is not JSON' })
    const bad = readProviderConfig({ CARHOST_PROVIDER: JSON.stringify({ kind: 'openai', base_url: 'http://x', temperature: 7 }) })
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatch(/^CARHOST_PROVIDER\.temperature: /)
  })
})
