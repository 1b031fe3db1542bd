import { describe, expect, it } from 'vitest'
import { parseCommandLine, type Command } from '../../src/cli/args.js'
import { CliError, ExitCode } from '../../src/cli/exit-codes.js'

const piped = { stdinIsTerminal: false }
const terminal = { stdinIsTerminal: true }

function command(argv: string[], context = terminal): Command {
  return parseCommandLine(argv, context).command
}

/** The usage error `argv` raises: exit 2 and its message. */
function refusal(argv: string[], context = terminal): string {
  try {
    parseCommandLine(argv, context)
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(ExitCode.Usage)
    return (error as CliError).message
  }
  throw new Error(`${argv.join(' ')} was accepted`)
}

describe('carhost chat: where the prompt comes from (issue 10)', () => {
  it('the arguments, joined', () => {
    expect(command(['chat', 'echo', 'hello', 'world'])).toMatchObject({ name: 'chat', prompt: 'hello world' })
    expect(command(['chat', 'echo', 'hello'], piped)).toMatchObject({ prompt: 'hello' })
  })

  it("stdin when the prompt is '-', terminal or not", () => {
    expect(command(['chat', 'echo', '-'])).toMatchObject({ prompt: null })
    expect(command(['chat', 'echo', '-'], piped)).toMatchObject({ prompt: null })
  })

  it('stdin when the prompt is left out and stdin is not a terminal; a usage error on a terminal', () => {
    expect(command(['chat', 'echo'], piped)).toMatchObject({ prompt: null })
    expect(refusal(['chat', 'echo'])).toMatch(/usage: carhost chat AGENT/)
  })
})

describe('carhost chat: conversations and models', () => {
  it('--conversation ID continues one, --new starts one, neither is ephemeral', () => {
    expect(command(['chat', 'echo', 'hi', '--conversation', 'c-1'])).toMatchObject({ conversation: { kind: 'continue', id: 'c-1' } })
    expect(command(['chat', 'echo', 'hi', '--new'])).toMatchObject({ conversation: { kind: 'new' } })
    expect(command(['chat', 'echo', 'hi'])).toMatchObject({ conversation: { kind: 'none' }, model: undefined })
  })

  it('refuses a bad conversation id or both flags, naming the flag', () => {
    expect(refusal(['chat', 'echo', 'hi', '--conversation', 'has space'])).toMatch(/^--conversation: /)
    expect(refusal(['chat', 'echo', 'hi', '--conversation', 'c', '--new'])).toMatch(/--conversation and --new/)
  })

  it('--model M is passed on; an empty one is refused', () => {
    expect(command(['chat', 'p', 'hi', '--model', 'llama3:8b'])).toMatchObject({ model: 'llama3:8b' })
    expect(refusal(['chat', 'p', 'hi', '--model', ''])).toMatch(/^--model: /)
  })
})

describe('carhost conversation commands', () => {
  it('history: default 20, --limit N, a bad limit names --limit', () => {
    expect(command(['history'])).toEqual({ name: 'history', limit: 20, json: false })
    expect(command(['history', '--limit', '3', '--json'])).toEqual({ name: 'history', limit: 3, json: true })
    for (const bad of ['0', '-1', 'x', '1.5']) expect(refusal(['history', '--limit', bad])).toMatch(/^--limit: /)
  })

  it('show and export take one valid id; export --format is md or json', () => {
    expect(command(['show', 'c-1', '--json'])).toEqual({ name: 'show', conversationId: 'c-1', json: true })
    expect(command(['export', 'c-1'])).toEqual({ name: 'export', conversationId: 'c-1', format: 'md' })
    expect(command(['export', 'c-1', '--format', 'json'])).toMatchObject({ format: 'json' })
    expect(refusal(['export', 'c-1', '--format', 'html'])).toMatch(/^--format: must be md or json/)
    expect(refusal(['show'])).toMatch(/usage: carhost show ID/)
    expect(refusal(['show', 'a b'])).toMatch(/^ID: /)
    expect(refusal(['export', 'c-1', '--json'])).toMatch(/--json does not apply to 'export'/)
  })

  it('search joins its words; --limit is bounded by §11', () => {
    expect(command(['search', 'hello', 'world'])).toEqual({ name: 'search', query: 'hello world', limit: undefined, json: false })
    expect(refusal(['search'])).toMatch(/usage: carhost search/)
    expect(refusal(['search', 'x', '--limit', '201'])).toMatch(/^--limit: must be a whole number from 1 to 200/)
  })
})

describe('carhost providers and models', () => {
  it('providers lists; providers remove ID removes', () => {
    expect(command(['providers'])).toEqual({ name: 'providers', json: false })
    expect(command(['providers', 'remove', 'ollama'])).toEqual({ name: 'providers-remove', id: 'ollama' })
    expect(refusal(['providers', 'frob'])).toMatch(/add or remove/)
  })

  it('providers add: every field from its flag, the name defaulting to the id', () => {
    expect(
      command(['providers', 'add', 'ollama', '--kind', 'openai', '--base-url', 'http://127.0.0.1:11434/v1', '--model', 'llama3', '--system', 'Be brief.', '--api-key-stdin']),
    ).toEqual({
      name: 'providers-add',
      id: 'ollama',
      providerName: 'ollama',
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'llama3',
      system: 'Be brief.',
      apiKeyFromStdin: true,
    })
    expect(command(['providers', 'add', 'a', '--kind', 'anthropic', '--base-url', 'https://api.anthropic.com', '--name', 'Claude'])).toMatchObject({
      providerName: 'Claude',
      apiKeyFromStdin: false,
    })
  })

  it('providers add: a bad or missing value names its flag', () => {
    const base = ['providers', 'add', 'p', '--kind', 'openai', '--base-url', 'http://h/v1']
    expect(refusal(['providers', 'add', 'p', '--base-url', 'http://h/v1'])).toMatch(/^--kind is required/)
    expect(refusal(['providers', 'add', 'p', '--kind', 'openai'])).toMatch(/^--base-url is required/)
    expect(refusal(['providers', 'add', 'p', '--kind', 'gemini', '--base-url', 'http://h/v1'])).toBe('--kind: must be openai or anthropic')
    expect(refusal(['providers', 'add', 'p', '--kind', 'openai', '--base-url', 'ftp://h'])).toMatch(/^--base-url: /)
    expect(refusal(['providers', 'add', 'bad id', '--kind', 'openai', '--base-url', 'http://h/v1'])).toMatch(/^ID: /)
    expect(refusal([...base, '--model', ''])).toMatch(/^--model: /)
    expect(refusal([...base, '--yes'])).toMatch(/--yes does not apply to 'providers add'/)
  })

  it('never takes a key on the command line, and never repeats one', () => {
    for (const argv of [
      ['providers', 'add', 'p', '--kind', 'openai', '--base-url', 'http://h/v1', '--api-key', 'sk-secret-1'],
      ['providers', 'add', 'p', '--kind', 'openai', '--base-url', 'http://h/v1', '--api-key=sk-secret-1'],
    ]) {
      const message = refusal(argv)
      expect(message).toMatch(/--api-key-stdin/)
      expect(message).not.toContain('sk-secret-1')
    }
  })

  it('models AGENT', () => {
    expect(command(['models', 'ollama', '--json'])).toEqual({ name: 'models', agentId: 'ollama', json: true })
    expect(refusal(['models'])).toMatch(/usage: carhost models AGENT/)
  })

  it("'help' is a command too", () => {
    expect(command(['help'])).toEqual({ name: 'help' })
  })
})
