import { memo } from 'react'
import type { AssistantMessage, ChatMessage } from '../model/chat-store.js'
import { ApprovalCard } from './ApprovalCard.js'
import { describeFailure } from './failure-text.js'
import { Markdown } from './Markdown.js'
import { ToolCallRow } from './ToolCallRow.js'

const QUIET_FINISH = new Set(['stop', 'end_turn', 'done', 'complete', 'completed', 'cancelled'])

export const MessageView = memo(function MessageView({ message, agentName }: { message: ChatMessage; agentName: string }) {
  if (message.role === 'user') {
    return (
      <article className="message message--user" data-testid="message" data-role="user" data-state="done">
        <div className="message__bubble">{message.text}</div>
      </article>
    )
  }
  return <AssistantView message={message} agentName={agentName} />
})

function AssistantView({ message, agentName }: { message: AssistantMessage; agentName: string }) {
  const live = message.state === 'streaming'
  const failure = message.failure && describeFailure(message.failure)
  return (
    <article
      className="message message--assistant"
      data-testid="message"
      data-role="assistant"
      data-state={message.state}
      data-session-id={message.sessionId}
      aria-busy={live}
    >
      <div className="message__author">{agentName}</div>
      {message.parts.map((part, index) => {
        switch (part.type) {
          case 'text':
            // Only the last text part can still grow.
            return <Markdown key={part.id} text={part.text} streaming={live && index === message.parts.length - 1} />
          case 'tool':
            return <ToolCallRow key={part.id} part={part} live={live} />
          case 'approval':
            return <ApprovalCard key={part.id} part={part} sessionId={message.sessionId} />
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
      {message.state === 'done' && message.finishReason && !QUIET_FINISH.has(message.finishReason) && (
        <div className="message__note">Finished: {message.finishReason}</div>
      )}
      {failure && (
        <div className="message__error" role="alert" data-reason={message.failure?.reason}>
          <strong>{failure.title}</strong>
          {failure.detail && <span> {failure.detail}</span>}
        </div>
      )}
    </article>
  )
}
