import type { ApprovalPart, AssistantPart, ToolPart } from '../model/chat-message.js'

export type ShownPart =
  | { readonly part: Exclude<AssistantPart, ToolPart> }
  | { readonly part: ToolPart; /** The approval asking for this call was denied. */ readonly denied: boolean }

/**
 * A reply's parts in the order they read. §12 sends a call's `tool_call` before the
 * `approval_pending` that asks for it; the question is shown first, and the tool
 * row (with its result) below it. An approval pairs with the latest earlier call
 * of the same tool that no other approval took.
 */
export function shownParts(parts: readonly AssistantPart[]): ShownPart[] {
  const order: AssistantPart[] = []
  const approvalOf = new Map<ToolPart, ApprovalPart>()
  for (const part of parts) {
    if (part.type !== 'approval') {
      order.push(part)
      continue
    }
    let index = -1
    for (let i = order.length - 1; i >= 0; i--) {
      const candidate = order[i]!
      if (candidate.type === 'tool' && candidate.tool === part.tool && !approvalOf.has(candidate)) {
        index = i
        break
      }
    }
    if (index < 0) {
      order.push(part)
      continue
    }
    approvalOf.set(order[index] as ToolPart, part)
    order.splice(index, 0, part)
  }
  return order.map((part) => (part.type === 'tool' ? { part, denied: approvalOf.get(part)?.status === 'denied' } : { part }))
}
