import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react'
import type { ChatMessage } from '../model/chat-store.js'
import { useController, useFocus } from './controller-context.js'
import { MessageView } from './MessageView.js'

/** A first guess of a message's height; each rendered one is measured. */
const ESTIMATED_HEIGHT = 110
/** Messages rendered beyond each edge of the view, so a short scroll shows no blank. */
const OVERSCAN = 6
/** Within this many pixels of the end the list follows new text. */
const PIN_SLACK = 48

export interface MessageListProps {
  conversationId: string
  messages: readonly ChatMessage[]
  agentName: string
  empty: ReactNode
}

/**
 * The messages of one conversation, virtualised: only those in or near the
 * view are in the DOM (a conversation of thousands opens and scrolls as fast as
 * one of ten). It opens at the end and follows a streaming reply while the user
 * stays at the end; a search result scrolls its message into view.
 */
export function MessageList({ conversationId, messages, agentName, empty }: MessageListProps) {
  const controller = useController()
  const scroller = useRef<HTMLDivElement>(null)
  const pinned = useRef(true)
  const [highlighted, setHighlighted] = useState<string | null>(null)
  const lastAnswer = findLastAssistant(messages)

  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ESTIMATED_HEIGHT,
    overscan: OVERSCAN,
    getItemKey: (index) => messages[index]?.id ?? index,
  })
  const totalSize = virtualizer.getTotalSize()

  useLayoutEffect(() => {
    const el = scroller.current
    if (el && pinned.current) el.scrollTop = el.scrollHeight
  }, [messages, totalSize])

  const focus = useFocus()
  useEffect(() => {
    if (!focus || focus.conversationId !== conversationId) return
    const index = messages.findIndex((m) => m.messageId === focus.messageId)
    if (index < 0) return
    pinned.current = false
    virtualizer.scrollToIndex(index, { align: 'center' })
    setHighlighted(messages[index]!.id)
    controller.focus.set(null)
  }, [focus, conversationId, messages, virtualizer, controller])

  return (
    <div
      className="chat__messages"
      ref={scroller}
      data-testid="message-list"
      data-count={messages.length}
      onScroll={(e) => {
        const el = e.currentTarget
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < PIN_SLACK
      }}
    >
      {messages.length === 0 ? (
        empty
      ) : (
        <div className="chat__virtual" style={{ height: totalSize }}>
          {virtualizer.getVirtualItems().map((item) => {
            const message = messages[item.index]!
            return (
              <div
                key={item.key}
                className="chat__row"
                data-index={item.index}
                data-highlighted={message.id === highlighted || undefined}
                ref={virtualizer.measureElement}
                style={{ transform: `translateY(${item.start}px)` }}
              >
                <div className="chat__column">
                  <MessageView message={message} agentName={agentName} conversationId={conversationId} isLastAnswer={message === lastAnswer} />
                </div>
              </div>
            )
          })}
        </div>
      )}
    </div>
  )
}

function findLastAssistant(messages: readonly ChatMessage[]): ChatMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'assistant') return messages[i]
  return undefined
}
