import { useEffect, useRef, useState } from 'react'
import { useController, useSearch } from './controller-context.js'

/** Typing pauses this long before a search goes out. */
const SEARCH_DELAY_MS = 200

/** Search over every conversation of the hub (§11 `conversations.search`); Esc clears it. */
export function SearchBox() {
  const controller = useController()
  const [text, setText] = useState(controller.sync.search.getSnapshot().query)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])

  const change = (value: string, now = false) => {
    setText(value)
    clearTimeout(timer.current)
    if (now || value.trim() === '') void controller.sync.runSearch(value)
    else timer.current = setTimeout(() => void controller.sync.runSearch(value), SEARCH_DELAY_MS)
  }

  return (
    <form
      className="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault()
        change(text, true)
      }}
    >
      <input
        type="search"
        className="search__input"
        data-testid="search"
        aria-label="Search all conversations"
        placeholder="Search conversations"
        value={text}
        onChange={(e) => change(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && text) {
            e.preventDefault()
            change('')
          }
        }}
      />
    </form>
  )
}

export function SearchResults() {
  const controller = useController()
  const search = useSearch()
  return (
    <nav className="conversation-list search-results" aria-label="Search results" data-testid="search-results" aria-busy={search.status === 'searching'}>
      <h2 className="sidebar__heading">Results</h2>
      {search.status === 'failed' && (
        <p className="sidebar__empty" role="alert">
          Search failed: {search.error}
        </p>
      )}
      {search.status === 'done' && search.results.length === 0 && <p className="sidebar__empty">Nothing found.</p>}
      <ul>
        {search.results.map((result) => (
          <li key={`${result.conversation_id}/${result.message_id}`}>
            <button
              type="button"
              className="search-result"
              data-testid="search-result"
              data-conversation-id={result.conversation_id}
              data-message-id={result.message_id}
              onClick={() => void controller.open(result.conversation_id, result.message_id)}
            >
              <span className="search-result__title">{result.title}</span>
              <span className="search-result__snippet">{result.snippet}</span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  )
}
