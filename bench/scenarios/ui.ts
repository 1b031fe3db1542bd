import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { launchChromium } from '../../test/e2e/support/browser.js'
import { startHeadlessHub } from '../../test/e2e/support/hub-process.js'
import { repoRoot } from '../lib/env.js'
import { median } from '../lib/stats.js'

/**
 * The window on a long Markdown answer against the terminal client, in the same
 * run on the same hub: the echo agent streams a ~120 KB Markdown prompt back,
 * once to `carhost chat echo PROMPT` and once to a Chromium tab of the real UI.
 * In the tab a PerformanceObserver records long tasks (over 50 ms) and a
 * MutationObserver when the reply turns `done`; the freeze at the finish is the
 * longest task from then on (the final render), the streaming figure the longest before.
 */

export const uiConfig = { promptBytes: 120 * 1024, echoDelayMs: 1 }

export interface UiResult {
  promptBytes: number
  echoDelayMs: number
  runs: number
  /** Median wall time of `carhost chat`, spawn to exit. */
  cliMs: number
  /** Median wall time in the tab, Send pressed to the reply shown done. */
  uiMs: number
  ratio: number
  /** Longest task while streaming (median over runs, then the worst run). */
  longestStreamingTaskMs: number
  worstStreamingTaskMs: number
  /** Longest task once the reply was done (the final render). */
  finishFreezeMs: number
  worstFinishFreezeMs: number
  longTasksPerRun: number
}

/** Markdown of about `bytes`: headings, paragraphs with emphasis and code, lists and fenced code. */
export function longMarkdown(bytes: number): string {
  const parts: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const section = [
      `## Section ${i}`,
      `This paragraph ${i} explains *one idea* with **some weight**, a bit of \`inline code\` and a [link](https://example.org/${i}). It goes on for a while so that it wraps over several lines in the window.`,
      `- first point of ${i}\n- second point with \`code\`\n- third point`,
      '```ts\n' + `function section${i}(value: number): number {\n  return value * ${i} + 1\n}\n` + '```',
    ].join('\n\n')
    parts.push(section)
    size += section.length + 2
  }
  return parts.join('\n\n')
}

function runCli(wsUrl: string, token: string, prompt: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [join(repoRoot, 'bin/carhost.js'), '--url', wsUrl, '--token', token, 'chat', 'echo', prompt], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = 0
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.length))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      const ms = performance.now() - t0
      if (code !== 0) reject(new Error(`carhost chat exited ${code}: ${err}`))
      else if (out < prompt.length) reject(new Error(`carhost chat printed ${out} bytes of ${prompt.length}`))
      else resolve(ms)
    })
  })
}

const INSTRUMENT = `(() => {
  window.__bench = { tasks: [], doneAt: null }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.tasks.push([e.startTime, e.duration])
  }).observe({ type: 'longtask', buffered: false })
  new MutationObserver(() => {
    if (window.__bench.doneAt === null && document.querySelector('[data-testid=message][data-role=assistant][data-state=done]')) {
      window.__bench.doneAt = performance.now()
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] })
})()`

export async function runUi(config: typeof uiConfig, runs: number, log: (line: string) => void): Promise<UiResult> {
  const prompt = longMarkdown(config.promptBytes)
  const hub = await startHeadlessHub({ CARHOST_ECHO_DELAY_MS: String(config.echoDelayMs) })
  const browser = await launchChromium()
  const cli: number[] = []
  const ui: number[] = []
  const streaming: number[] = []
  const finish: number[] = []
  const counts: number[] = []
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } })
    for (let run = 0; run < runs; run++) {
      cli.push(await runCli(hub.wsUrl, hub.token, prompt))
      const page = await context.newPage()
      await page.goto(hub.pageUrl)
      await page.locator('[data-testid=agent-item][data-agent-id=echo][data-status=running]').waitFor({ timeout: 20_000 })
      // As a paste: one input event with the whole text (Playwright's fill is slow on 120 KB).
      await page.evaluate(`(() => {
        const el = document.querySelector('[data-testid=composer]')
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, ${JSON.stringify(prompt)})
        el.dispatchEvent(new Event('input', { bubbles: true }))
      })()`)
      await page.locator('[data-testid=send]:not([disabled])').waitFor({ timeout: 20_000 })
      await page.evaluate(INSTRUMENT)
      const t0 = performance.now()
      await page.getByTestId('send').click()
      await page.locator('[data-testid=message][data-role=assistant][data-state=done]').waitFor({ timeout: 300_000 })
      ui.push(performance.now() - t0)
      // Let the final render and anything it triggers land before reading the tasks.
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 300))))')
      const { tasks, doneAt } = (await page.evaluate('window.__bench')) as { tasks: Array<[number, number]>; doneAt: number }
      const before = tasks.filter(([start]) => start < doneAt - 20)
      const after = tasks.filter(([start, duration]) => start + duration >= doneAt - 20)
      streaming.push(Math.max(0, ...before.map(([, d]) => d)))
      finish.push(Math.max(0, ...after.map(([, d]) => d)))
      counts.push(tasks.length)
      log(`ui: run ${run + 1}: cli ${Math.round(cli.at(-1)!)} ms, ui ${Math.round(ui.at(-1)!)} ms, longest task streaming ${Math.round(streaming.at(-1)!)} ms, at the finish ${Math.round(finish.at(-1)!)} ms, ${tasks.length} long tasks`)
      await page.close()
    }
    await context.close()
  } finally {
    await browser.close()
    await hub.stop()
  }
  const cliMs = median(cli)
  const uiMs = median(ui)
  return {
    promptBytes: prompt.length,
    echoDelayMs: config.echoDelayMs,
    runs,
    cliMs,
    uiMs,
    ratio: uiMs / cliMs,
    longestStreamingTaskMs: median(streaming),
    worstStreamingTaskMs: Math.max(...streaming),
    finishFreezeMs: median(finish),
    worstFinishFreezeMs: Math.max(...finish),
    longTasksPerRun: median(counts),
  }
}
