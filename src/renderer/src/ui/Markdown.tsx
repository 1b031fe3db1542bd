import { memo, useMemo, type ReactNode } from 'react'
import ReactMarkdown, { defaultUrlTransform, type Components } from 'react-markdown'
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

export function safeLinkTarget(href: string | undefined): string | undefined {
  if (!href) return undefined
  const cleaned = defaultUrlTransform(href)
  return EXTERNAL_URL.test(cleaned) ? cleaned : undefined
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

/**
 * While a reply streams it is rendered block by block so that each frame
 * re-parses only the block still growing; finished text is rendered whole,
 * which keeps loose lists and references exact.
 */
export const Markdown = memo(function Markdown({ text, streaming }: { text: string; streaming: boolean }) {
  const blocks = useMemo(() => (streaming ? splitBlocks(text) : null), [text, streaming])
  return (
    <div className="markdown">
      {blocks ? blocks.map((block, i) => <MarkdownBlock key={i} text={block} />) : <MarkdownTree text={text} />}
    </div>
  )
})
