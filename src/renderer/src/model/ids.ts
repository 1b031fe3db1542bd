/**
 * Random identifiers for sessions and conversations, matching the protocol's
 * `^[A-Za-z0-9._:-]{1,128}$`. getRandomValues works in every context the page runs
 * in (file://, app protocols, http://127.0.0.1), unlike randomUUID.
 */
export function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return `${prefix}-${hex}`
}
