import { memo, useId, useState } from 'react'
import type { ToolPart } from '../model/chat-store.js'
import { formatJson } from './format-json.js'

/** One tool call of a reply: name and outcome on one line, arguments and result on demand. */
export const ToolCallRow = memo(function ToolCallRow({ part, live, denied = false }: { part: ToolPart; live: boolean; denied?: boolean }) {
  const [open, setOpen] = useState(false)
  const bodyId = useId()
  // A call the user denied did not fail: it never ran.
  const outcome = denied ? 'denied' : part.result ? (part.result.ok ? 'ok' : 'failed') : live ? 'running' : 'no-result'
  const label = { ok: 'done', failed: 'failed', denied: 'denied', running: 'running…', 'no-result': 'no result' }[outcome]
  return (
    <div className="tool-call" data-testid="tool-call" data-call-id={part.callId} data-outcome={outcome}>
      <button type="button" className="tool-call__header" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
        <span className="chevron" aria-hidden="true" />
        <span className="tool-call__icon" aria-hidden="true">⚙</span>
        <span className="tool-call__name">{part.tool}</span>
        <span className={`tool-call__outcome tool-call__outcome--${outcome}`}>{label}</span>
      </button>
      {open && (
        <div className="tool-call__body" id={bodyId}>
          <div className="tool-call__label">Arguments</div>
          <pre className="code-block" tabIndex={0} data-testid="tool-call-args">{formatJson(part.params)}</pre>
          {part.result && (
            <>
              <div className="tool-call__label">{part.result.ok ? 'Result' : denied ? 'Not run' : 'Error'}</div>
              <pre className="code-block" tabIndex={0} data-testid="tool-call-result">{part.result.excerpt ?? '(no excerpt)'}</pre>
            </>
          )}
        </div>
      )}
    </div>
  )
})
