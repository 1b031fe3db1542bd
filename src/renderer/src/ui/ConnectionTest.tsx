import type { ConnectionOutcome } from '../model/provider-store.js'

export type TestState = { phase: 'idle' } | { phase: 'testing' } | { phase: 'done'; outcome: ConnectionOutcome }

/**
 * What "test connection" found: the models the provider's agent announced
 * after the save (§6 `agent.updated`), or why there are none. §12 gives no
 * reason for an empty list, so the likely causes are named instead.
 */
export function TestResult({ state, baseUrl }: { state: TestState; baseUrl: string }) {
  if (state.phase === 'idle') return null
  if (state.phase === 'testing') {
    return (
      <div className="settings-test" role="status" data-testid="test-result" data-outcome="testing">
        Saved. Waiting for the server's list of models…
      </div>
    )
  }
  const { outcome } = state
  if (!outcome.ok) {
    return (
      <div className="settings-test settings-test--error" role="alert" data-testid="test-result" data-outcome="failed">
        {outcome.message}
      </div>
    )
  }
  const { models, default_model } = outcome.agent
  if (models.length === 0) {
    return (
      <div className="settings-test settings-test--error" role="alert" data-testid="test-result" data-outcome="no-models">
        Saved, but no models came back from {baseUrl}. Check that the server is running, that the base URL is right (OpenAI-compatible servers
        usually end in /v1) and, if it needs one, the key. Sending a message will tell exactly what went wrong.
      </div>
    )
  }
  return (
    <div className="settings-test" role="status" data-testid="test-result" data-outcome="models">
      Connected: the server offers {models.length === 1 ? 'one model' : `${models.length} models`}.
      <ul className="settings-test__models">
        {models.slice(0, 50).map((m) => (
          <li key={m.id}>
            {m.name ?? m.id}
            {m.id === default_model && <span className="settings-badge"> default</span>}
          </li>
        ))}
      </ul>
      {models.length > 50 && <div>…and {models.length - 50} more.</div>}
    </div>
  )
}
