import { memo, useEffect, useRef, useState, type KeyboardEvent } from 'react'
import type { Conversation as StoredConversation } from '../../../protocol/conversations.js'
import type { Conversation } from '../model/chat-store.js'
import { useAgentsState, useController, useConversationList } from './controller-context.js'
import { plainTitle } from './plain-title.js'

/**
 * The hub's conversations, newest first, loading the next page as its end
 * scrolls into view. A conversation this window started and has not sent yet
 * (a draft) sits on top until the hub records it.
 */
export function ConversationList({ active }: { active: Conversation | undefined }) {
  const controller = useController()
  const { items, nextCursor, loaded, loadingMore, error } = useConversationList()
  const activeId = active?.id ?? null
  const draft = active && active.load === 'draft' && !items.some((c) => c.conversation_id === active.id) ? active : undefined

  return (
    <nav className="conversation-list" aria-label="Conversations" data-testid="conversation-list">
      <ul>
        {draft && (
          <li className="conversation-item" data-testid="conversation" data-conversation-id={draft.id} data-active="true" data-draft="true">
            <button type="button" className="conversation-item__main" aria-current="page">
              <span className="conversation-item__title">{plainTitle(draft.title)}</span>
              <span className="conversation-item__agent">Not sent yet</span>
            </button>
          </li>
        )}
        {items.map((conversation) => (
          <ConversationItem key={conversation.conversation_id} conversation={conversation} active={conversation.conversation_id === activeId} />
        ))}
      </ul>
      {error && (
        <p className="sidebar__empty" role="alert">
          {error}
        </p>
      )}
      {loaded && items.length === 0 && !draft && <p className="sidebar__empty">No conversations yet.</p>}
      {nextCursor !== null && <MoreButton loading={loadingMore} onMore={() => void controller.sync.loadMore()} />}
    </nav>
  )
}

/** Loads the next page when it scrolls into view, or when pressed. */
function MoreButton({ loading, onMore }: { loading: boolean; onMore(): void }) {
  const button = useRef<HTMLButtonElement>(null)
  const more = useRef(onMore)
  more.current = onMore
  useEffect(() => {
    const el = button.current
    if (!el || typeof IntersectionObserver === 'undefined') return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) more.current()
    })
    observer.observe(el)
    return () => observer.disconnect()
  }, [])
  return (
    <button type="button" ref={button} className="button button--ghost button--small conversation-list__more" data-testid="more-conversations" disabled={loading} onClick={onMore}>
      {loading ? 'Loading…' : 'Load more'}
    </button>
  )
}

const ConversationItem = memo(function ConversationItem({ conversation, active }: { conversation: StoredConversation; active: boolean }) {
  const controller = useController()
  const { agents } = useAgentsState()
  const [mode, setMode] = useState<'view' | 'rename' | 'confirm'>('view')
  const [problem, setProblem] = useState<string | undefined>()
  const id = conversation.conversation_id
  const agentName = agents.find((a) => a.id === conversation.agent_id)?.name ?? conversation.agent_id
  const shownTitle = plainTitle(conversation.title)

  // F2 renames, Delete asks to delete: the same as the buttons, never without the confirmation.
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'F2') {
      event.preventDefault()
      setMode('rename')
    } else if (event.key === 'Delete') {
      event.preventDefault()
      setMode('confirm')
    }
  }

  return (
    <li
      className="conversation-item"
      data-testid="conversation"
      data-conversation-id={id}
      data-active={active}
      data-busy={conversation.busy}
      data-mode={mode}
    >
      {mode === 'rename' ? (
        <RenameField
          title={conversation.title}
          onDone={async (title) => {
            if (title !== null && title !== conversation.title) {
              const result = await controller.rename(id, title)
              setProblem(result.ok ? undefined : result.message)
            }
            setMode('view')
          }}
        />
      ) : (
        <div className="conversation-item__row">
          <button
            type="button"
            className="conversation-item__main"
            aria-current={active ? 'page' : undefined}
            onClick={() => void controller.open(id)}
            onKeyDown={onKeyDown}
          >
            <span className="conversation-item__title">{shownTitle}</span>
            <span className="conversation-item__agent">
              {conversation.busy && <span className="pulse" aria-label="replying" />}
              {agentName}
            </span>
          </button>
          <button type="button" className="conversation-item__action" data-testid="rename" aria-label={`Rename ${shownTitle}`} title="Rename (F2)" onClick={() => setMode('rename')}>
            <span aria-hidden="true">✎</span>
          </button>
          <button
            type="button"
            className="conversation-item__action"
            data-testid="delete"
            aria-label={`Delete ${shownTitle}`}
            title="Delete (Del)"
            onClick={() => setMode('confirm')}
          >
            <span aria-hidden="true">×</span>
          </button>
        </div>
      )}
      {mode === 'confirm' && (
        <ConfirmDelete
          title={conversation.title}
          onCancel={() => setMode('view')}
          onConfirm={async () => {
            const result = await controller.remove(id)
            if (!result.ok) {
              setProblem(result.message)
              setMode('view')
            }
          }}
        />
      )}
      {problem && (
        <p className="conversation-item__problem" role="alert">
          {problem}
        </p>
      )}
    </li>
  )
})

/** Enter keeps the new title, Esc keeps the old one, leaving the field keeps what is typed. */
function RenameField({ title, onDone }: { title: string; onDone(title: string | null): Promise<void> }) {
  const [value, setValue] = useState(title)
  const done = useRef(false)
  const finish = (result: string | null) => {
    if (done.current) return
    done.current = true
    void onDone(result === null || result.trim() === '' ? null : result.trim())
  }
  return (
    <input
      className="conversation-item__rename"
      data-testid="rename-input"
      aria-label="New title"
      autoFocus
      maxLength={200}
      value={value}
      onFocus={(e) => e.currentTarget.select()}
      onChange={(e) => setValue(e.target.value)}
      onBlur={() => finish(value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault()
          finish(value)
        } else if (e.key === 'Escape') {
          e.preventDefault()
          e.stopPropagation()
          finish(null)
        }
      }}
    />
  )
}

/** Deleting asks first; the focus starts on Cancel, so a stray Enter or Space deletes nothing. */
function ConfirmDelete({ title, onCancel, onConfirm }: { title: string; onCancel(): void; onConfirm(): Promise<void> }) {
  const [busy, setBusy] = useState(false)
  return (
    <div
      className="confirm"
      role="alertdialog"
      aria-label="Delete conversation"
      data-testid="confirm-delete"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault()
          e.stopPropagation()
          onCancel()
        }
      }}
    >
      <p className="confirm__text">
        Delete “{title}”? This cannot be undone.
      </p>
      <div className="confirm__actions">
        <button type="button" className="button button--small" data-testid="cancel-delete" autoFocus onClick={onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className="button button--small button--danger"
          data-testid="confirm-delete-button"
          disabled={busy}
          onClick={() => {
            setBusy(true)
            void onConfirm().finally(() => setBusy(false))
          }}
        >
          Delete
        </button>
      </div>
    </div>
  )
}
