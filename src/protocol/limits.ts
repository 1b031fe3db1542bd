/** Numbers fixed by PROTOCOL.md, and the hub's own bounds where it is silent. */
export const Limits = {
  /** §3: prompt size in UTF-8 bytes, inclusive. */
  promptMaxBytes: 262_144,
  /** §3: session_id and conversation_id. */
  idPattern: /^[A-Za-z0-9._:-]{1,128}$/,
  modelMaxChars: 256,
  attachmentsMax: 8,
  /** §3: decoded size of one base64 image. */
  attachmentMaxBytes: 10 * 1024 * 1024,
  /** §2: one WebSocket message. */
  messageMaxBytes: 16 * 1024 * 1024,
  /** §5: an event of a kind the protocol does not list. */
  unknownEventMaxBytes: 64 * 1024,
  /** Hub's own bound for identifiers inside events (call_id, tool, approval_id). */
  eventIdMaxChars: 256,
  /** Hub's own bound for one token delta from an agent. */
  tokenDeltaMaxChars: 1024 * 1024,
  /** Hub's own bound for the serialized fields of any other event. */
  eventMaxBytes: 4 * 1024 * 1024,
  /** §10 */
  agentIdPattern: /^[A-Za-z0-9._-]{1,64}$/,
  /** §8: the hard cap on data queued for one host is at least this. */
  hostQueueHardCapMinBytes: 16 * 1024 * 1024,
} as const

/** UTF-8 length of a string without encoding it. Lone surrogates count as U+FFFD (3 bytes). */
export function utf8ByteLength(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/** Decoded size of a base64 string, or -1 when it is not base64. */
export function base64DecodedLength(data: string): number {
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return -1
  let padding = 0
  if (data.endsWith('==')) padding = 2
  else if (data.endsWith('=')) padding = 1
  return (data.length / 4) * 3 - padding
}

/** True for an absolute http: or https: URL (§3 image URLs, §12 base URLs). */
export function isHttpUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}
