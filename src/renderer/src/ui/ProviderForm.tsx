import { useId, useState, type FormEvent, type ReactNode } from 'react'
import type { Provider, ProviderKind, ProviderSaveParams } from '../../../protocol/providers.js'
import { PROVIDER_PRESETS, presetOf, type ProviderPreset } from '../model/provider-presets.js'
import { TestResult, type TestState } from './ConnectionTest.js'
import { useAgentsState, useController } from './controller-context.js'

/** Keep the stored key (omit `api_key`), replace it, or remove it (`null`), §12. */
type KeyAction = 'keep' | 'replace' | 'remove'

interface FormFields {
  id: string
  name: string
  kind: ProviderKind
  baseUrl: string
  apiKey: string
  defaultModel: string
  systemPrompt: string
  temperature: string
  maxTokens: string
}

function fromPreset(preset: ProviderPreset, takenIds: ReadonlySet<string>): FormFields {
  let id = preset.id
  for (let n = 2; takenIds.has(id); n++) id = `${preset.id}-${n}`
  return { id, name: preset.name, kind: preset.kind, baseUrl: preset.baseUrl, apiKey: '', defaultModel: '', systemPrompt: '', temperature: '', maxTokens: '' }
}

function fromProvider(provider: Provider): FormFields {
  return {
    id: provider.id,
    name: provider.name,
    kind: provider.kind,
    baseUrl: provider.base_url,
    apiKey: '',
    defaultModel: provider.default_model ?? '',
    systemPrompt: provider.system_prompt ?? '',
    temperature: provider.temperature === null ? '' : String(provider.temperature),
    maxTokens: provider.max_tokens === null ? '' : String(provider.max_tokens),
  }
}

/**
 * Adds a provider (from a preset) or edits one. The key is write-only: a
 * stored key is only ever "a key is stored", with Replace and Remove.
 * A -32602 from the hub is shown next to the field it names.
 */
export function ProviderForm({ editing, onDone }: { editing: Provider | undefined; onDone(): void }) {
  const controller = useController()
  const { agents } = useAgentsState()
  const formId = useId()
  const takenIds = new Set(agents.map((a) => a.id))
  const [preset, setPreset] = useState<ProviderPreset>(() => (editing ? presetOf(editing.kind, editing.base_url) : PROVIDER_PRESETS[0]!))
  const [fields, setFields] = useState<FormFields>(() => (editing ? fromProvider(editing) : fromPreset(PROVIDER_PRESETS[0]!, takenIds)))
  const [keyAction, setKeyAction] = useState<KeyAction>('keep')
  const [customNeedsKey, setCustomNeedsKey] = useState(false)
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [problem, setProblem] = useState<string | undefined>()
  const [saving, setSaving] = useState(false)
  const [test, setTest] = useState<TestState>({ phase: 'idle' })

  const set = (name: keyof FormFields, value: string) => {
    setFields((f) => ({ ...f, [name]: value }))
    const field = FIELD_NAMES[name]
    setErrors(({ [field]: _dropped, ...rest }) => rest)
  }

  const choosePreset = (key: string) => {
    const next = PROVIDER_PRESETS.find((p) => p.key === key)
    if (!next) return
    setPreset(next)
    setFields(fromPreset(next, takenIds))
    setErrors({})
    setProblem(undefined)
  }

  const storedKey = editing?.has_api_key === true
  const wantsKey = preset.needsKey || (preset.key === 'custom' && customNeedsKey) || fields.kind === 'anthropic'
  const keyInput = storedKey ? keyAction === 'replace' : wantsKey

  /** The form as `providers.save` params, or the fields the window itself can tell are wrong. */
  const toParams = (): { ok: true; params: ProviderSaveParams } | { ok: false; errors: Record<string, string> } => {
    const local: Record<string, string> = {}
    const temperature = fields.temperature.trim() === '' ? null : Number(fields.temperature)
    const maxTokens = fields.maxTokens.trim() === '' ? null : Number(fields.maxTokens)
    if (temperature !== null && !Number.isFinite(temperature)) local.temperature = 'must be a number'
    if (maxTokens !== null && !Number.isFinite(maxTokens)) local.max_tokens = 'must be a whole number'
    const keyRequired = storedKey || preset.needsKey || (preset.key === 'custom' && customNeedsKey)
    if (keyInput && keyRequired && fields.apiKey.trim() === '') local.api_key = 'enter the key'
    if (Object.keys(local).length > 0) return { ok: false, errors: local }
    const params: ProviderSaveParams = {
      id: fields.id.trim(),
      name: fields.name.trim(),
      kind: fields.kind,
      base_url: fields.baseUrl.trim(),
      default_model: fields.defaultModel.trim() || null,
      system_prompt: fields.systemPrompt.trim() === '' ? null : fields.systemPrompt,
      temperature,
      max_tokens: maxTokens,
    }
    if (storedKey) {
      if (keyAction === 'replace') params.api_key = fields.apiKey.trim()
      else if (keyAction === 'remove') params.api_key = null
    } else if (keyInput && fields.apiKey.trim() !== '') {
      params.api_key = fields.apiKey.trim()
    }
    return { ok: true, params }
  }

  const submit = async (testing: boolean) => {
    const built = toParams()
    setProblem(undefined)
    if (!built.ok) return setErrors(built.errors)
    setErrors({})
    setSaving(true)
    if (testing) setTest({ phase: 'testing' })
    const { save, connection } = testing
      ? await controller.providers.saveAndTest(built.params)
      : { save: await controller.providers.save(built.params), connection: undefined }
    setSaving(false)
    if (!save.ok) {
      setTest({ phase: 'idle' })
      setErrors(save.fields)
      // A reason the form cannot place next to a field is shown above the buttons.
      const shown = new Set(['name', 'base_url', 'default_model', 'system_prompt', 'temperature', 'max_tokens'])
      if (!editing) shown.add('id')
      if (preset.key === 'custom') shown.add('kind')
      if (keyInput) shown.add('api_key')
      const placed = Object.keys(save.fields).some((f) => shown.has(f))
      setProblem(placed ? 'Some fields need a fix.' : save.message)
      return
    }
    // The key is never kept in the page once the hub has it.
    setFields((f) => ({ ...f, apiKey: '' }))
    setKeyAction('keep')
    if (connection) setTest({ phase: 'done', outcome: connection })
    else onDone()
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault()
    void submit(false)
  }

  const field = (name: string, label: string, control: ReactNode, help?: string) => (
    <div className="settings-field" data-field={name}>
      <label htmlFor={`${formId}-${name}`}>{label}</label>
      {control}
      {help && <div className="settings-field__help">{help}</div>}
      {errors[name] && (
        <div className="settings-field__error" role="alert" data-testid={`field-error-${name}`}>
          {errors[name]}
        </div>
      )}
    </div>
  )
  const input = (name: keyof FormFields, props: Record<string, unknown> = {}) => (
    <input
      id={`${formId}-${FIELD_NAMES[name]}`}
      className="settings-input"
      data-testid={`provider-${FIELD_NAMES[name]}`}
      value={fields[name]}
      aria-invalid={errors[FIELD_NAMES[name]] ? true : undefined}
      onChange={(e) => set(name, e.target.value)}
      {...props}
    />
  )
  const agent = editing ? agents.find((a) => a.id === editing.id) : undefined

  return (
    <form className="settings-form" data-testid="provider-form" noValidate onSubmit={onSubmit} aria-label={editing ? `Edit ${editing.name}` : 'Add a provider'}>
      <h3 className="settings-form__title">{editing ? `Edit ${editing.name}` : 'Add a model provider'}</h3>
      {!editing && (
        <fieldset className="settings-presets">
          <legend>Server</legend>
          {PROVIDER_PRESETS.map((p) => (
            <label key={p.key} className="settings-preset" data-selected={p.key === preset.key || undefined}>
              <input type="radio" name={`${formId}-preset`} value={p.key} checked={p.key === preset.key} onChange={() => choosePreset(p.key)} data-testid={`preset-${p.key}`} />
              {p.label}
            </label>
          ))}
        </fieldset>
      )}
      <p className="settings-form__hint">{preset.hint}</p>
      {!editing && field('id', 'Id', input('id', { autoComplete: 'off', spellCheck: false }), 'How chats and the terminal client name this provider: letters, digits, . _ -')}
      {field('name', 'Name', input('name'))}
      {preset.key === 'custom' &&
        field(
          'kind',
          'API format',
          <select id={`${formId}-kind`} className="settings-input" data-testid="provider-kind" value={fields.kind} onChange={(e) => set('kind', e.target.value)}>
            <option value="openai">OpenAI chat completions</option>
            <option value="anthropic">Anthropic Messages</option>
          </select>,
        )}
      {field('base_url', 'Base URL', input('baseUrl', { type: 'url', spellCheck: false }))}
      {preset.key === 'custom' && !storedKey && (
        <label className="settings-check">
          <input type="checkbox" checked={customNeedsKey} onChange={(e) => setCustomNeedsKey(e.target.checked)} data-testid="custom-needs-key" /> This server needs an API
          key
        </label>
      )}
      {storedKey && (
        <div className="settings-field" data-field="api_key">
          <span className="settings-field__label">API key</span>
          <div className="settings-key" data-testid="key-stored">
            {keyAction === 'keep' && <span>A key is stored.</span>}
            {keyAction === 'remove' && <span>The stored key will be removed when you save.</span>}
            {keyAction !== 'keep' ? (
              <button
                type="button"
                className="button button--small"
                onClick={() => {
                  setKeyAction('keep')
                  set('apiKey', '')
                }}
              >
                Keep the stored key
              </button>
            ) : (
              <>
                <button type="button" className="button button--small" data-testid="key-replace" onClick={() => setKeyAction('replace')}>
                  Replace
                </button>
                <button type="button" className="button button--small" data-testid="key-remove" onClick={() => setKeyAction('remove')}>
                  Remove
                </button>
              </>
            )}
          </div>
        </div>
      )}
      {keyInput &&
        field(
          'api_key',
          storedKey ? 'New API key' : 'API key',
          input('apiKey', { type: 'password', autoComplete: 'off', spellCheck: false }),
          'Kept by the hub, encrypted where the system has a key store; never shown again.',
        )}
      {field(
        'default_model',
        'Default model',
        <>
          {input('defaultModel', { list: `${formId}-models`, spellCheck: false, placeholder: 'the first model the server lists' })}
          <datalist id={`${formId}-models`}>
            {agent?.models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </datalist>
        </>,
      )}
      {field(
        'system_prompt',
        'System prompt',
        <textarea
          id={`${formId}-system_prompt`}
          className="settings-input settings-input--area"
          data-testid="provider-system_prompt"
          rows={3}
          value={fields.systemPrompt}
          onChange={(e) => set('systemPrompt', e.target.value)}
        />,
      )}
      <div className="settings-row">
        {field('temperature', 'Temperature', input('temperature', { type: 'number', min: 0, max: 2, step: 0.1, placeholder: "server's default" }))}
        {field('max_tokens', 'Max tokens', input('maxTokens', { type: 'number', min: 1, step: 1, placeholder: "server's default" }))}
      </div>
      {problem && (
        <div className="settings-problem" role="alert" data-testid="provider-problem">
          {problem}
        </div>
      )}
      <TestResult state={test} baseUrl={fields.baseUrl} />
      <div className="settings-actions">
        <button type="button" className="button" onClick={onDone}>
          {test.phase === 'done' ? 'Close' : 'Cancel'}
        </button>
        <button type="button" className="button" data-testid="provider-test" disabled={saving} onClick={() => void submit(true)}>
          Save and test connection
        </button>
        <button type="submit" className="button button--primary" data-testid="provider-save" disabled={saving}>
          Save
        </button>
      </div>
    </form>
  )
}

/** Form state → the §12 field names the hub's -32602 messages use. */
const FIELD_NAMES: Record<keyof FormFields, string> = {
  id: 'id',
  name: 'name',
  kind: 'kind',
  baseUrl: 'base_url',
  apiKey: 'api_key',
  defaultModel: 'default_model',
  systemPrompt: 'system_prompt',
  temperature: 'temperature',
  maxTokens: 'max_tokens',
}
