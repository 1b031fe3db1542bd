/** What a bench agent streams for one chat (its prompt is this, as JSON). */
export interface StreamSpec {
  mode: 'flood' | 'paced'
  /** Tokens to send before `done`. */
  count: number
  /** Flood: the token text. */
  delta?: string
  /** Paced: events per second across all paced streams of this process. */
  rate?: number
  /**
   * Paced: what each delta holds. `stamp` (default): the emission time and a space.
   * `seq`: the token's index zero-padded to `width` characters, so the text can be checked.
   */
  payload?: 'stamp' | 'seq'
  width?: number
}

/** The text a `seq` stream of `count` tokens delivers in all. */
export function seqText(count: number, width: number): string {
  let text = ''
  for (let i = 0; i < count; i++) text += String(i).padStart(width, '0')
  return text
}
