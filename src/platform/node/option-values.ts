/**
 * `node:util` `parseArgs` refuses `--token -abc` as ambiguous, since the value
 * looks like an option, yet a base64url token may well begin with `-`. A string
 * option's value is whatever follows it, so each `--name VALUE` is joined into
 * `--name=VALUE` before parsing; nothing after a `--` terminator is touched.
 */
export function joinOptionValues(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      out.push(...argv.slice(i))
      break
    }
    const value = argv[i + 1]
    if (arg.startsWith('--') && options[arg.slice(2)]?.type === 'string' && value !== undefined) {
      out.push(`${arg}=${value}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}
