import type { AssistantMessage } from '../model/chat-store.js'

const count = new Intl.NumberFormat()

/** Under a finished answer, quietly: the model that wrote it and its tokens in and out (§5 `done.usage`, §11 `Message.usage`). */
export function UsageLine({ message }: { message: AssistantMessage }) {
  if (message.state === 'streaming' || (message.usage === undefined && message.model === undefined)) return null
  const usage = message.usage
  return (
    <div className="message__usage" data-testid="usage">
      {message.model && <span data-testid="usage-model">{message.model}</span>}
      {message.model && usage && ' · '}
      {usage && (
        <span title="Tokens the model read and wrote for this answer">
          {count.format(usage.input_tokens)} in · {count.format(usage.output_tokens)} out
        </span>
      )}
    </div>
  )
}
