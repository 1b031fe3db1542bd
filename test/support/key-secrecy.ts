import type { Logger } from '../../src/hub/logger.js'

/**
 * The key-secrecy scan of PROTOCOL.md §12: an API key must appear in nothing a
 * host received and in no log line, in any of the forms it could be smuggled in.
 */

/** base64 of `key` as it appears inside the base64 of any longer text, at each of the three byte alignments. */
function base64Cores(key: string): string[] {
  const bytes = Buffer.from(key, 'utf8')
  const cores: string[] = []
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    // Characters that mix in the prefix or in whatever follows the key depend on them: keep only the rest.
    const core = encoded.slice(offset === 0 ? 0 : 4, Math.floor((offset + bytes.length) / 3) * 4)
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'))
  }
  return cores
}

/** Every form of `key` the scan looks for, each with a name for the failure message. */
export function keyForms(key: string): Array<{ form: string; text: string }> {
  if (Buffer.byteLength(key) < 12) throw new Error('use a test key of at least 12 bytes, so its encodings are distinctive')
  const json = JSON.stringify(key).slice(1, -1)
  const forms = [
    { form: 'raw', text: key },
    { form: 'JSON-escaped', text: json },
    { form: 'JSON-escaped twice', text: JSON.stringify(json).slice(1, -1) },
    { form: 'ASCII-only JSON', text: json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) },
    { form: 'percent-encoded', text: encodeURIComponent(key) },
    { form: 'hex', text: Buffer.from(key, 'utf8').toString('hex') },
    ...base64Cores(key).map((text) => ({ form: 'base64', text })),
  ]
  return forms.filter((entry, i) => forms.findIndex((other) => other.text === entry.text) === i)
}

export interface SecrecyScan {
  /** Every message a host received (objects are serialised as they would travel). */
  messages?: readonly unknown[]
  /** Every log line the hub wrote. */
  logLines?: readonly string[]
  /** Anything else a host could see: `hub.stats`, errors, `agents.list`. */
  other?: readonly unknown[]
}

function text(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Error) return `${value.name}: ${value.message} ${JSON.stringify(value)}`
  return JSON.stringify(value) ?? String(value)
}

/** Where the key shows up: `[]` when it appears nowhere. */
export function findKey(key: string, scan: SecrecyScan): string[] {
  const forms = keyForms(key)
  const found: string[] = []
  const sources: Array<[string, readonly unknown[] | undefined]> = [
    ['host message', scan.messages],
    ['log line', scan.logLines],
    ['value', scan.other],
  ]
  for (const [label, values] of sources) {
    values?.forEach((value, index) => {
      const haystack = text(value)
      const lower = haystack.toLowerCase()
      for (const { form, text: needle } of forms) {
        const hit = form === 'hex' ? lower.includes(needle) : haystack.includes(needle)
        if (hit) found.push(`${label} #${index} holds the key (${form})`)
      }
    })
  }
  return found
}

/** Throws, naming each place and form, when the key appears anywhere in `scan`. */
export function assertKeyNowhere(key: string, scan: SecrecyScan): void {
  const found = findKey(key, scan)
  if (found.length > 0) throw new Error(`the API key leaked:\n${found.join('\n')}`)
}

/** A hub `Logger` that keeps every line it is given, serialised as a log file would hold it. */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const line = (level: string) => (message: string, data?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, message, ...(data ? { data } : {}) }))
  }
  return { logger: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }, lines }
}
