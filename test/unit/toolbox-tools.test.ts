import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { calculate, formatNumber, parseCommand, wordCount } from '../../src/agents/toolbox-tools.js'
import { splitWords } from '../../src/agent-sdk/stream-words.js'

describe('calculate', () => {
  it.each([
    ['2 + 3 * 4', 14],
    ['(2 + 3) * 4', 20],
    ['10 - 4 - 3', 3],
    ['2 ^ 3 ^ 2', 512],
    ['2 ** 10', 1024],
    ['-2 ^ 2', -4],
    ['2 ^ -1', 0.5],
    ['--3', 3],
    ['7 % 4', 3],
    ['1.5e3 / .5', 3000],
    ['3 ÷ 4 × 2', 1.5],
  ])('%s = %d', (expression, value) => {
    expect(calculate(expression)).toEqual({ ok: true, value })
  })

  it.each([
    ['', /empty/],
    ['1 +', /ends too early/],
    ['(1 + 2', /missing '\)'/],
    ['1 + 2)', /unexpected '\)' at position 6/],
    ['1 / 0', /division by zero/],
    ['5 % 0', /division by zero/],
    ['10 ^ 400', /not a finite number/],
    ['process.exit(1)', /unexpected 'p' at position 1/],
    ['2; 3', /unexpected ';'/],
    ['('.repeat(200) + '1' + ')'.repeat(200), /nested too deeply/],
    ['-'.repeat(200) + '1', /nested too deeply/],
    ['1+'.repeat(600) + '1', /longer than/],
  ])('refuses %j', (expression, message) => {
    const result = calculate(expression)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.error).toMatch(message)
  })

  it('agrees with a reference evaluation of random expression trees', () => {
    type Tree = number | { op: '+' | '-' | '*'; left: Tree; right: Tree } | { neg: Tree }
    const tree = fc.letrec<{ tree: Tree }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.integer({ min: 0, max: 1000 }),
        fc.record({ op: fc.constantFrom('+' as const, '-' as const, '*' as const), left: tie('tree'), right: tie('tree') }),
        fc.record({ neg: tie('tree') }),
      ),
    })).tree
    const render = (t: Tree): string =>
      typeof t === 'number' ? String(t) : 'neg' in t ? `-(${render(t.neg)})` : `(${render(t.left)} ${t.op} ${render(t.right)})`
    const evaluate = (t: Tree): number => {
      if (typeof t === 'number') return t
      if ('neg' in t) return -evaluate(t.neg)
      const l = evaluate(t.left)
      const r = evaluate(t.right)
      return t.op === '+' ? l + r : t.op === '-' ? l - r : l * r
    }
    fc.assert(
      fc.property(tree, (t) => {
        const expression = render(t)
        fc.pre(expression.length <= 1000)
        const result = calculate(expression)
        expect(result).toEqual({ ok: true, value: evaluate(t) })
      }),
    )
  })

  it('formats results for people', () => {
    expect(formatNumber(0.1 + 0.2)).toBe('0.3')
    expect(formatNumber(-0)).toBe('0')
    expect(formatNumber(14)).toBe('14')
  })
})

describe('parseCommand', () => {
  it.each([
    ['what time is it?', { tool: 'clock' }],
    ["What's the time", { tool: 'clock' }],
    ['calculate 2 + 3 * 4', { tool: 'calculate', expression: '2 + 3 * 4' }],
    ['Compute: (1+1)?', { tool: 'calculate', expression: '(1+1)' }],
    ['count words in "the quick brown fox"', { tool: 'word_count', text: 'the quick brown fox' }],
    ['word count of a b c', { tool: 'word_count', text: 'a b c' }],
    ['tell me a joke', { tool: null }],
    ['what time is it in the calculation of 2+2', { tool: null }],
  ])('%j → %j', (prompt, command) => {
    expect(parseCommand(prompt)).toEqual(command)
  })
})

describe('text helpers', () => {
  it('counts words', () => {
    expect(wordCount('  one two\n\tthree ')).toBe(3)
    expect(wordCount('   ')).toBe(0)
  })

  it('splits text into words that concatenate back to it', () => {
    expect(splitWords('  Hello,   hub!\n second')).toEqual(['  Hello,   ', 'hub!\n ', 'second'])
    expect(splitWords('   ')).toEqual(['   '])
    expect(splitWords('')).toEqual([])
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '\t', 'é', '😀') }), (text) => {
      const words = splitWords(text)
      expect(words.join('')).toBe(text)
      for (const word of words) expect(word.trim()).not.toMatch(/\s/)
    }))
  })
})
