import { cleanup, render } from '@testing-library/react'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import ReactMarkdown from 'react-markdown'
import { Markdown, MarkdownTree, safeLinkTarget } from '../../src/renderer/src/ui/Markdown.js'
import { plainParagraphs } from '../../src/renderer/src/ui/plain-text.js'
import { splitBlocks } from '../../src/renderer/src/ui/markdown-blocks.js'

afterEach(cleanup)

describe('Markdown', () => {
  it.each([true, false])('renders Markdown and no live HTML (streaming: %s)', (streaming) => {
    const { container } = render(
      <Markdown
        streaming={streaming}
        text={'# Title\n\nSome *text* with `code`.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n```html\n<img src=y>\n```'}
      />,
    )
    // A reply's heading sits below the page's own h1/h2: no real heading element, an ARIA level under them.
    expect(container.querySelector('h1, h2, h3, h4, h5, h6')).toBeNull()
    const heading = container.querySelector('[role=heading]')
    expect(heading?.textContent).toBe('Title')
    expect(heading?.getAttribute('aria-level')).toBe('3')
    expect(container.querySelector('em')?.textContent).toBe('text')
    expect(container.querySelector('pre code')?.textContent).toBe('<img src=y>\n')
    expect(container.querySelectorAll('script, img')).toHaveLength(0)
    expect(container.textContent).toContain('<script>alert(1)</script>')
  })

  it('keeps only absolute http(s) and mailto links', () => {
    expect(safeLinkTarget('https://example.org/a?b=1')).toBe('https://example.org/a?b=1')
    expect(safeLinkTarget('mailto:team@example.org')).toBe('mailto:team@example.org')
    for (const href of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<b>x</b>', 'file:///etc/passwd', '/settings', '#x', 'vbscript:x', undefined]) {
      expect(safeLinkTarget(href)).toBeUndefined()
    }
  })
})

describe('splitBlocks', () => {
  it('splits at blank lines, but not inside fences or before indented continuations', () => {
    expect(splitBlocks('one\n\ntwo')).toEqual(['one', 'two'])
    expect(splitBlocks('```\na\n\nb\n```\n\nafter')).toEqual(['```\na\n\nb\n```', 'after'])
    expect(splitBlocks('1. item\n\n   more of it\n\n2. next')).toEqual(['1. item\n\n   more of it', '2. next'])
    expect(splitBlocks('')).toEqual([''])
  })

  it('loses nothing: the blocks joined by blank lines are the text', () => {
    const line = fc.constantFrom('', 'text', '  indented', '```', '~~~', '- item', '> quote', '    code', '````')
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const text = lines.join('\n')
        expect(splitBlocks(text).join('\n\n')).toBe(text)
      }),
    )
  })
})

describe('plain text without a syntax tree', () => {
  it('renders exactly what react-markdown renders, for any text it takes as plain', () => {
    const alphabet = fc.constantFrom(...'ab Z09.,;:?\'"()/-+=*#_\n\t'.split(''))
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }).map((chars) => chars.join('')), (text) => {
        if (plainParagraphs(text) === null) return
        const fast = render(<div>{MarkdownTree({ text })}</div>)
        const full = render(
          <div>
            <ReactMarkdown>{text}</ReactMarkdown>
          </div>,
        )
        expect(fast.container.innerHTML).toBe(full.container.innerHTML)
        cleanup()
      }),
      { numRuns: 400 },
    )
  })

  it('takes ordinary chat text as plain and anything with syntax as Markdown', () => {
    expect(plainParagraphs('long conversation turn 7 with words.\nA second line.\n\nA paragraph.')).toEqual([
      'long conversation turn 7 with words.\nA second line.',
      'A paragraph.',
    ])
    for (const text of ['*x*', 'a `b`', '# h', '- item', '1. item', 'x  \ny', 'a\n===', '<b>', 'a &amp; b', '[l](u)', '    code']) {
      expect(plainParagraphs(text), text).toBeNull()
    }
  })
})
