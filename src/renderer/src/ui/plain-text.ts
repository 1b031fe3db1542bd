/** Anything Markdown could read as syntax: emphasis, code, links, HTML, entities, escapes, tables. */
const SYNTAX_CHARACTERS = /[\\`*_[\]!<>#~&|\r]/
/** A line that could open a list, a heading underline or a rule, or that carries meaningful leading or trailing whitespace. */
const SYNTAX_LINE = /^[ \t]|[ \t]$|^([-+=]|\d+[.)])/m

/**
 * The paragraphs of a text that holds no Markdown syntax at all, or null.
 * Such text renders exactly as react-markdown would render it (paragraphs at
 * blank lines, nothing else; test/renderer/markdown.test.tsx checks the two
 * agree), without building a syntax tree: most chat text is plain, and parsing
 * it is what scrolling a long conversation would otherwise spend its frames on.
 */
export function plainParagraphs(text: string): string[] | null {
  if (SYNTAX_CHARACTERS.test(text) || SYNTAX_LINE.test(text)) return null
  const trimmed = text.replace(/^\n+|\n+$/g, '')
  return trimmed === '' ? [] : trimmed.split(/\n{2,}/)
}
