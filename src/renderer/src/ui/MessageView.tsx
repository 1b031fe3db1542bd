import { memo, useState, type KeyboardEvent } from 'react'
import type { AssistantMessage, ChatMessage, UserMessage } from '../model/chat-store.js'
import { ApprovalCard } from './ApprovalCard.js'
import { useController } from './controller-context.js'
import { CopyButton } from './CopyButton.js'
import { describeFailure } from './failure-text.js'
import { Markdown } from './Markdown.js'
import { shownParts } from './reply-parts.js'
import { ToolCallRow } from './ToolCallRow.js'
import { UsageLine } from './UsageLine.js'

const QUIET_FINISH = new Set(['stop', 'end_turn', 'done', 'complete', 'completed', 'cancelled'])

/** A prompt longer than this shows its beginning until "Show more" is pressed. */
export const LONG_PROMPT_CHARS = 3000

export interface MessageViewProps {
  message: ChatMessage
  /** The name of the agent that wrote this reply (not the conversation's current one). */
  agentName: string
  conversationId: string
  /** The conversation's last reply: it offers Regenerate. */
  isLastAnswer: boolean
}

/**
 * One message. Memoised on its props: a finished message keeps its object in
 * the store (chat-store.ts, stored-messages.ts), so it renders once.
 */
export const MessageView = memo(function MessageView(props: MessageViewProps) {
  return props.message.role === 'user' ? <UserView {...props} message={props.message} /> : <AssistantView {...props} message={props.message} />
})

function UserView({ message, conversationId }: MessageViewProps & { message: UserMessage }) {
  const controller = useController()
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(message.text)
  const [problem, setProblem] = useState<string | undefined>()
  const [saving, setSaving] = useState(false)

  const save = async () => {
    setSaving(true)
    const result = await controller.editPrompt(conversationId, message.id, draft)
    setSaving(false)
    if (result.ok) setEditing(false)
    else setProblem(result.message)
  }
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      setEditing(false)
    } else if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault()
      void save()
    }
  }

  return (
    <div className="message-block message-block--user" data-testid="message-block">
      <article
        className="message message--user"
        data-testid="message"
        data-role="user"
        data-state="done"
        data-key={message.id}
        data-message-id={message.messageId}
      >
        {editing ? (
          <div className="message__edit">
            <textarea
              className="message__edit-input"
              data-testid="edit-input"
              aria-label="Edit your message"
              autoFocus
              value={draft}
              rows={Math.min(10, draft.split('\n').length + 1)}
              onChange={(e) => {
                setDraft(e.target.value)
                setProblem(undefined)
              }}
              onKeyDown={onKeyDown}
            />
            <div className="message__edit-actions">
              <button type="button" className="button button--small" onClick={() => setEditing(false)}>
                Cancel
              </button>
              <button
                type="button"
                className="button button--primary button--small"
                data-testid="edit-send"
                disabled={saving || draft.trim().length === 0}
                onClick={() => void save()}
              >
                Send
              </button>
            </div>
            <p className="message__edit-hint">Sending replaces this message and everything after it.</p>
            {problem && (
              <div className="message__problem" role="alert">
                {problem}
              </div>
            )}
          </div>
        ) : (
          <PromptText text={message.text} />
        )}
      </article>
      {!editing && (
        <div className="message__actions" role="toolbar" aria-label="Your message">
          <CopyButton text={message.text} label="Copy this message" />
          <button
            type="button"
            className="message__action"
            data-testid="edit"
            aria-label="Edit this message"
            title="Edit and send again"
            onClick={() => {
              setDraft(message.text)
              setProblem(undefined)
              setEditing(true)
            }}
          >
            Edit
          </button>
        </div>
      )}
    </div>
  )
}

function AssistantView({ message, agentName, conversationId, isLastAnswer }: MessageViewProps & { message: AssistantMessage }) {
  const controller = useController()
  const [problem, setProblem] = useState<string | undefined>()
  const live = message.state === 'streaming'
  const failure = message.failure && describeFailure(message.failure)
  const text = assistantText(message)
  return (
    <div className="message-block" data-testid="message-block">
      <article
        className="message message--assistant"
        data-testid="message"
        data-role="assistant"
        data-state={message.state}
        data-session-id={message.sessionId}
        data-key={message.id}
        data-message-id={message.messageId}
        aria-busy={live}
      >
        <div className="message__author" data-testid="message-author">
          {agentName}
          {message.model && <span className="message__model"> · {message.model}</span>}
        </div>
        {shownParts(message.parts).map((shown) => {
          const part = shown.part
          switch (part.type) {
            case 'text':
              return <Markdown key={part.id} text={part.text} />
            case 'tool':
              return <ToolCallRow key={part.id} part={part} live={live} denied={'denied' in shown && shown.denied} />
            case 'approval':
              return <ApprovalCard key={part.id} part={part} sessionId={message.sessionId} agentName={agentName} />
          }
        })}
        {live && (
          <div className="message__progress" role="status">
            <span className="typing" aria-hidden="true">
              <span />
              <span />
              <span />
            </span>
            <span>{message.cancelling ? 'Stopping…' : (message.status ?? (message.parts.length === 0 ? 'Thinking…' : ''))}</span>
          </div>
        )}
        {message.state === 'cancelled' && <div className="message__note">Stopped.</div>}
        {message.state === 'interrupted' && (
          <div className="message__note" data-testid="interrupted">
            Interrupted: the hub stopped before this reply was finished.
          </div>
        )}
        {message.state === 'done' && message.finishReason && !QUIET_FINISH.has(message.finishReason) && (
          <div className="message__note">Finished: {message.finishReason}</div>
        )}
        <UsageLine message={message} />
        {failure && (
          <div className="message__error" role="alert" data-reason={message.failure?.reason}>
            <strong>{failure.title}</strong>
            {failure.detail && <span> {failure.detail}</span>}
          </div>
        )}
      </article>
      {!live && (
        <div className="message__actions" role="toolbar" aria-label={`Reply of ${agentName}`}>
          {text && <CopyButton text={text} label="Copy this reply" />}
          {isLastAnswer && (
            <button
              type="button"
              className="message__action"
              data-testid="regenerate"
              aria-label="Regenerate this answer"
              title="Ask again for this answer"
              onClick={() => {
                setProblem(undefined)
                void controller.regenerate(conversationId).then((result) => {
                  if (!result.ok) setProblem(result.message)
                })
              }}
            >
              Regenerate
            </button>
          )}
        </div>
      )}
      {problem && (
        <div className="message__problem" role="alert">
          {problem}
        </div>
      )}
    </div>
  )
}

/** The prompt as sent; a very long one shows its beginning until the user asks for the rest. */
function PromptText({ text }: { text: string }) {
  const [expanded, setExpanded] = useState(false)
  const long = text.length > LONG_PROMPT_CHARS
  return (
    <div className="message__bubble" data-testid="message-text" data-collapsed={(long && !expanded) || undefined}>
      {long && !expanded ? `${text.slice(0, LONG_PROMPT_CHARS)}…` : text}
      {long && (
        <button type="button" className="message__more" data-testid="show-more" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show less' : `Show more (${Math.round(text.length / 1024)} KB)`}
        </button>
      )}
    </div>
  )
}

/** What Copy puts on the clipboard for a reply: its text parts, as the hub records `Message.text` (§11). */
export function assistantText(message: AssistantMessage): string {
  let text = ''
  for (const part of message.parts) if (part.type === 'text') text += part.text
  return text
}
