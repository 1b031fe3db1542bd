const MAX_CHARS = 20_000

/** Tool arguments as readable text, bounded so a huge payload cannot flood the DOM. */
export function formatJson(value: unknown): string {
  if (value === undefined) return '(none)'
  let text: string
  if (typeof value === 'string') text = value
  else {
    try {
      text = JSON.stringify(value, null, 2) ?? String(value)
    } catch {
      text = String(value)
    }
  }
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}\n… (${text.length - MAX_CHARS} more characters)` : text
}
