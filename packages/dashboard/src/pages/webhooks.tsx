// Webhooks: the URLs Intelagent POSTs signed events to. Add one (choose its events; the signing secret is shown
// once), send a test event and read what happened, rotate the secret, disable or delete, and read the delivery log
// of each endpoint with every attempt, redelivering one delivery or every failed one.
import {
  WEBHOOK_EVENT_TYPES,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointWithSecret,
  type WebhookEventType,
  type WebhookTestResult,
} from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, ShownOnce, useAction, useLoad } from '../components.js'
import { ConnectionOutcome } from '../connection-report.js'
import { formatWhen } from '../format.js'

const EVENT_LABELS: Record<WebhookEventType, string> = {
  'license.created': 'A license was issued',
  'license.updated': 'A license changed: status, tier, products or registration',
  'license.suspended': 'A license was suspended',
  'subscription.updated': 'The Stripe subscription changed (plan, status, period)',
  'billing.payment_failed': 'A renewal payment failed',
  'conversation.created': 'A visitor started a conversation',
  'message.created': 'A message was sent in a conversation',
  'lead.created': 'A lead was captured',
  'lead.enriched': 'A lead was enriched (company, country, score)',
  'conversation.waiting': 'The bot could not answer, or the visitor asked for a person: a person should reply',
  'conversation.closed': 'A conversation was closed, by a teammate or after inactivity',
  'conversation.reopened': 'A closed or waiting conversation is open again',
  'message.rated': 'A visitor rated one of the bot’s answers',
  'question.unanswered': 'A visitor asked something the knowledge could not answer',
  'team.invitation.created': 'Someone was invited to the team',
  'usage.warning': 'A quota reached 80 % or 100 %, or will run out before the period ends',
  'usage.limited': 'A visitor’s message was stored past a quota: a person should answer',
  'webhook_endpoint.disabled': 'An endpoint was disabled after failing for three days',
}

const DELIVERY_STATUS: Record<WebhookDelivery['status'], string> = { pending: 'Pending', succeeded: 'Delivered', failed: 'Failed' }

export function WebhooksPage() {
  const endpoints = useLoad(async () => (await api.webhookEndpoints.list()).data, [])
  const [secret, setSecret] = useState<{ endpoint: WebhookEndpointWithSecret; rotated: boolean } | null>(null)

  const replace = (ep: WebhookEndpoint) => endpoints.set((prev) => prev?.map((p) => (p.id === ep.id ? ep : p)))

  return (
    <>
      <h1>Webhooks</h1>
      <p class="hint page-intro">
        Intelagent POSTs each event you choose to your URL as JSON <code>{'{id, type, created, data}'}</code>, signed in the <code>X-Intelagent-Signature</code>{' '}
        header. Verify it with <code>webhooks.constructEvent</code> from the SDK. Failed deliveries are retried for about three days.
      </p>
      {secret && <NewSecret created={secret.endpoint} rotated={secret.rotated} onDone={() => setSecret(null)} />}
      <CreateForm
        onCreated={(ep) => {
          setSecret({ endpoint: ep, rotated: false })
          endpoints.set((prev) => [...(prev ?? []), ep])
        }}
      />
      <section aria-labelledby="webhooks-list">
        <h2 id="webhooks-list">Your endpoints</h2>
        <ErrorNote error={endpoints.error} />
        {endpoints.loading && !endpoints.data && <p class="muted">Loading endpoints…</p>}
        {endpoints.data?.length === 0 && <p class="muted">No endpoints yet.</p>}
        {endpoints.data?.map((ep) => (
          <EndpointCard
            key={ep.id}
            endpoint={ep}
            onChanged={replace}
            onRotated={(e) => {
              replace(e)
              setSecret({ endpoint: e, rotated: true })
            }}
            onDeleted={() => endpoints.set((prev) => prev?.filter((p) => p.id !== ep.id))}
          />
        ))}
      </section>
    </>
  )
}

function EventChoices({ legend, chosen, onChange }: { legend: string; chosen: WebhookEventType[]; onChange: (next: WebhookEventType[]) => void }) {
  const toggle = (type: WebhookEventType, on: boolean) =>
    onChange(on ? WEBHOOK_EVENT_TYPES.filter((t) => t === type || chosen.includes(t)) : chosen.filter((t) => t !== type))
  return (
    <fieldset class="checks">
      <legend>{legend}</legend>
      {WEBHOOK_EVENT_TYPES.map((t) => (
        <label key={t} class="check">
          <input type="checkbox" checked={chosen.includes(t)} onChange={(e) => toggle(t, e.currentTarget.checked)} />
          <span>
            <code>{t}</code> <span class="muted">{EVENT_LABELS[t]}</span>
          </span>
        </label>
      ))}
    </fieldset>
  )
}

function CreateForm({ onCreated }: { onCreated: (ep: WebhookEndpointWithSecret) => void }) {
  const [url, setUrl] = useState('')
  const [description, setDescription] = useState('')
  const [events, setEvents] = useState<WebhookEventType[]>(['conversation.created', 'message.created', 'lead.created'])
  const { busy, error, run, setError } = useAction()

  async function create(e: Event) {
    e.preventDefault()
    if (events.length === 0) return setError(new Error('Choose at least one event: an endpoint without events would receive nothing'))
    const ok = await run(async () => onCreated(await api.webhookEndpoints.create({ url: url.trim(), events, description: description.trim() || null })))
    if (ok) {
      setUrl('')
      setDescription('')
    }
  }

  return (
    <section class="card" aria-labelledby="webhook-new">
      <h2 id="webhook-new">Add an endpoint</h2>
      <form class="stack" onSubmit={create}>
        <div class="row">
          <label for="webhook-url">Endpoint URL</label>
          <input
            id="webhook-url"
            type="url"
            required
            maxLength={2000}
            autoComplete="off"
            placeholder="https://example.com/webhooks/intelagent"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
            aria-describedby="webhook-url-hint"
          />
          <p class="hint" id="webhook-url-hint">
            A public http(s) address; private and local addresses are refused.
          </p>
        </div>
        <div class="row">
          <label for="webhook-description">Description (optional)</label>
          <input id="webhook-description" maxLength={200} autoComplete="off" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </div>
        <EventChoices legend="Events to send" chosen={events} onChange={setEvents} />
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Adding…' : 'Add endpoint'}
          </button>
        </div>
      </form>
    </section>
  )
}

/** The signing secret, shown once: it lives only in this component's state. */
function NewSecret({ created, rotated, onDone }: { created: WebhookEndpointWithSecret; rotated: boolean; onDone: () => void }) {
  return (
    <ShownOnce
      id="webhook-secret"
      title={
        <>
          {rotated ? 'New signing secret' : 'Signing secret'} for {created.url}
        </>
      }
      value={created.secret}
      copyLabel="Copy signing secret"
      onDone={onDone}
    >
      Copy it now into your receiver’s configuration. <strong>You will not see it again.</strong>
      {rotated && ' The previous secret keeps signing beside this one for 24 hours, so you can switch without missing an event.'}
    </ShownOnce>
  )
}

function TestOutcome({ result }: { result: WebhookTestResult }) {
  return <ConnectionOutcome report={result} title={result.ok ? 'Test event delivered.' : 'Test event not delivered.'} />
}

function EndpointCard({
  endpoint: ep,
  onChanged,
  onRotated,
  onDeleted,
}: {
  endpoint: WebhookEndpoint
  onChanged: (ep: WebhookEndpoint) => void
  onRotated: (ep: WebhookEndpointWithSecret) => void
  onDeleted: () => void
}) {
  const { busy, error, run } = useAction()
  const [test, setTest] = useState<WebhookTestResult | null>(null)
  const [showLog, setShowLog] = useState(false)
  const [logTick, setLogTick] = useState(0)
  const titleId = `endpoint-${ep.id}`

  const sendTest = () =>
    run(async () => {
      setTest(await api.webhookEndpoints.test(ep.id))
      setLogTick((t) => t + 1)
    })
  const rotate = () => {
    if (!confirm('Rotate the signing secret? The current one keeps signing beside the new one for 24 hours.')) return
    void run(async () => onRotated(await api.webhookEndpoints.rotateSecret(ep.id)))
  }
  const toggle = () => void run(async () => onChanged(await api.webhookEndpoints.update(ep.id, { enabled: !ep.enabled })))
  const remove = () => {
    if (!confirm(`Delete the endpoint ${ep.url}? Its delivery log goes with it. This cannot be undone.`)) return
    void run(async () => {
      await api.webhookEndpoints.delete(ep.id)
      onDeleted()
    })
  }

  return (
    <section class="card" aria-labelledby={titleId}>
      <h3 id={titleId} class="secret">
        {ep.url}
      </h3>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <span class={`status ${ep.enabled ? 'status-active' : 'status-revoked'}`}>{ep.enabled ? 'Enabled' : 'Disabled'}</span>
          {ep.disabledReason && <span class="muted"> {ep.disabledReason}</span>}
          {ep.enabled && ep.failingSince && <span class="muted"> Failing since {formatWhen(ep.failingSince)}</span>}
        </dd>
        {ep.description && (
          <>
            <dt>Description</dt>
            <dd>{ep.description}</dd>
          </>
        )}
        <dt>Events</dt>
        <dd>
          <ul class="scopes">
            {ep.events.map((t) => (
              <li key={t}>
                <code>{t}</code>
              </li>
            ))}
          </ul>
        </dd>
        {ep.previousSecretExpiresAt && (
          <>
            <dt>Previous secret</dt>
            <dd>signs until {formatWhen(ep.previousSecretExpiresAt)}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        <button type="button" onClick={sendTest} disabled={busy || !ep.enabled}>
          Send test event
        </button>
        <button type="button" class="button-secondary" onClick={() => setShowLog((s) => !s)} aria-expanded={showLog} aria-controls={`${titleId}-log`}>
          {showLog ? 'Hide deliveries' : 'Show deliveries'}
        </button>
        <button type="button" class="button-secondary" onClick={rotate} disabled={busy}>
          Rotate secret
        </button>
        <button type="button" class="button-secondary" onClick={toggle} disabled={busy}>
          {ep.enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" class="button-danger" onClick={remove} disabled={busy} aria-label={`Delete ${ep.url}`}>
          Delete
        </button>
      </div>
      <div aria-live="polite">{test && <TestOutcome result={test} />}</div>
      <ErrorNote error={error} />
      <div id={`${titleId}-log`}>{showLog && <DeliveryLog endpoint={ep} tick={logTick} />}</div>
    </section>
  )
}

function DeliveryLog({ endpoint: ep, tick }: { endpoint: WebhookEndpoint; tick: number }) {
  const log = useLoad(async () => (await api.webhookEndpoints.deliveries(ep.id, { limit: 50 })).data, [ep.id, tick])
  const { busy, error, run } = useAction()
  const [status, setStatus] = useState('')

  const redeliver = (d: WebhookDelivery) =>
    run(async () => {
      await api.webhookEndpoints.redeliver(d.id)
      setStatus(`Delivery of ${d.eventType} queued again.`)
      log.reload()
    })
  const redeliverFailed = () =>
    run(async () => {
      const n = await api.webhookEndpoints.redeliverFailed(ep.id)
      setStatus(n === 0 ? 'No failed deliveries to send again.' : `${n} failed ${n === 1 ? 'delivery' : 'deliveries'} queued again.`)
      log.reload()
    })

  return (
    <>
      <h4>Deliveries</h4>
      <ErrorNote error={log.error ?? error} />
      <div class="actions">
        <button type="button" class="button-secondary" onClick={() => log.reload()} disabled={log.loading}>
          Refresh
        </button>
        <button type="button" class="button-secondary" onClick={redeliverFailed} disabled={busy || !ep.enabled}>
          Redeliver all failed
        </button>
        <span class="muted" aria-live="polite">
          {status}
        </span>
      </div>
      {log.loading && !log.data && <p class="muted">Loading deliveries…</p>}
      {log.data?.length === 0 && <p class="muted">Nothing sent yet.</p>}
      {log.data && log.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Deliveries to {ep.url}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Sent</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {log.data.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <code>{d.eventType}</code>
                    <br />
                    <span class="muted small">{d.eventId}</span>
                  </th>
                  <td>
                    <span class={`status ${d.status === 'succeeded' ? 'status-active' : d.status === 'failed' ? 'status-revoked' : ''}`}>
                      {DELIVERY_STATUS[d.status]}
                    </span>
                  </td>
                  <td>
                    <details>
                      <summary>
                        {d.attempts.length} {d.attempts.length === 1 ? 'attempt' : 'attempts'}
                        {d.attempts.at(-1) && `, last ${d.attempts.at(-1)?.statusCode ?? 'no answer'}`}
                      </summary>
                      <ol class="small">
                        {d.attempts.map((a, i) => (
                          <li key={`${i}`}>
                            <time dateTime={a.at}>{formatWhen(a.at)}</time>: {a.statusCode === null ? 'no HTTP answer' : `HTTP ${a.statusCode}`}, {a.latencyMs}{' '}
                            ms{a.error && <span>; {a.error}</span>}
                            {a.responseExcerpt && <pre class="code small">{a.responseExcerpt}</pre>}
                          </li>
                        ))}
                      </ol>
                    </details>
                  </td>
                  <td>
                    <time dateTime={d.createdAt} title={d.createdAt}>
                      {formatWhen(d.createdAt)}
                    </time>
                  </td>
                  <td>
                    <button
                      type="button"
                      class="button-secondary"
                      onClick={() => redeliver(d)}
                      disabled={busy || !ep.enabled}
                      aria-label={`Redeliver ${d.eventType} ${d.eventId}`}
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}
