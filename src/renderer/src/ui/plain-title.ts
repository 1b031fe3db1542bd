/**
 * A conversation title as a line of text: the hub takes the first line of the
 * first prompt (§11 rule 1), which may be Markdown ("# Hello", "**Plan:**").
 * Strips heading, quote and list markers, emphasis, inline code and link syntax.
 */
export function plainTitle(title: string): string {
  const plain = title
    .replace(/^\s{0,3}(#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)+/, '')
    .replace(/\s+#+\s*$/, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(\*|_)(\S(?:.*?\S)?)\1/g, '$2')
    .replace(/~~(.+?)~~/g, '$1')
    .replace(/`+([^`]+)`+/g, '$1')
    .trim()
  return plain || title.trim() || title
}
