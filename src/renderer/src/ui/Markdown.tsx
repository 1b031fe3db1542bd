import { memo, useMemo, useRef, type ReactNode } from 'react'
import ReactMarkdown, { defaultUrlTransform, type Components } from 'react-markdown'
import { CopyButton } from './CopyButton.js'
import { splitBlocks } from './markdown-blocks.js'
import { plainParagraphs } from './plain-text.js'

/**
 * Agent text is untrusted. react-markdown builds React elements from the
 * Markdown syntax tree, never HTML strings; raw HTML in the text stays visible
 * text (no rehype-raw), only the elements listed here survive, images become
 * placeholders (nothing is fetched), and only absolute http(s)/mailto links stay
 * links, opening outside the app (the main process denies in-app navigation).
 */
const ALLOWED_ELEMENTS = [
  'p', 'br', 'hr', 'em', 'strong', 'del', 'code', 'pre', 'blockquote',
  'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a', 'img',
]

const EXTERNAL_URL = /^(https?:\/\/|mailto:)/i

/**
 * The page's own outline holds h1 (the conversation) and h2 (sidebar sections):
 * a reply's headings sit below them, as styled elements with an ARIA level.
 */
export const HEADING_LEVEL_OFFSET = 2

export function safeLinkTarget(href: string | undefined): string | undefined {
  if (!href) return undefined
  const cleaned = defaultUrlTransform(href)
  return EXTERNAL_URL.test(cleaned) ? cleaned : undefined
}

function heading(level: number): Components['h1'] {
  return function Heading({ children }) {
    return (
      <div role="heading" aria-level={Math.min(6, level + HEADING_LEVEL_OFFSET)} className={`md-heading md-h${level}`}>
        {children}
      </div>
    )
  }
}

/** A code block with its own copy button (the text as the block shows it). */
function CodeBlock({ children }: { children?: ReactNode }) {
  const pre = useRef<HTMLPreElement>(null)
  return (
    <div className="md-code">
      {/* Focusable: a long line scrolls sideways, by keyboard too. */}
      <pre ref={pre} tabIndex={0}>
        {children}
      </pre>
      <CopyButton className="md-code__copy" testId="copy-code" label="Copy code" text={() => pre.current?.textContent ?? ''} />
    </div>
  )
}

const components: Components = {
  a({ href, children, title }) {
    const target = safeLinkTarget(href)
    if (!target) return <span className="md-link md-link--inert">{children}</span>
    return (
      <a className="md-link" href={target} title={title ?? target} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    )
  },
  img({ alt }) {
    return <span className="md-image">[image{alt ? `: ${alt}` : ''}]</span>
  },
  pre({ children }) {
    return <CodeBlock>{children}</CodeBlock>
  },
  h1: heading(1),
  h2: heading(2),
  h3: heading(3),
  h4: heading(4),
  h5: heading(5),
  h6: heading(6),
}

export function MarkdownTree({ text }: { text: string }): ReactNode {
  const plain = plainParagraphs(text)
  // react-markdown separates blocks with a newline text node; so does this.
  if (plain) return plain.flatMap((paragraph, i) => (i === 0 ? [<p key={i}>{paragraph}</p>] : ['\n', <p key={i}>{paragraph}</p>]))
  return (
    <ReactMarkdown allowedElements={ALLOWED_ELEMENTS} unwrapDisallowed components={components} urlTransform={defaultUrlTransform}>
      {text}
    </ReactMarkdown>
  )
}

const MarkdownBlock = memo(MarkdownTree)

/** A link reference definition (`[label]: url`): it may serve links in any block, so such text is parsed whole. */
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:/m

/**
 * Rendered block by block, each block memoised on its text: while a reply
 * streams only the block still growing is parsed again, and when it finishes
 * nothing is (the same blocks, the same props). Text with link reference
 * definitions is parsed whole, since a definition reaches across blocks.
 */
export const Markdown = memo(function Markdown({ text }: { text: string; streaming?: boolean }) {
  const blocks = useMemo(() => (REFERENCE_DEFINITION.test(text) ? null : splitBlocks(text)), [text])
  return (
    <div className="markdown">
      {blocks ? blocks.map((block, i) => <MarkdownBlock key={i} text={block} />) : <MarkdownTree text={text} />}
    </div>
  )
})
