import { delayFromEnv, serveAgent, streamWords } from '../agent-sdk/index.js'

/**
 * Built-in `echo`: streams the prompt back word by word (each word with the
 * whitespace after it, so the tokens concatenate to the prompt), then `done`
 * with the whole prompt. `CARHOST_ECHO_DELAY_MS` sets the pause between words
 * (default 15 ms, pleasant in the UI; tests set 0).
 */
const delayMs = delayFromEnv(process.env.CARHOST_ECHO_DELAY_MS, 15)

serveAgent(async (turn) => {
  await streamWords(turn, turn.prompt, delayMs)
  return turn.prompt
})
