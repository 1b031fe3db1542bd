import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/cli/exit-codes.js'
import { readAllText, readSecret } from '../../src/cli/stdin.js'

describe('readAllText', () => {
  it('decodes UTF-8 split across chunks', async () => {
    const input = new PassThrough()
    const text = readAllText(input, 100, 'the prompt')
    const bytes = Buffer.from('é€x')
    input.write(bytes.subarray(0, 1))
    input.write(bytes.subarray(1, 3))
    input.end(bytes.subarray(3))
    expect(await text).toBe('é€x')
  })

  it('refuses more than the limit with a usage error', async () => {
    const input = new PassThrough()
    const text = readAllText(input, 4, 'the prompt')
    input.end('12345')
    await expect(text).rejects.toMatchObject({ exitCode: ExitCode.Usage, message: 'the prompt on stdin is over 4 bytes' })
  })
})

describe('readSecret', () => {
  /** A stand-in terminal: what is "typed" is written to it; raw mode is recorded. */
  function fakeTerminal() {
    const input = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[] }) as PassThrough & {
      isTTY: boolean
      rawModes: boolean[]
      setRawMode(mode: boolean): void
    }
    input.setRawMode = (mode: boolean) => void input.rawModes.push(mode)
    const shown: string[] = []
    const output = new PassThrough().on('data', (chunk: Buffer) => shown.push(chunk.toString()))
    return { input, output, shown }
  }

  it('on a terminal: raw mode, nothing echoed, Backspace edits, Enter ends', async () => {
    const { input, output, shown } = fakeTerminal()
    const secret = readSecret(input as unknown as NodeJS.ReadStream, output, 100)
    input.write('sk-abcX')
    input.write('\u007f')
    input.write('d\r')
    expect(await secret).toBe('sk-abcd')
    expect(input.rawModes).toEqual([true, false])
    expect(shown.join('')).toBe('API key (not shown): \n')
  })

  it('Ctrl-C on a terminal abandons it (exit 130) and leaves raw mode', async () => {
    const { input, output } = fakeTerminal()
    const secret = readSecret(input as unknown as NodeJS.ReadStream, output, 100)
    input.write('sk-\u0003')
    await expect(secret).rejects.toMatchObject({ exitCode: ExitCode.Interrupted })
    expect(input.rawModes).toEqual([true, false])
  })

  it('piped: all of stdin, without the line end', async () => {
    const input = new PassThrough()
    const secret = readSecret(input as unknown as NodeJS.ReadStream, new PassThrough(), 100)
    input.end('sk-piped-key\n')
    expect(await secret).toBe('sk-piped-key')
  })
})
