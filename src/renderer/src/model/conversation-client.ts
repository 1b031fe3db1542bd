import type { z } from 'zod'
import { ConversationMethods } from '../../../protocol/conversations.js'
import type { RequestFn } from '../../../protocol/host-client.js'

export type ConversationMethod = keyof typeof ConversationMethods
export type ConversationParams<M extends ConversationMethod> = z.input<(typeof ConversationMethods)[M]['params']>
export type ConversationResult<M extends ConversationMethod> = z.infer<(typeof ConversationMethods)[M]['result']>

/**
 * The §11 host methods, typed like HostClient: sent through the window's generic
 * `request`, results parsed with the protocol's own schemas at the boundary.
 */
export class ConversationClient {
  constructor(private readonly send: RequestFn) {}

  async call<M extends ConversationMethod>(method: M, params: ConversationParams<M>): Promise<ConversationResult<M>> {
    const raw = await this.send(method, params)
    return ConversationMethods[method].result.parse(raw) as ConversationResult<M>
  }
}
