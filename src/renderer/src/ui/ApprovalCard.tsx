import { memo } from 'react'
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
export const ApprovalCard = memo(function ApprovalCard({ part, sessionId }: { part: ApprovalPart; sessionId: string }) {
  const controller = useController()
  const open = part.status === 'pending' || part.status === 'submitting'
  const decide = (approve: boolean) => void controller.decide(sessionId, part.approvalId, approve)
  return (
    <section className="approval" data-testid="approval" data-status={part.status} aria-label={`Approval for ${part.tool}`}>
      <div className="approval__title">
        The agent wants to run <code>{part.tool}</code>
      </div>
      {part.params !== undefined && <pre className="code-block">{formatJson(part.params)}</pre>}
      {open ? (
        <div className="approval__actions">
          <button type="button" className="button button--primary" data-testid="approve" disabled={part.status === 'submitting'} onClick={() => decide(true)}>
            Approve
          </button>
          <button type="button" className="button" data-testid="deny" disabled={part.status === 'submitting'} onClick={() => decide(false)}>
            Deny
          </button>
          {part.status === 'submitting' && <span className="approval__outcome">{OUTCOME.submitting}</span>}
        </div>
      ) : (
        <div className={`approval__outcome approval__outcome--${part.status}`}>{OUTCOME[part.status]}</div>
      )}
      {part.error && (
        <div className="approval__error" role="alert">
          Could not send the decision: {part.error}
        </div>
      )}
    </section>
  )
})
