import { memo, useEffect, useRef } from 'react'
import type { ApprovalPart } from '../model/chat-store.js'
import { useController } from './controller-context.js'
import { formatJson } from './format-json.js'

const OUTCOME: Record<ApprovalPart['status'], string> = {
  pending: '',
  submitting: 'Sending your decision…',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'No longer waiting for a decision',
  elsewhere: 'Waiting for a decision in the window that asked',
}

/** The agent asks before running a tool; the user answers inline. */
/**
 * A card that appears open takes the focus (its Approve button), so that the
 * question is announced and answerable at once; once answered, the focus stays
 * on the card, which then reads its outcome, instead of falling to the page.
 */
export const ApprovalCard = memo(function ApprovalCard({ part, sessionId, agentName }: { part: ApprovalPart; sessionId: string; agentName: string }) {
  const controller = useController()
  const card = useRef<HTMLElement>(null)
  const approve = useRef<HTMLButtonElement>(null)
  const open = part.status === 'pending' || part.status === 'submitting'
  const openAtFirst = useRef(part.status === 'pending')
  useEffect(() => {
    if (openAtFirst.current) approve.current?.focus()
  }, [])
  const decide = (approved: boolean) => {
    card.current?.focus()
    void controller.decide(sessionId, part.approvalId, approved)
  }
  return (
    <section
      ref={card}
      tabIndex={-1}
      className="approval"
      data-testid="approval"
      data-status={part.status}
      role="group"
      aria-label={`${agentName} asks to run ${part.tool}`}
    >
      <div className="approval__title">
        The agent wants to run <code>{part.tool}</code>
      </div>
      {part.params !== undefined && <pre className="code-block" tabIndex={0}>{formatJson(part.params)}</pre>}
      {open ? (
        <div className="approval__actions">
          <button ref={approve} type="button" className="button button--primary" data-testid="approve" disabled={part.status === 'submitting'} onClick={() => decide(true)}>
            Approve
          </button>
          <button type="button" className="button" data-testid="deny" disabled={part.status === 'submitting'} onClick={() => decide(false)}>
            Deny
          </button>
          {part.status === 'submitting' && <span className="approval__outcome">{OUTCOME.submitting}</span>}
        </div>
      ) : (
        <div className={`approval__outcome approval__outcome--${part.status}`} role="status">
          {OUTCOME[part.status]}
        </div>
      )}
      {part.error && (
        <div className="approval__error" role="alert">
          Could not send the decision: {part.error}
        </div>
      )}
    </section>
  )
})
