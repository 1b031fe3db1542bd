import { useEffect, useRef, useState } from 'react'
import type { AssistantMessage, ChatMessage } from '../model/chat-store.js'
import { announcement } from './announcement.js'

/**
 * A polite live region for the conversation: it speaks once when a reply
 * finishes (its text, not each token) and when a reply asks for approval.
 * Replies already there when the view opens are not announced.
 */
export function Announcer({ messages, agentName }: { messages: readonly ChatMessage[]; agentName: (agentId: string) => string }) {
  const [text, setText] = useState('')
  const seen = useRef<Map<string, string> | null>(null)
  useEffect(() => {
    const previous = seen.current
    const next = new Map<string, string>()
    let said: string | undefined
    // Only the last few messages can have changed; the rest are history.
    for (const message of messages.slice(-4)) {
      if (message.role !== 'assistant') continue
      const key = stateKey(message)
      next.set(message.id, key)
      if (previous && previous.get(message.id) !== key) said = announcement(message, agentName(message.agentId), previous.get(message.id)) ?? said
    }
    seen.current = next
    if (said !== undefined) setText(said)
  }, [messages, agentName])
  return (
    <div className="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="announcer">
      {text}
    </div>
  )
}

function stateKey(message: AssistantMessage): string {
  const pending = message.parts.filter((p) => p.type === 'approval' && p.status === 'pending').length
  return `${message.state}:${pending}`
}
