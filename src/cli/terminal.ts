import { createInterface, type Interface } from 'node:readline'
import type { Disposable } from '../base/lifecycle.js'

/** Dims text for a terminal that shows colour; plain otherwise (pipes, NO_COLOR). */
export function dimmer(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const colour = stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb'
  return colour ? (text) => `\x1b[2m${text}\x1b[22m` : (text) => text
}

/** Replaces control characters (an agent's text may hold escape sequences) except newlines and tabs. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD')
}

/** Tool parameters on one line, cut at 200 characters. */
export function formatParams(params: unknown): string {
  if (params === undefined) return ''
  let text: string
  try {
    text = JSON.stringify(params)
  } catch {
    return ''
  }
  return ' ' + printable(text.length > 200 ? text.slice(0, 199) + '…' : text)
}

/** A plain text table, columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

/**
 * Answers read line by line from stdin: through readline (echo, editing, Ctrl-C)
 * on a terminal, and from whatever is piped in otherwise. Lines that arrive before
 * a question are kept for it. Opened on first use, so stdin is untouched until then.
 */
export class LineReader implements Disposable {
  private rl: Interface | undefined
  private readonly lines: string[] = []
  private readonly waiters: Array<(line: string | null) => void> = []
  private ended = false

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream,
    private readonly onInterrupt: () => void,
  ) {}

  /** Shows `prompt` and resolves with the next line, or null once stdin has ended. */
  ask(prompt: string): Promise<string | null> {
    const rl = this.open()
    if (this.input.isTTY) {
      rl.setPrompt(prompt)
      rl.prompt()
    } else {
      this.output.write(prompt)
    }
    const line = this.lines.shift()
    if (line !== undefined) {
      if (!this.input.isTTY) this.output.write(line + '\n')
      return Promise.resolve(line)
    }
    if (this.ended) {
      if (!this.input.isTTY) this.output.write('\n')
      return Promise.resolve(null)
    }
    return new Promise((resolve) =>
      this.waiters.push((answer) => {
        if (!this.input.isTTY) this.output.write((answer ?? '') + '\n')
        resolve(answer)
      }),
    )
  }

  dispose(): void {
    this.rl?.close()
    this.rl = undefined
  }

  private open(): Interface {
    if (this.rl) return this.rl
    const tty = this.input.isTTY === true
    const rl = tty
      ? createInterface({ input: this.input, output: this.output, terminal: true })
      : createInterface({ input: this.input, terminal: false, crlfDelay: Infinity })
    rl.on('line', (line) => {
      const waiter = this.waiters.shift()
      if (waiter) waiter(line)
      else this.lines.push(line)
    })
    rl.on('close', () => {
      this.ended = true
      for (const waiter of this.waiters.splice(0)) waiter(null)
    })
    rl.on('SIGINT', () => this.onInterrupt())
    this.rl = rl
    return rl
  }
}
