import { delayFromEnv, serveAgent, streamWords, type Turn } from '../agent-sdk/index.js'
import { TOOLBOX_HELP, calculate, clock, formatNumber, parseCommand, wordCount } from './toolbox-tools.js'

/**
 * Built-in `toolbox`: shows tool calls and approvals with harmless local tools.
 * `clock` runs at once, `calculate` only after the host approves it, `word_count`
 * at once. Answers stream word by word (`CARHOST_TOOLBOX_DELAY_MS`, default 15 ms).
 */
const delayMs = delayFromEnv(process.env.CARHOST_TOOLBOX_DELAY_MS, 15)

serveAgent(async (turn) => {
  const answer = await respond(turn)
  await streamWords(turn, answer, delayMs)
  return answer
})

async function respond(turn: Turn): Promise<string> {
  const command = parseCommand(turn.prompt)
  switch (command.tool) {
    case 'clock': {
      const callId = turn.toolCall('clock')
      const now = clock()
      turn.toolResult(callId, true, now.iso)
      return `It is ${now.local} (${now.iso}).`
    }
    case 'calculate': {
      const params = { expression: command.expression }
      const callId = turn.toolCall('calculate', params)
      turn.status('waiting for approval to calculate')
      const approved = await turn.approval('calculate', params)
      if (!approved) {
        turn.toolResult(callId, false, 'denied by the user')
        return `You denied the calculation, so I did not calculate ${command.expression}.`
      }
      const result = calculate(command.expression)
      if (!result.ok) {
        turn.toolResult(callId, false, result.error)
        return `I could not calculate ${command.expression}: ${result.error}.`
      }
      const value = formatNumber(result.value)
      turn.toolResult(callId, true, value)
      return `${command.expression} = ${value}`
    }
    case 'word_count': {
      const callId = turn.toolCall('word_count', { chars: command.text.length })
      const count = wordCount(command.text)
      turn.toolResult(callId, true, String(count))
      return `That text has ${count} ${count === 1 ? 'word' : 'words'}.`
    }
    case null:
      return TOOLBOX_HELP
  }
}
