/** §2: JSON nested deeper than this is refused before it is parsed. */
export const MAX_JSON_DEPTH = 256

/**
 * Elements and members one frame may hold in all. PROTOCOL.md §2 only asks that no
 * frame block the hub for more than ~100 ms; `JSON.parse` of a flat 16 MiB array
 * (8 M numbers) takes seconds, while the largest legitimate frames are large strings
 * (prompts, base64 images) with few values. 2^18 still admits a batch of 4,097
 * requests with params (§8) several times over.
 */
export const MAX_JSON_ITEMS = 262_144

export type JsonShapeVerdict = 'ok' | 'too-deep' | 'too-many-items'

const QUOTE = 0x22
const COMMA = 0x2c
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

/**
 * Checks the nesting depth and the number of elements/members of the UTF-8 JSON
 * text in `bytes` in one linear pass without allocating, so a hostile frame is
 * refused before `JSON.parse` spends time or memory on it (§2). Brackets and commas
 * inside strings (escaped quotes included) do not count. It does not validate:
 * malformed text is left to `JSON.parse`, which is cheap once the shape is bounded.
 * Scanning bytes is exact for UTF-8: every byte of a multi-byte sequence is ≥ 0x80.
 */
export function checkJsonShape(
  bytes: Uint8Array,
  maxDepth: number = MAX_JSON_DEPTH,
  maxItems: number = MAX_JSON_ITEMS,
): JsonShapeVerdict {
  let depth = 0
  // Each container's first element and every comma after it: an upper bound on values held.
  let items = 0
  const length = bytes.length
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!
    if (byte === QUOTE) {
      // Skip the string: only a backslash (which escapes the next byte) or the closing quote matter.
      for (i++; i < length; i++) {
        const inner = bytes[i]!
        if (inner === BACKSLASH) i++
        else if (inner === QUOTE) break
      }
    } else if (byte === COMMA) {
      if (++items > maxItems) return 'too-many-items'
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > maxDepth) return 'too-deep'
      if (++items > maxItems) return 'too-many-items'
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--
    }
  }
  return 'ok'
}
