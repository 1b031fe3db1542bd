import { elementScroll, useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'
import type { ChatMessage } from '../model/chat-store.js'
import { FollowState } from '../model/follow.js'
import { useController, useFocus } from './controller-context.js'
import { MessageView } from './MessageView.js'

/** A first guess of a message's height; each rendered one is measured. */
const ESTIMATED_HEIGHT = 110
/** Messages rendered beyond each edge of the view, so a short scroll shows no blank. */
const OVERSCAN = 6
const SCROLL_UP_KEYS = new Set(['ArrowUp', 'PageUp', 'Home'])

export interface MessageListProps {
  conversationId: string
  messages: readonly ChatMessage[]
  /** The name of an agent by its id (each reply shows the agent that wrote it). */
  agentName: (agentId: string) => string
  empty: ReactNode
}

/**
 * The messages of one conversation, virtualised: only those in or near the
 * view are in the DOM (a conversation of thousands opens and scrolls as fast as
 * one of ten). It opens at the end and follows new text while the user stays
 * there (FollowState says when); a prompt just sent brings the end back into
 * view, and away from it "Jump to latest" does. A search result scrolls its
 * message into view.
 */
export function MessageList({ conversationId, messages, agentName, empty }: MessageListProps) {
  const controller = useController()
  const scroller = useRef<HTMLDivElement>(null)
  const follow = useRef(new FollowState()).current
  const [following, setFollowing] = useState(true)
  /** The virtualiser moved the view itself (correcting estimated heights): the next scroll event is not the user's. */
  const ownScroll = useRef(false)
  const [highlighted, setHighlighted] = useState<string | null>(null)
  const lastAnswer = findLastAssistant(messages)
  const lastPrompt = findLastUser(messages)?.id

  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ESTIMATED_HEIGHT,
    overscan: OVERSCAN,
    getItemKey: (index) => messages[index]?.id ?? index,
    scrollToFn: (offset, options, instance) => {
      ownScroll.current = true
      elementScroll(offset, options, instance)
    },
  })
  const totalSize = virtualizer.getTotalSize()

  const toEnd = () => {
    const el = scroller.current
    if (!el) return
    const top = el.scrollHeight - el.clientHeight
    if (Math.abs(el.scrollTop - top) > 1) el.scrollTop = top
    follow.placed(top)
  }

  // A prompt the user just sent: show it (and the reply under it), wherever the view was.
  const seenPrompt = useRef(lastPrompt)
  if (seenPrompt.current !== lastPrompt) {
    seenPrompt.current = lastPrompt
    if (follow.resume()) setFollowing(true)
  }

  // New messages (and a prompt just sent) bring the end into view at once.
  useLayoutEffect(() => {
    if (follow.isFollowing) toEnd()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [messages.length, lastPrompt])

  /*
   * A growing reply, and the view itself resizing (a composer growing with a
   * pasted prompt, the window), are followed from a ResizeObserver: it runs
   * after the browser's own layout, so reading the scroll height there costs
   * nothing, where doing it on every render forced a full layout of a long
   * reply each frame.
   */
  const observer = useRef<ResizeObserver | null>(null)
  useEffect(() => {
    if (typeof ResizeObserver === 'undefined') return
    const resize = new ResizeObserver(() => {
      if (follow.isFollowing) toEnd()
    })
    observer.current = resize
    if (scroller.current) resize.observe(scroller.current)
    if (content.current) resize.observe(content.current)
    return () => {
      resize.disconnect()
      observer.current = null
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])
  const content = useRef<HTMLDivElement | null>(null)
  const contentRef = useCallback((el: HTMLDivElement | null) => {
    if (content.current) observer.current?.unobserve(content.current)
    content.current = el
    if (el) observer.current?.observe(el)
  }, [])

  const focus = useFocus()
  useEffect(() => {
    if (!focus || focus.conversationId !== conversationId) return
    const index = messages.findIndex((m) => m.messageId === focus.messageId)
    if (index < 0) return
    if (follow.scrolledUpByUser()) setFollowing(false)
    virtualizer.scrollToIndex(index, { align: 'center' })
    setHighlighted(messages[index]!.id)
    controller.focus.set(null)
  }, [focus, conversationId, messages, virtualizer, controller, follow])

  const stopFollowing = () => {
    if (follow.scrolledUpByUser()) setFollowing(false)
  }

  return (
    <div className="chat__list">
      <div
        className="chat__messages"
        ref={scroller}
        role="region"
        aria-label="Messages"
        // Scrollable by keyboard once focused (and a stop for screen readers).
        tabIndex={0}
        data-testid="message-list"
        data-count={messages.length}
        data-following={following}
        onScroll={(e) => {
          const el = e.currentTarget
          const byUser = !ownScroll.current
          ownScroll.current = false
          if (follow.scrolled(el, byUser)) setFollowing(follow.isFollowing)
        }}
        onWheel={(e) => {
          if (e.deltaY < 0) stopFollowing()
        }}
        onTouchMove={stopFollowing}
        onKeyDown={(e: KeyboardEvent) => {
          if (SCROLL_UP_KEYS.has(e.key) && e.target === e.currentTarget) stopFollowing()
        }}
      >
        {messages.length === 0 ? (
          empty
        ) : (
          <div className="chat__virtual" ref={contentRef} style={{ height: totalSize }}>
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
                    <MessageView
                      message={message}
                      agentName={message.role === 'assistant' ? agentName(message.agentId) : ''}
                      conversationId={conversationId}
                      isLastAnswer={message === lastAnswer}
                    />
                  </div>
                </div>
              )
            })}
          </div>
        )}
      </div>
      {!following && messages.length > 0 && (
        <button
          type="button"
          className="button button--small chat__jump"
          data-testid="jump-to-latest"
          onClick={() => {
            follow.resume()
            setFollowing(true)
            toEnd()
          }}
        >
          Jump to latest ↓
        </button>
      )}
    </div>
  )
}

function findLastAssistant(messages: readonly ChatMessage[]): ChatMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'assistant') return messages[i]
  return undefined
}

function findLastUser(messages: readonly ChatMessage[]): ChatMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return messages[i]
  return undefined
}
