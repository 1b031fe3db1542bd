import { useState, type FormEvent, type KeyboardEvent } from 'react'

export interface ComposerProps {
  initialText: string
  busy: boolean
  disabled: boolean
  placeholder: string
  hint?: string | undefined
  onDraftChange(text: string): void
  /** Resolves with a message when the prompt was not sent (the text is then kept). */
  onSend(text: string): Promise<string | undefined>
  onStop(): void
}

/** Enter sends, Shift+Enter starts a new line; Esc (handled by the chat view) stops. */
export function Composer({ initialText, busy, disabled, placeholder, hint, onDraftChange, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState(initialText)
  const [problem, setProblem] = useState<string | undefined>()
  const canSend = !busy && !disabled && text.trim().length > 0

  const update = (value: string) => {
    setText(value)
    setProblem(undefined)
    onDraftChange(value)
  }

  const submit = () => {
    if (!canSend) return
    const sent = text
    update('')
    void onSend(sent).then((refusal) => {
      if (refusal === undefined) return
      setText((current) => (current === '' ? sent : current))
      onDraftChange(sent)
      setProblem(refusal)
    })
  }

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return
    event.preventDefault()
    submit()
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault()
    submit()
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      <div className="composer__box">
        <textarea
          className="composer__input"
          data-testid="composer"
          aria-label="Message"
          rows={1}
          autoFocus
          value={text}
          placeholder={placeholder}
          onChange={(e) => update(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {busy ? (
          <button type="button" className="button button--stop" data-testid="stop" title="Stop (Esc)" onClick={onStop}>
            <span className="stop-icon" aria-hidden="true" /> Stop
          </button>
        ) : (
          <button type="submit" className="button button--primary" data-testid="send" title="Send (Enter)" disabled={!canSend}>
            Send
          </button>
        )}
      </div>
      <div className="composer__hint" role={problem ? 'alert' : undefined}>
        {problem ?? hint ?? 'Enter to send · Shift+Enter for a new line · Esc to stop'}
      </div>
    </form>
  )
}
