import { describe, expect, it } from 'vitest'
import { isLoopbackHost, parseHeadlessArgs, UsageError } from '../../src/headless/options.js'

function usageError(argv: string[]): string {
  try {
    parseHeadlessArgs(argv)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error(`accepted: ${argv.join(' ')}`)
}

describe('parseHeadlessArgs', () => {
  it('defaults: loopback, a free port, built-in agents on', () => {
    expect(parseHeadlessArgs([])).toEqual({
      host: '127.0.0.1',
      port: 0,
      token: undefined,
      newToken: false,
      agentsFile: undefined,
      builtinAgents: true,
      dataDir: undefined,
      history: true,
      ackTimeoutMs: undefined,
      sessionIdleMs: undefined,
      sessionMaxAgeMs: undefined,
      allowRemote: false,
      help: false,
    })
  })

  it('reads every flag', () => {
    expect(
      parseHeadlessArgs([
        '--host', 'localhost', '--port', '8123', '--token', 'tok', '--agents', 'a.json', '--no-builtin-agents',
        '--data-dir', '/tmp/d', '--ack-timeout-ms', '250', '--session-idle-ms', '1000', '--session-max-age-ms', '5000',
        '--no-history', '--new-token',
      ]),
    ).toEqual({
      host: 'localhost',
      port: 8123,
      token: 'tok',
      newToken: true,
      agentsFile: 'a.json',
      builtinAgents: false,
      dataDir: '/tmp/d',
      history: false,
      ackTimeoutMs: 250,
      sessionIdleMs: 1000,
      sessionMaxAgeMs: 5000,
      allowRemote: false,
      help: false,
    })
  })

  it('takes a value beginning with "-" as the value of the flag before it', () => {
    expect(parseHeadlessArgs(['--token', '-abc', '--port', '1']).token).toBe('-abc')
    expect(parseHeadlessArgs(['--token=-abc']).token).toBe('-abc')
    expect(parseHeadlessArgs(['--data-dir', '--odd-name', '--no-builtin-agents'])).toMatchObject({ dataDir: '--odd-name', builtinAgents: false })
  })

  it('names the bad flag in one line', () => {
    expect(usageError(['--port', 'x'])).toMatch(/^--port: /)
    expect(usageError(['--port', '65536'])).toMatch(/^--port: /)
    expect(usageError(['--port', '1.5'])).toMatch(/^--port: /)
    expect(usageError(['--session-idle-ms', '0'])).toMatch(/^--session-idle-ms: /)
    expect(usageError(['--frobnicate'])).toContain('--frobnicate')
    expect(usageError(['--port'])).toContain('--port')
    for (const message of [usageError(['--port', 'x']), usageError(['--frobnicate'])]) expect(message).not.toContain('\n')
  })

  it('refuses a non-loopback host unless --allow-remote', () => {
    expect(usageError(['--host', '0.0.0.0'])).toContain('--allow-remote')
    expect(usageError(['--host', '192.168.1.10'])).toContain('--allow-remote')
    expect(parseHeadlessArgs(['--host', '0.0.0.0', '--allow-remote']).host).toBe('0.0.0.0')
  })

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '127.0.0.256', 'localhost.evil.com', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false)
  })
})
