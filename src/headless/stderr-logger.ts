import type { Logger } from '../hub/logger.js'

type Level = 'debug' | 'info' | 'warn' | 'error'
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 }

/** One line per entry on stderr (stdout carries only the ready line). `CARHOST_LOG=debug` shows everything. */
export function stderrLogger(minLevel: Level = readLevel(process.env.CARHOST_LOG)): Logger {
  const write = (level: Level, message: string, data?: Record<string, unknown>) => {
    if (RANK[level] < RANK[minLevel]) return
    let line = `carhost-hub ${level}: ${message}`
    if (data) {
      for (const [key, value] of Object.entries(data)) {
        line += ` ${key}=${typeof value === 'string' ? value : safeJson(value)}`
      }
    }
    process.stderr.write(line.replace(/[\r\n]+/g, ' ') + '\n')
  }
  return {
    debug: (message, data) => write('debug', message, data),
    info: (message, data) => write('info', message, data),
    warn: (message, data) => write('warn', message, data),
    error: (message, data) => write('error', message, data),
  }
}

function readLevel(value: string | undefined): Level {
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'info'
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
