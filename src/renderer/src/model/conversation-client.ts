import { z } from 'zod'
import { ConversationMethods, ConversationSchema, MessageSchema, type Conversation, type Message } from '../../../protocol/conversations.js'
import type { RequestFn } from '../../../protocol/host-client.js'

export type ConversationMethod = keyof typeof ConversationMethods
export type ConversationParams<M extends ConversationMethod> = z.input<(typeof ConversationMethods)[M]['params']>
export type ConversationResult<M extends ConversationMethod> = z.infer<(typeof ConversationMethods)[M]['result']>

/** Gives the event loop a turn (a frame may be drawn) before the work goes on. */
export type YieldFn = () => Promise<void>
export const nextTask: YieldFn = () => new Promise((resolve) => setTimeout(resolve, 0))

/** How long one slice of message validation may run before it yields. */
const SLICE_MS = 8

const RecordEnvelopeSchema = z.object({ conversation: ConversationSchema, messages: z.array(z.unknown()) })

/**
 * The §11 host methods, typed like HostClient: sent through the window's generic
 * `request`, results parsed with the protocol's own schemas at the boundary.
 */
export class ConversationClient {
  constructor(
    private readonly send: RequestFn,
    private readonly yieldTask: YieldFn = nextTask,
  ) {}

  async call<M extends ConversationMethod>(method: M, params: ConversationParams<M>): Promise<ConversationResult<M>> {
    const raw = await this.send(method, params)
    return ConversationMethods[method].result.parse(raw) as ConversationResult<M>
  }

  /**
   * `conversations.get`, each message validated like `call` would, but in
   * slices that yield in between: a conversation of thousands of messages does
   * not hold the window's main thread for one long task.
   */
  async get(conversationId: string): Promise<{ conversation: Conversation; messages: Message[] }> {
    const raw = await this.send('conversations.get', { conversation_id: conversationId })
    const { conversation, messages } = RecordEnvelopeSchema.parse(raw)
    const parsed: Message[] = []
    let sliceStart = performance.now()
    for (const message of messages) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await this.yieldTask()
        sliceStart = performance.now()
      }
      parsed.push(MessageSchema.parse(message))
    }
    return { conversation, messages: parsed }
  }
}
