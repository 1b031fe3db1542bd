import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ProviderErrorCode } from '../../src/protocol/providers.js'
import { KINDS, ProviderRig, SECRET_KEY } from './support/provider-rig.js'

/**
 * Every failure of §12 from a real HTTP exchange: the turn ends with `error`,
 * a §12 code and a message that says what to do, never the key.
 */
const rig = new ProviderRig()
afterEach(() => rig.dispose())

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe.each(KINDS)('provider agent errors, $kind format', (kind) => {
  it('maps each HTTP failure to its §12 code with a message that says what to do', async () => {
    const server = await rig.server(kind)
    server.reply(
      { kind: 'error', status: 401, message: 'invalid key' },
      { kind: 'error', status: 403, message: 'this key may not use this model' },
      { kind: 'error', status: 404, message: 'model not found' },
      { kind: 'error', status: 429, message: 'slow down', headers: { 'retry-after': '20' } },
      { kind: 'error', status: 429, message: 'slow down' },
      { kind: 'error', status: 500, message: 'internal error' },
      { kind: 'error', status: 529, message: 'Overloaded' },
      { kind: 'garbage' },
      { kind: 'cut', text: ['Half an ', 'answ'] },
      { kind: 'stream-error', text: ['Par'], errorType: 'overloaded_error', message: 'Overloaded' },
      { kind: 'error', status: 400, message: 'messages: too long' },
    )
    const agent = rig.agent(kind, kind.baseUrl(server), {}, { env: { CARHOST_PROVIDER_TIMEOUT_MS: '60000' } })
    const expected: Array<[code: string, says: RegExp]> = [
      [ProviderErrorCode.AuthFailed, /HTTP 401.*check the provider's API key.*invalid key/],
      [ProviderErrorCode.AuthFailed, /HTTP 403.*check the provider's API key.*may not use this model/],
      [ProviderErrorCode.NotFound, /HTTP 404.*check the provider's base URL and the model name 'mock-model-1'.*model not found/],
      [ProviderErrorCode.RateLimited, /HTTP 429.*retry in 20 s/],
      [ProviderErrorCode.RateLimited, /HTTP 429.*wait a little and try again/],
      [ProviderErrorCode.ServerError, /HTTP 500.*try again.*internal error/],
      [ProviderErrorCode.ServerError, /HTTP 529.*try again/],
      [ProviderErrorCode.BadResponse, /could not be read.*Check that the provider's base URL and kind/],
      [ProviderErrorCode.ServerError, /broke off the answer in the middle: try again/],
      [ProviderErrorCode.ServerError, /in the middle of the answer.*try again/],
      [ProviderErrorCode.BadResponse, /HTTP 400.*messages: too long/],
    ]
    for (const [index, [code, says]] of expected.entries()) {
      const { sessionId } = await agent.chat(`request ${index}`)
      const error = await agent.terminal(sessionId)
      expect({ index, kind: error.kind, code: error.code }).toEqual({ index, kind: 'error', code })
      expect(error.error).toMatch(says)
    }
    // The cut stream's start was streamed before the error.
    expect(agent.textOf('s-9')).toBe('Half an answ')
    expect(server.chatRequests()).toHaveLength(expected.length)
  })

  it('a server that never answers: unreachable after the timeout, and the connection is closed', async () => {
    const server = await rig.server(kind)
    server.reply({ kind: 'hang' })
    const agent = rig.agent(kind, kind.baseUrl(server), {}, { env: { CARHOST_PROVIDER_TIMEOUT_MS: '1500' } })
    const { sessionId } = await agent.chat('hello?')
    const error = await agent.terminal(sessionId)
    expect(error).toMatchObject({ kind: 'error', code: ProviderErrorCode.Unreachable })
    expect(error.error).toMatch(/did not answer for 2 s: check that it is running/)
    await server.chatRequests()[0]!.closed
  })

  it('connection refused: an empty model list, the agent keeps running, and the first chat reports why', async () => {
    const port = await closedPort()
    const agent = rig.agent(kind, kind.kind === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`, { default_model: null })
    expect(await agent.models()).toEqual({ models: [] })
    const { sessionId } = await agent.chat('anyone there?')
    const error = await agent.terminal(sessionId)
    expect(error).toMatchObject({ kind: 'error', code: ProviderErrorCode.Unreachable })
    expect(error.error).toMatch(new RegExp(`Cannot reach the model server at http://127.0.0.1:${port}: the connection was refused\\. Check that the server is running`))
    // Still an agent: it answers the next chat too.
    const again = await agent.chat('still?')
    expect(await agent.terminal(again.sessionId)).toMatchObject({ code: ProviderErrorCode.Unreachable })
  })

  it('a wrong key: auth_failed, and the key the server echoed back is not in the event', async () => {
    const server = await rig.server(kind, { apiKey: 'the-right-key' })
    const agent = rig.agent(kind, kind.baseUrl(server))
    // The model listing failed the same way: nothing announced but an empty list.
    expect(await agent.models()).toEqual({ models: [], default_model: 'mock-model-1' })
    const { sessionId } = await agent.chat('hi')
    const error = await agent.terminal(sessionId)
    expect(error).toMatchObject({ kind: 'error', code: ProviderErrorCode.AuthFailed })
    expect(error.error).toContain('Incorrect API key provided: [key removed]')
    expect(JSON.stringify(error)).not.toContain(SECRET_KEY)
    // The server did see the key: the redaction, not a missing key, kept it out.
    expect(server.chatRequests()[0]!.headers[kind.kind === 'openai' ? 'authorization' : 'x-api-key']).toContain(SECRET_KEY)
  })
})

describe('provider agent settings', () => {
  it('refuses bad settings with a line naming the field, and exits 2', async () => {
    const agent = rig.agent(KINDS[0]!, 'http://127.0.0.1:9/v1', {}, {
      env: { CARHOST_PROVIDER: JSON.stringify({ kind: 'openai', base_url: 'ftp://example.invalid' }) },
    })
    expect(await agent.whenExited()).toBe(2)
    expect(agent.stderr).toMatch(/CARHOST_PROVIDER\.base_url/)
  })
})
