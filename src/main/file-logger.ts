import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import type { Disposable } from '../base/lifecycle.js'
import type { Logger } from '../hub/logger.js'

type Level = 'debug' | 'info' | 'warn' | 'error'

/** One JSON line per entry, appended to a file in the app's data folder (and errors to stderr). */
export class FileLogger implements Logger, Disposable {
  private readonly stream: WriteStream | null

  constructor(
    file: string,
    private readonly minLevel: Level = 'info',
  ) {
    let stream: WriteStream | null = null
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
      stream = createWriteStream(file, { flags: 'a', mode: 0o600 })
      stream.on('error', () => {}) // a full disk must not take the app down
    } catch {
      stream = null
    }
    this.stream = stream
  }

  debug(message: string, data?: Record<string, unknown>): void {
    this.write('debug', message, data)
  }
  info(message: string, data?: Record<string, unknown>): void {
    this.write('info', message, data)
  }
  warn(message: string, data?: Record<string, unknown>): void {
    this.write('warn', message, data)
  }
  error(message: string, data?: Record<string, unknown>): void {
    this.write('error', message, data)
  }

  dispose(): void {
    this.stream?.end()
  }

  /** Ends the log and resolves once every line written so far is on disk (or the stream failed). */
  flush(): Promise<void> {
    const stream = this.stream
    if (!stream || stream.closed || stream.destroyed) return Promise.resolve()
    return new Promise((resolve) => {
      stream.once('close', () => resolve())
      stream.once('error', () => resolve())
      stream.end()
    })
  }

  private write(level: Level, message: string, data?: Record<string, unknown>): void {
    if (RANK[level] < RANK[this.minLevel]) return
    let line: string
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level, message, ...data })
    } catch {
      line = JSON.stringify({ time: new Date().toISOString(), level, message })
    }
    this.stream?.write(line + '\n')
    if (level === 'error') process.stderr.write(line + '\n')
  }
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 }
