// API keys: secret `intl_sk_` keys for servers, scripts and the SDK: create one with scopes and an expiry (the key
// is shown once, in this page's memory only), see how each is used, and revoke it.
import { API_KEY_SCOPES, type ApiKey, type ApiKeyScope, type CreatedApiKey } from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, ShownOnce, useAction, useLoad } from '../components.js'
import { formatWhen } from '../format.js'

const SCOPE_LABELS: Record<ApiKeyScope, string> = {
  'keys:read': 'See product keys',
  'keys:write': 'Set up products (issue keys, embed code) and change allowed websites',
  'keys:revoke': 'Rotate and revoke product keys',
  'settings:read': 'Read bot settings, knowledge and which integration secrets are stored',
  'settings:write': 'Change bot settings, knowledge and integration secrets',
  'conversations:read': 'Read conversations and the live event stream',
  'conversations:write': 'Reply in conversations and flag abuse',
  'leads:read': 'Read leads',
  'audit:read': 'Read the audit log',
  'enrichment:write': 'Enrich leads (data enrichment)',
  'billing:read': 'See the plan, subscription and invoices',
  'billing:write': 'Open Checkout and the billing portal',
  'usage:read': 'Read usage of the plan’s quotas',
  'analytics:read': 'Read conversation analytics and export them as CSV',
  'webhooks:read': 'See webhook endpoints and their delivery log',
  'webhooks:write': 'Add, change, test and delete webhook endpoints; redeliver events',
}

const STATUS_LABELS: Record<ApiKey['status'], string> = { active: 'Active', revoked: 'Revoked', expired: 'Expired' }

export function ApiKeysPage() {
  const keys = useLoad(async () => (await api.apiKeys.list()).data, [])
  const [created, setCreated] = useState<CreatedApiKey | null>(null)

  function onCreated(key: CreatedApiKey) {
    setCreated(key)
    keys.set((prev) => [key, ...(prev ?? [])])
  }

  return (
    <>
      <h1>API keys</h1>
      <p class="hint page-intro">
        Secret keys for your servers, scripts and the SDK, sent as <code>Authorization: Bearer intl_sk_…</code>. A key can only do what its scopes allow. Never
        put one in a web page.
      </p>
      {created && <NewKey created={created} onDone={() => setCreated(null)} />}
      <CreateForm onCreated={onCreated} />
      <section aria-labelledby="api-keys-list">
        <h2 id="api-keys-list">Your API keys</h2>
        <ErrorNote error={keys.error} />
        {keys.loading && !keys.data && <p class="muted">Loading keys…</p>}
        {keys.data?.length === 0 && <p class="muted">No API keys yet.</p>}
        {keys.data && keys.data.length > 0 && <KeyTable keys={keys.data} onRevoked={(k) => keys.set((prev) => prev?.map((p) => (p.id === k.id ? k : p)))} />}
      </section>
    </>
  )
}

function CreateForm({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<ApiKeyScope[]>([])
  const [days, setDays] = useState('90')
  const { busy, error, run, setError } = useAction()

  const toggle = (scope: ApiKeyScope, on: boolean) =>
    setScopes((prev) => (on ? API_KEY_SCOPES.filter((s) => s === scope || prev.includes(s)) : prev.filter((s) => s !== scope)))

  async function create(e: Event) {
    e.preventDefault()
    if (scopes.length === 0) return setError(new Error('Choose at least one scope: a key without scopes could do nothing'))
    const ok = await run(async () => onCreated(await api.apiKeys.create({ name: name.trim(), scopes, expiresInDays: Number(days) })))
    if (ok) {
      setName('')
      setScopes([])
    }
  }

  return (
    <section class="card" aria-labelledby="api-key-new">
      <h2 id="api-key-new">Create an API key</h2>
      <form class="stack" onSubmit={create}>
        <div class="row">
          <label for="api-key-name">Name</label>
          <input
            id="api-key-name"
            required
            maxLength={100}
            autoComplete="off"
            placeholder="CRM sync"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            aria-describedby="api-key-name-hint"
          />
          <p class="hint" id="api-key-name-hint">
            To tell your keys apart, e.g. where the key is used.
          </p>
        </div>
        <fieldset class="checks">
          <legend>Scopes</legend>
          {API_KEY_SCOPES.map((s) => (
            <label key={s} class="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => toggle(s, e.currentTarget.checked)} />
              <span>
                <code>{s}</code> <span class="muted">{SCOPE_LABELS[s]}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <div class="row">
          <label for="api-key-days">Expires after (days)</label>
          <input
            id="api-key-days"
            class="narrow"
            type="number"
            required
            min={1}
            max={3650}
            step={1}
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
          />
        </div>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create API key'}
          </button>
        </div>
      </form>
    </section>
  )
}

/** The secret, shown once: it lives only in this component's state and is gone on "Done" or on leaving the page. */
function NewKey({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  return (
    <ShownOnce id="api-key-created" title={<>Your new key “{created.name}”</>} value={created.key} copyLabel="Copy API key" onDone={onDone}>
      Copy it now and store it in your secret manager. <strong>You will not see it again:</strong> we keep only a fingerprint of it. If you lose it, revoke it
      and create a new one.
    </ShownOnce>
  )
}

function KeyTable({ keys, onRevoked }: { keys: ApiKey[]; onRevoked: (key: ApiKey) => void }) {
  const { busy, error, run } = useAction()
  const revoke = (k: ApiKey) => {
    if (!confirm(`Revoke the API key “${k.name}” (${k.start})? Everything using it stops working within a second. This cannot be undone.`)) return
    void run(async () => onRevoked(await api.apiKeys.revoke(k.id)))
  }
  return (
    <>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">API keys, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Scopes</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Uses</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} class={k.status === 'active' ? undefined : 'row-inactive'}>
                <th scope="row">{k.name}</th>
                <td>
                  <code>{k.start}</code>
                </td>
                <td>
                  <ul class="scopes">
                    {k.scopes.map((s) => (
                      <li key={s}>
                        <code title={SCOPE_LABELS[s]}>{s}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <span class={`status status-${k.status}`}>{STATUS_LABELS[k.status]}</span>
                </td>
                <td>
                  <time dateTime={k.expiresAt} title={k.expiresAt}>
                    {formatWhen(k.expiresAt)}
                  </time>
                </td>
                <td>
                  {k.lastUsedAt ? (
                    <time dateTime={k.lastUsedAt} title={k.lastUsedAt}>
                      {formatWhen(k.lastUsedAt)}
                    </time>
                  ) : (
                    'never'
                  )}
                </td>
                <td>{k.useCount}</td>
                <td>
                  {k.status === 'active' && (
                    <button type="button" class="button-danger" onClick={() => revoke(k)} disabled={busy} aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}
