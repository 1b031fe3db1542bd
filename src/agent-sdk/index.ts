/**
 * The CarHost agent SDK: an agent is a handler per chat turn.
 *
 * ```ts
 * import { serveAgent, streamWords } from '../agent-sdk/index.js'
 *
 * serveAgent(async (turn) => {
 *   const callId = turn.toolCall('lookup', { q: turn.prompt })
 *   turn.toolResult(callId, true, 'found it')
 *   if (!(await turn.approval('send_mail', { to: 'me' }))) return 'Not sent.'
 *   await streamWords(turn, `You said: ${turn.prompt}`) // tokens; honours turn.signal
 * }) // returned text (or what was streamed) → `done`; a throw → `error`
 * ```
 */
export { serveAgent, type AgentHandler, type AgentServer, type ServeAgentOptions } from './serve-agent.js'
export type { Turn, TurnResult } from './turn.js'
export { processChannel, type AgentChannel } from './channel.js'
export { streamWords, splitWords, delayFromEnv } from './stream-words.js'
export { ErrorCode, RpcError } from '../protocol/errors.js'
export type { AgentChatParams, AgentModel } from '../protocol/agent-api.js'
