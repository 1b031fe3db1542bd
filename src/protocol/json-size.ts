/**
 * The length `JSON.stringify(value)` would have (escapes aside), found without
 * building the string. Returns -1 past `maxDepth` levels of nesting or once the
 * size exceeds `limit`, so hostile input costs at most `limit` steps.
 */
export function approximateJsonSize(value: unknown, limit = Number.MAX_SAFE_INTEGER, maxDepth = 256): number {
  let size = 0
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }]
  while (stack.length > 0) {
    const { value: item, depth } = stack.pop()!
    switch (typeof item) {
      case 'string':
        size += item.length + 2
        break
      case 'number':
        size += Number.isFinite(item) ? String(item).length : 4
        break
      case 'boolean':
        size += item ? 4 : 5
        break
      case 'object':
        if (item === null) {
          size += 4
          break
        }
        if (depth >= maxDepth) return -1
        if (Array.isArray(item)) {
          size += 2 + Math.max(0, item.length - 1)
          for (const element of item) stack.push({ value: element, depth: depth + 1 })
        } else {
          const keys = Object.keys(item)
          size += 2 + Math.max(0, keys.length - 1)
          for (const key of keys) {
            size += key.length + 3
            stack.push({ value: (item as Record<string, unknown>)[key], depth: depth + 1 })
          }
        }
        break
      default:
        size += 4 // undefined and functions never cross a JSON or structured-clone boundary as such
    }
    if (size > limit) return -1
  }
  return size
}
