/**
 * The toolbox agent's harmless local tools and how it reads a prompt. Pure
 * functions, apart from the clock, so they are testable without a process.
 */

export type ToolboxCommand =
  | { tool: 'clock' }
  | { tool: 'calculate'; expression: string }
  | { tool: 'word_count'; text: string }
  | { tool: null }

/** Reads a prompt deterministically: "what time is it", "calculate 2 + 3 * 4", "count words in …". */
export function parseCommand(prompt: string): ToolboxCommand {
  const text = prompt.trim()
  const calc = /^(?:calculate|calc|compute|evaluate)\s*:?\s+([\s\S]+?)\s*[?.!]?$/i.exec(text)
  if (calc) return { tool: 'calculate', expression: calc[1]! }
  const count = /^(?:count\s+(?:the\s+)?words\s+(?:in|of)|word\s*count\s+(?:of|for)?)\s*:?\s*([\s\S]*)$/i.exec(text)
  if (count) return { tool: 'word_count', text: unquote(count[1]!) }
  if (/^(?:what(?:'s|\s+is)\s+the\s+time|what\s+time\s+is\s+it|(?:current\s+)?time|clock)\s*[?.!]?$/i.test(text)) return { tool: 'clock' }
  return { tool: null }
}

export const TOOLBOX_HELP =
  'I am the toolbox agent. I can tell the time ("what time is it"), do arithmetic with your approval ' +
  '("calculate 2 + 3 * 4"; + - * / % ^ and parentheses), and count words ("count words in some text").'

export function clock(now = new Date()): { iso: string; local: string } {
  return { iso: now.toISOString(), local: now.toString() }
}

export function wordCount(text: string): number {
  const trimmed = text.trim()
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length
}

function unquote(text: string): string {
  const t = text.trim()
  const first = t[0]
  if (t.length >= 2 && (first === '"' || first === "'" || first === '“') && t.endsWith(first === '“' ? '”' : first)) {
    return t.slice(1, -1)
  }
  return t
}

export type CalcResult = { ok: true; value: number } | { ok: false; error: string }

const MAX_EXPRESSION_CHARS = 1_000
const MAX_DEPTH = 64

/**
 * Evaluates arithmetic: numbers, + - * / %, ^ (or **, right-associative, binding
 * tighter than a leading minus), unary signs and parentheses. A recursive-descent
 * parser, never `eval`; input length and nesting are bounded.
 */
export function calculate(expression: string): CalcResult {
  if (expression.length > MAX_EXPRESSION_CHARS) return { ok: false, error: `the expression is longer than ${MAX_EXPRESSION_CHARS} characters` }
  try {
    const parser = new Parser(tokenize(expression))
    const value = parser.parseExpression(0)
    parser.expectEnd()
    if (!Number.isFinite(value)) return { ok: false, error: 'the result is not a finite number' }
    return { ok: true, value }
  } catch (error) {
    if (error instanceof CalcError) return { ok: false, error: error.message }
    throw error
  }
}

/** A result for people: at most 12 significant digits, no `-0`. */
export function formatNumber(value: number): string {
  const rounded = Number(value.toPrecision(12))
  return Object.is(rounded, -0) ? '0' : String(rounded)
}

class CalcError extends Error {}

type Token = { type: 'num'; value: number; at: number } | { type: 'op'; value: string; at: number }

const OPERATORS: Readonly<Record<string, string>> = {
  '+': '+', '-': '-', '−': '-', '*': '*', '×': '*', '/': '/', '÷': '/', '%': '%', '^': '^', '(': '(', ')': ')',
}
const NUMBER = /\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?/y

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let at = 0
  while (at < source.length) {
    const ch = source[at]!
    if (/\s/.test(ch)) {
      at++
      continue
    }
    NUMBER.lastIndex = at
    const number = NUMBER.exec(source)
    if (number) {
      tokens.push({ type: 'num', value: Number(number[0]), at })
      at = NUMBER.lastIndex
    } else if (source.startsWith('**', at)) {
      tokens.push({ type: 'op', value: '^', at })
      at += 2
    } else if (OPERATORS[ch] !== undefined) {
      tokens.push({ type: 'op', value: OPERATORS[ch], at })
      at++
    } else {
      throw new CalcError(`unexpected '${String.fromCodePoint(source.codePointAt(at)!)}' at position ${at + 1}`)
    }
  }
  if (tokens.length === 0) throw new CalcError('the expression is empty')
  return tokens
}

class Parser {
  private index = 0

  constructor(private readonly tokens: Token[]) {}

  parseExpression(depth: number): number {
    let value = this.parseTerm(depth)
    for (;;) {
      const op = this.peekOp()
      if (op !== '+' && op !== '-') return value
      this.index++
      const right = this.parseTerm(depth)
      value = op === '+' ? value + right : value - right
    }
  }

  expectEnd(): void {
    const token = this.tokens[this.index]
    if (token) throw new CalcError(`unexpected '${token.value}' at position ${token.at + 1}`)
  }

  private parseTerm(depth: number): number {
    let value = this.parseUnary(depth)
    for (;;) {
      const op = this.peekOp()
      if (op !== '*' && op !== '/' && op !== '%') return value
      this.index++
      const right = this.parseUnary(depth)
      if ((op === '/' || op === '%') && right === 0) throw new CalcError('division by zero')
      value = op === '*' ? value * right : op === '/' ? value / right : value % right
    }
  }

  private parseUnary(depth: number): number {
    if (depth > MAX_DEPTH) throw new CalcError('the expression is nested too deeply')
    const op = this.peekOp()
    if (op === '-' || op === '+') {
      this.index++
      const value = this.parseUnary(depth + 1)
      return op === '-' ? -value : value
    }
    return this.parsePower(depth)
  }

  private parsePower(depth: number): number {
    const base = this.parsePrimary(depth)
    if (this.peekOp() !== '^') return base
    this.index++
    return base ** this.parseUnary(depth + 1)
  }

  private parsePrimary(depth: number): number {
    const token = this.tokens[this.index]
    if (!token) throw new CalcError('the expression ends too early')
    this.index++
    if (token.type === 'num') return token.value
    if (token.value === '(') {
      const value = this.parseExpression(depth + 1)
      const close = this.tokens[this.index]
      if (!close || close.type !== 'op' || close.value !== ')') throw new CalcError(`missing ')' for the '(' at position ${token.at + 1}`)
      this.index++
      return value
    }
    throw new CalcError(`unexpected '${token.value}' at position ${token.at + 1}`)
  }

  private peekOp(): string | undefined {
    const token = this.tokens[this.index]
    return token?.type === 'op' ? token.value : undefined
  }
}
