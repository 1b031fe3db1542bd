const FENCE = /^ {0,3}(`{3,}|~{3,})/

/**
 * Splits Markdown at blank lines that end a top-level block: not inside a code
 * fence, and not followed by an indented line (which would continue a list item).
 * Joined back with blank lines, the blocks are the original text.
 */
export function splitBlocks(text: string): string[] {
  const lines = text.split('\n')
  const blocks: string[] = []
  let current: string[] = []
  let fence: string | null = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const marker = FENCE.exec(line)?.[1]
    if (fence === null && marker) fence = marker
    else if (fence !== null && marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null
    const next = lines[i + 1]
    if (fence === null && line.trim() === '' && current.length > 0 && next !== undefined && next.trim() !== '' && !/^[ \t]/.test(next)) {
      blocks.push(current.join('\n'))
      current = []
      continue
    }
    current.push(line)
  }
  if (current.length > 0 || blocks.length === 0) blocks.push(current.join('\n'))
  return blocks
}
