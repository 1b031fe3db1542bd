import { beforeEach, describe, expect, it, vi } from 'vitest'
import { UtilityProcessLauncher } from '../../../src/platform/electron/utility-process-launcher.js'
import type { AgentExit } from '../../../src/hub/process-launcher.js'
import { ManualClock } from '../../support/manual-clock.js'
import { app, forked, utilityProcess } from './fake-electron.js'

vi.mock('electron', () => import('./fake-electron.js'))

const spec = { id: 'echo', module: '/app/out/main/chunks/echo.js', args: ['--fast'], env: { CARHOST_AGENT_ID: 'echo', LEVEL: '2' } }

function launch(options: ConstructorParameters<typeof UtilityProcessLauncher>[0] = {}) {
  const launcher = new UtilityProcessLauncher(options)
  const agent = launcher.launch(spec)
  const child = forked.at(-1)!
  const events: string[] = []
  const messages: unknown[] = []
  const exits: AgentExit[] = []
  agent.onDidSpawn(() => events.push('spawn'))
  agent.onMessage((message) => messages.push(message))
  agent.onDidExit((exit) => exits.push(exit))
  return { launcher, agent, child, events, messages, exits }
}

/** Lets the launcher's pending promise chains (the process-tree listing) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('UtilityProcessLauncher', () => {
  beforeEach(() => {
    forked.length = 0
    utilityProcess.fork.mockClear()
    app.removeAllListeners()
  })

  it('forks the module as a utility process named after the agent, with the hub env plus the manifest env', () => {
    process.env.CARHOST_TEST_PARENT_VAR = 'from-parent'
    try {
      const { launcher } = launch()
      expect(utilityProcess.fork).toHaveBeenCalledTimes(1)
      const [modulePath, args, options] = utilityProcess.fork.mock.calls[0]!
      expect(modulePath).toBe(spec.module)
      expect(args).toEqual(['--fast'])
      expect(options).toMatchObject({ serviceName: 'agent-echo', stdio: 'inherit' })
      const env = (options as { env: Record<string, string> }).env
      expect(env.CARHOST_TEST_PARENT_VAR).toBe('from-parent')
      expect(env.CARHOST_AGENT_ID).toBe('echo')
      expect(env.LEVEL).toBe('2')
      launcher.dispose()
    } finally {
      delete process.env.CARHOST_TEST_PARENT_VAR
    }
  })

  it('maps spawn, message and exit, and reports the pid while it runs', () => {
    const { agent, child, events, messages, exits } = launch()
    expect(agent.pid).toBeNull()
    child.spawn(4242)
    expect(events).toEqual(['spawn'])
    expect(agent.pid).toBe(4242)
    child.send({ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: 's', kind: 'token', delta: 'x' } })
    expect(messages).toEqual([{ jsonrpc: '2.0', method: 'agent.chat.event', params: { session_id: 's', kind: 'token', delta: 'x' } }])
    agent.postMessage({ jsonrpc: '2.0', id: 1, method: 'agent.chat' })
    expect(child.postMessage).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 1, method: 'agent.chat' })
    child.exit(3)
    expect(exits).toEqual([{ code: 3, signal: null }])
    expect(agent.pid).toBeNull()
  })

  it('never posts to, kills or reports an exited child', () => {
    const { agent, child, exits, messages } = launch()
    child.spawn(1)
    child.exit(0)
    agent.postMessage({ late: true })
    agent.kill()
    agent.kill(true)
    child.send({ after: 'exit' })
    child.exit(0)
    expect(child.postMessage).not.toHaveBeenCalled()
    expect(child.kill).not.toHaveBeenCalled()
    expect(messages).toEqual([])
    expect(exits).toHaveLength(1)
  })

  it('kill() asks the process to stop once its tree is listed; the exit then names the signal sent', async () => {
    const { agent, child, exits } = launch({ tree: { listDescendants: async () => [] } })
    child.spawn(7)
    agent.kill()
    await settle()
    expect(child.kill).toHaveBeenCalledTimes(1)
    child.exit(0)
    expect(exits).toEqual([{ code: 0, signal: 'SIGTERM' }])
  })

  it('kill(true) sends SIGKILL to the pid', async () => {
    const killPid = vi.fn()
    const { agent, child, exits } = launch({ killPid, tree: { listDescendants: async () => [] } })
    child.spawn(99)
    agent.kill(true)
    await settle()
    expect(killPid).toHaveBeenCalledWith(99, 'SIGKILL')
    expect(child.kill).not.toHaveBeenCalled()
    child.exit(137)
    expect(exits).toEqual([{ code: 137, signal: 'SIGKILL' }])
  })

  it('kill() lists the agent\'s descendants before signalling it, signals them too, and kills the survivors after the grace', async () => {
    const clock = new ManualClock()
    const calls: string[] = []
    const killPid = vi.fn((pid: number, signal: string) => void calls.push(`${signal} ${pid}`))
    const listDescendants = vi.fn(async (pid: number) => {
      calls.push(`list ${pid}`)
      return [31, 32]
    })
    const { agent, child, exits } = launch({ killPid, tree: { listDescendants, clock, graceMs: 2_000 } })
    child.spawn(30)
    child.kill.mockImplementation(() => {
      calls.push('kill 30')
      return true
    })
    agent.kill()
    await settle()
    expect(calls).toEqual(['list 30', 'kill 30', 'SIGTERM 31', 'SIGTERM 32'])
    child.exit(0)
    await settle()
    expect(exits).toEqual([{ code: 0, signal: 'SIGTERM' }])
    clock.advance(1_999)
    expect(calls).toHaveLength(4)
    clock.advance(1)
    expect(calls.slice(4)).toEqual(['SIGKILL 31', 'SIGKILL 32'])
  })

  it('ends an agent whose launch failed when only child-process-gone reports it', () => {
    const { launcher, child, exits, events } = launch()
    launcher.launch({ ...spec, id: 'other' })
    forked.at(-1)!.goneFromApp('launch-failed', 1)
    expect(exits).toEqual([])
    child.goneFromApp('launch-failed', 2)
    expect(exits).toEqual([{ code: 2, signal: null }])
    child.exit(2) // a late 'exit' is not reported twice
    child.spawn(5)
    expect(exits).toHaveLength(1)
    expect(events).toEqual([])
  })

  it('a crash reported by child-process-gone does not end a running agent before its exit event', () => {
    const { child, exits } = launch()
    child.spawn(10)
    child.goneFromApp('crashed', 11)
    expect(exits).toEqual([])
    child.exit(11)
    expect(exits).toEqual([{ code: 11, signal: null }])
  })

  it('logs a fatal error of the process instead of letting it throw in main', () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }
    const { child, exits } = launch({ logger })
    child.spawn(13)
    expect(() => child.fatalError()).not.toThrow()
    expect(logger.error).toHaveBeenCalledWith('agent process error', expect.objectContaining({ service: 'agent-echo', type: 'FatalError' }))
    child.exit(134)
    expect(exits).toEqual([{ code: 134, signal: null }])
  })

  it('dispose stops listening to app and kills what still runs', () => {
    const killPid = vi.fn()
    const { launcher, child } = launch({ killPid })
    child.spawn(12)
    expect(app.listenerCount('child-process-gone')).toBe(1)
    launcher.dispose()
    expect(app.listenerCount('child-process-gone')).toBe(0)
    expect(killPid).toHaveBeenCalledWith(12, 'SIGKILL')
  })
})
