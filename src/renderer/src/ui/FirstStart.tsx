import { useController } from './controller-context.js'

/** Shown instead of an empty chat while the hub has no model provider (§12). */
export function FirstStart() {
  const controller = useController()
  return (
    <div className="first-start" data-testid="first-start">
      <h2 className="chat__empty-title">Connect a language model</h2>
      <p>
        CarHost talks to model servers you choose. A local one keeps everything on this computer and needs no key: install{' '}
        <strong>Ollama</strong> (then <code>ollama pull llama3.2</code>) or <strong>LM Studio</strong> (and start its local server). With an API key,
        OpenAI, Anthropic, OpenRouter and any OpenAI-compatible server work too.
      </p>
      <button type="button" className="button button--primary" data-testid="first-start-add" onClick={() => controller.view.set('settings')}>
        Add a model provider
      </button>
      <p className="first-start__aside">Meanwhile the built-in agents in the sidebar answer without a model.</p>
    </div>
  )
}
