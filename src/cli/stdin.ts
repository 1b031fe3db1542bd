import { StringDecoder } from 'node:string_decoder'
import { CliError, ExitCode } from './exit-codes.js'

/**
 * All of `input` as UTF-8 text, refusing more than `maxBytes` (exit 2, naming
 * `what`) as soon as it is exceeded instead of holding an unbounded pipe in memory.
 */
export function readAllText(input: NodeJS.ReadableStream, maxBytes: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8')
    let text = ''
    let bytes = 0
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      bytes += buffer.length
      if (bytes > maxBytes) {
        cleanup()
        input.pause()
        reject(new CliError(ExitCode.Usage, `${what} on stdin is over ${maxBytes} bytes`))
        return
      }
      text += decoder.write(buffer)
    }
    const onEnd = () => {
      cleanup()
      resolve(text + decoder.end())
    }
    const onError = (error: Error) => {
      cleanup()
      reject(new CliError(ExitCode.Usage, `cannot read ${what} from stdin: ${error.message}`))
    }
    function cleanup(): void {
      input.off('data', onData)
      input.off('end', onEnd)
      input.off('error', onError)
    }
    input.on('data', onData)
    input.once('end', onEnd)
    input.once('error', onError)
    input.resume()
  })
}

/**
 * A secret (an API key): on a terminal typed after `prompt` with nothing echoed
 * (raw mode; Enter ends it, Backspace edits, Ctrl-C or Ctrl-D abandons it), else
 * the whole of piped stdin. Surrounding whitespace and line ends are dropped.
 */
export async function readSecret(input: NodeJS.ReadStream, prompt: NodeJS.WritableStream, maxBytes: number): Promise<string> {
  if (!input.isTTY) return (await readAllText(input, maxBytes, 'the API key')).trim()
  prompt.write('API key (not shown): ')
  input.setRawMode(true)
  try {
    const secret = await new Promise<string>((resolve, reject) => {
      let typed = ''
      const onData = (chunk: Buffer | string) => {
        for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') return done(() => resolve(typed))
          if (char === '\u0003' || char === '\u0004') {
            return done(() => reject(new CliError(ExitCode.Interrupted, 'no API key entered')))
          }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1)
          else typed += char
          if (typed.length > maxBytes) return done(() => reject(new CliError(ExitCode.Usage, `the API key is over ${maxBytes} bytes`)))
        }
      }
      function done(settle: () => void): void {
        input.off('data', onData)
        input.pause()
        settle()
      }
      input.on('data', onData)
      input.resume()
    })
    return secret.trim()
  } finally {
    input.setRawMode(false)
    prompt.write('\n')
  }
}
