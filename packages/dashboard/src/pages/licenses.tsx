// Operators: find licenses (key, buyer or member email, order id, status, tier), open one to see its products,
// keys, usage this period, subscription, members, emails sent and audit trail; change its tier and products,
// suspend or reactivate it, send the license email again.
import type { AdminLicense, AdminLicenseDetail, LicenseSearchParams, LicenseStatus, Product, Tier } from '@intelagent/sdk'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, SaveFooter, useAction, useLoad } from '../components.js'
import { formatWhen, PRODUCT_LABELS } from '../format.js'
import { formatMoney, ScrollRegion } from './billing.js'
import { ROLE_LABELS } from './team.js'
import { QUOTA_LABELS } from './usage.js'

const TIERS: Tier[] = ['starter', 'professional', 'business', 'enterprise']
const STATUSES: LicenseStatus[] = ['active', 'suspended', 'revoked']
const PRODUCTS = Object.keys(PRODUCT_LABELS) as Product[]

export function LicensesPage() {
  const [q, setQ] = useState('')
  const [status, setStatus] = useState('')
  const [tier, setTier] = useState('')
  const [query, setQuery] = useState<LicenseSearchParams>({})
  const [rows, setRows] = useState<AdminLicense[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const { busy, error, run } = useAction()

  async function load(params: LicenseSearchParams, cursor?: string) {
    await run(async () => {
      const page = await api.admin.licenses.search({ ...params, limit: 25, ...(cursor ? { cursor } : {}) })
      setRows((prev) => (cursor ? [...prev, ...page.data] : page.data))
      setNext(page.nextCursor)
    })
  }
  useEffect(() => void load({}), [])

  function search(e: Event) {
    e.preventDefault()
    const params: LicenseSearchParams = {
      ...(q.trim() ? { q: q.trim() } : {}),
      ...(status ? { status: status as LicenseStatus } : {}),
      ...(tier ? { tier: tier as Tier } : {}),
    }
    setQuery(params)
    setSelected(null)
    void load(params)
  }

  const updated = (l: AdminLicense) => setRows((prev) => prev.map((r) => (r.id === l.id ? l : r)))

  return (
    <>
      <h1>Licenses</h1>
      <form class="card stack" aria-label="Search licenses" onSubmit={search}>
        <div class="row">
          <label for="license-q">Key, email or order id</label>
          <input id="license-q" type="search" autoComplete="off" spellcheck={false} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label for="license-status">Status</label>
          <select id="license-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="row">
          <label for="license-tier">Tier</label>
          <select id="license-tier" value={tier} onChange={(e) => setTier(e.currentTarget.value)}>
            <option value="">Any</option>
            {TIERS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="actions">
          <button type="submit" disabled={busy}>
            Search
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {selected && <LicenseDetail id={selected} onChanged={updated} onClose={() => setSelected(null)} />}
      <section aria-labelledby="licenses-results">
        <h2 id="licenses-results">Results</h2>
        {rows.length === 0 && !busy && <p class="muted">No licenses match.</p>}
        {rows.length > 0 && (
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a table that scrolls sideways on a phone must be reachable by keyboard to scroll it (axe scrollable-region-focusable)
          <section class="table-wrap" tabIndex={0} aria-label="Licenses found">
            <table>
              <caption class="visually-hidden">Licenses, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Email</th>
                  <th scope="col">Tier</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((l) => (
                  <tr key={l.id} class={l.status === 'active' ? undefined : 'row-inactive'}>
                    <th scope="row">
                      <code>{l.key}</code>
                    </th>
                    <td>{l.email}</td>
                    <td>{l.tier}</td>
                    <td>
                      <span class={`status status-${l.status === 'active' ? 'active' : 'revoked'}`}>{l.status}</span>
                    </td>
                    <td>{formatWhen(l.createdAt)}</td>
                    <td>
                      <button type="button" class="button-secondary" onClick={() => setSelected(l.id)} aria-label={`Open ${l.key}`}>
                        Open
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
        {next && (
          <div class="actions">
            <button type="button" class="button-secondary" disabled={busy} onClick={() => void load(query, next)}>
              Load more
            </button>
          </div>
        )}
      </section>
    </>
  )
}

function LicenseDetail({ id, onChanged, onClose }: { id: string; onChanged: (l: AdminLicense) => void; onClose: () => void }) {
  const detail = useLoad(() => api.admin.licenses.get(id), [id])
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (detail.data) heading.current?.focus()
  }, [detail.data?.license.id])
  const changed = (l: AdminLicense) => {
    onChanged(l)
    detail.reload()
  }
  return (
    <section class="card" aria-labelledby="license-detail">
      <ErrorNote error={detail.error} />
      {!detail.data ? (
        <p class="muted" id="license-detail">
          Loading the license…
        </p>
      ) : (
        <>
          <h2 id="license-detail" ref={heading} tabIndex={-1}>
            License <code>{detail.data.license.key}</code>
          </h2>
          <Facts d={detail.data} />
          <StatusActions license={detail.data.license} onChanged={changed} onMailed={detail.reload} />
          <PlanForm license={detail.data.license} onChanged={changed} />
          <UsageTable d={detail.data} />
          <Subscription d={detail.data} />
          <h3>Members</h3>
          {detail.data.members.length === 0 ? (
            <p class="muted">Not registered yet.</p>
          ) : (
            <ul class="plain">
              {detail.data.members.map((m) => (
                <li key={m.id}>
                  {m.email} ({ROLE_LABELS[m.role]}), last seen {m.lastSeenAt ? formatWhen(m.lastSeenAt) : 'never'}
                </li>
              ))}
              {detail.data.invitations.map((i) => (
                <li key={i.id}>
                  {i.email} (invited as {ROLE_LABELS[i.role]}, expires {formatWhen(i.expiresAt)})
                </li>
              ))}
            </ul>
          )}
          <Emails d={detail.data} />
          <h3>Recent activity</h3>
          {detail.data.audit.length === 0 ? (
            <p class="muted">Nothing yet.</p>
          ) : (
            <ul class="plain">
              {detail.data.audit.map((a) => (
                <li key={a.id}>
                  <time dateTime={a.createdAt}>{formatWhen(a.createdAt)}</time> <code>{a.action}</code> {a.actor ? `by ${a.actor}` : ''}
                </li>
              ))}
            </ul>
          )}
          <div class="actions">
            <button type="button" class="button-secondary" onClick={onClose}>
              Close
            </button>
          </div>
        </>
      )}
    </section>
  )
}

function Facts({ d }: { d: AdminLicenseDetail }) {
  const keys = Object.entries(d.keys.byProduct)
  return (
    <dl class="facts">
      <dt>Buyer</dt>
      <dd>{d.license.email}</dd>
      <dt>Status</dt>
      <dd>{d.license.status}</dd>
      <dt>Tier</dt>
      <dd>{d.license.tier}</dd>
      <dt>Products</dt>
      <dd>{d.license.products.map((p) => PRODUCT_LABELS[p]).join(', ')}</dd>
      <dt>Source</dt>
      <dd>
        {d.license.source}
        {d.license.orderId ? `, order ${d.license.orderId}` : ''}
      </dd>
      <dt>Keys</dt>
      <dd>
        {keys.length ? keys.map(([p, n]) => `${PRODUCT_LABELS[p as Product]}: ${n}`).join(', ') : 'no product keys'}; {d.keys.apiKeys} API key
        {d.keys.apiKeys === 1 ? '' : 's'}
      </dd>
      <dt>Seats</dt>
      <dd>
        {d.seats.used} of {d.seats.limit}
      </dd>
      <dt>Created</dt>
      <dd>{formatWhen(d.license.createdAt)}</dd>
    </dl>
  )
}

const n = (x: number) => x.toLocaleString()
const day = (iso: string) => new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })

function UsageTable({ d }: { d: AdminLicenseDetail }) {
  return (
    <>
      <h3>
        Usage this period ({day(d.usage.periodStart)} – {day(d.usage.periodEnd)})
      </h3>
      <ScrollRegion label="Usage of each quota this period">
        <table>
          <thead>
            <tr>
              <th scope="col">Quota</th>
              <th scope="col">Used</th>
              <th scope="col">Limit</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {d.usage.quotas.map((q) => (
              <tr key={q.quota}>
                <th scope="row">{QUOTA_LABELS[q.quota]}</th>
                <td>{n(q.used)}</td>
                <td>{n(q.limit)}</td>
                <td>{q.status === 'ok' ? 'OK' : q.status === 'warning' ? 'Over 80 %' : 'At the limit'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </>
  )
}

function Subscription({ d }: { d: AdminLicenseDetail }) {
  const s = d.subscription
  return (
    <>
      <h3>Subscription</h3>
      {!s ? (
        <p class="muted">No Stripe customer: this license was never billed through Stripe.</p>
      ) : (
        <dl class="facts">
          <dt>Status</dt>
          <dd>{s.status ?? 'no subscription'}</dd>
          <dt>Price</dt>
          <dd>
            {s.amount !== null && s.currency ? `${formatMoney(s.amount, s.currency)} per ${s.interval ?? 'period'}` : '—'}
            {s.plan ? ` (${s.plan})` : ''}
          </dd>
          <dt>Period ends</dt>
          <dd>{s.currentPeriodEnd ? day(s.currentPeriodEnd) : '—'}</dd>
          <dt>Cancels at period end</dt>
          <dd>{s.cancelAtPeriodEnd ? 'Yes: back to starter when the period ends' : 'No'}</dd>
          {s.graceEndsAt && (
            <>
              <dt>Grace ends</dt>
              <dd>{formatWhen(s.graceEndsAt)}</dd>
            </>
          )}
          <dt>Stripe customer</dt>
          <dd>
            <code>{s.stripeCustomerId}</code>
          </dd>
          <dt>Stripe subscription</dt>
          <dd>{s.stripeSubscriptionId ? <code>{s.stripeSubscriptionId}</code> : '—'}</dd>
          <dt>Last synced</dt>
          <dd>{s.syncedAt ? formatWhen(s.syncedAt) : 'never'}</dd>
        </dl>
      )}
    </>
  )
}

function Emails({ d }: { d: AdminLicenseDetail }) {
  return (
    <>
      <h3>
        Emails sent ({d.emails.total}
        {d.emails.total > d.emails.recent.length ? `, latest ${d.emails.recent.length}` : ''})
      </h3>
      {d.emails.recent.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ul class="plain">
          {d.emails.recent.map((m) => (
            <li key={m.id}>
              <time dateTime={m.createdAt}>{formatWhen(m.createdAt)}</time> <code>{m.template}</code> to {m.to}: {m.status}
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

function StatusActions({ license, onChanged, onMailed }: { license: AdminLicense; onChanged: (l: AdminLicense) => void; onMailed: () => void }) {
  const { busy, error, run } = useAction()
  const [mailed, setMailed] = useState('')
  const suspend = () => {
    if (!confirm(`Suspend ${license.key}? Its keys and sessions stop working within a second.`)) return
    void run(async () => onChanged(await api.admin.licenses.suspend(license.id)))
  }
  return (
    <>
      <ErrorNote error={error} />
      <div class="actions">
        {license.status === 'active' ? (
          <button type="button" class="button-danger" onClick={suspend} disabled={busy}>
            Suspend license
          </button>
        ) : (
          <button type="button" onClick={() => void run(async () => onChanged(await api.admin.licenses.reactivate(license.id)))} disabled={busy}>
            Reactivate license
          </button>
        )}
        <button
          type="button"
          class="button-secondary"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              const m = await api.mail.resendLicense(license.id)
              setMailed(`License email queued to ${m.to}`)
              onMailed()
            })
          }
        >
          Resend license email
        </button>
      </div>
      <p class="muted" role="status">
        {mailed}
      </p>
    </>
  )
}

function PlanForm({ license, onChanged }: { license: AdminLicense; onChanged: (l: AdminLicense) => void }) {
  const [tier, setTier] = useState<Tier>(license.tier)
  const [products, setProducts] = useState<Product[]>(license.products)
  const [saved, setSaved] = useState(false)
  const { busy, error, run, setError } = useAction()
  useEffect(() => {
    setTier(license.tier)
    setProducts(license.products)
  }, [license.id, license.tier, license.products.join()])

  async function save(e: Event) {
    e.preventDefault()
    setSaved(false)
    if (products.length === 0) return setError(new Error('Choose at least one product'))
    if (await run(async () => onChanged(await api.admin.licenses.update(license.id, { tier, products })))) setSaved(true)
  }
  const toggle = (p: Product, on: boolean) => setProducts((prev) => (on ? PRODUCTS.filter((x) => x === p || prev.includes(x)) : prev.filter((x) => x !== p)))

  return (
    <form class="stack" onSubmit={save}>
      <h3>Plan</h3>
      <div class="row">
        <label for="plan-tier">Tier</label>
        <select id="plan-tier" value={tier} onChange={(e) => setTier(e.currentTarget.value as Tier)}>
          {TIERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      <fieldset class="checks">
        <legend>Products</legend>
        {PRODUCTS.map((p) => (
          <label key={p} class="check">
            <input type="checkbox" checked={products.includes(p)} onChange={(e) => toggle(p, e.currentTarget.checked)} />
            <span>{PRODUCT_LABELS[p]}</span>
          </label>
        ))}
      </fieldset>
      <SaveFooter error={error} busy={busy} label="Save plan" status={saved ? 'Saved' : ''} />
    </form>
  )
}
