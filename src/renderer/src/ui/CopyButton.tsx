import { useState } from 'react'
import { useEnvironment } from './controller-context.js'
import { copyText } from './save-file.js'

/** Copies `text` (read when pressed) and says whether it worked until it loses the focus. */
export function CopyButton({ text, label, className, testId = 'copy' }: { text: string | (() => string); label: string; className?: string; testId?: string }) {
  const environment = useEnvironment()
  const [outcome, setOutcome] = useState<'copied' | 'failed' | undefined>()
  return (
    <button
      type="button"
      className={className ?? 'message__action'}
      data-testid={testId}
      aria-label={label}
      onClick={() => copyText(environment, typeof text === 'string' ? text : text()).then(() => setOutcome('copied'), () => setOutcome('failed'))}
      onBlur={() => setOutcome(undefined)}
    >
      {outcome === 'copied' ? 'Copied' : outcome === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  )
}
