// The owner's plan: status, the "ends at period end" and payment-failed notices, upgrade buttons that open Stripe
// Checkout, Manage that opens the Customer Portal, and the invoices. The plan changes when Stripe confirms payment
// (its webhook), so coming back from Checkout only says so and reloads.
import type { Billing, PaidTier } from '@intelagent/sdk'
import type { ComponentChildren } from 'preact'
import { useEffect } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, useAction, useLoad } from '../components.js'
import { formatWhen } from '../format.js'

const PLAN_LABELS: Record<Billing['plan'], string> = { starter: 'Starter', professional: 'Professional', business: 'Business', enterprise: 'Enterprise' }
const ORDER: Billing['plan'][] = ['starter', 'professional', 'business', 'enterprise']
const STATUS_LABELS: Record<string, string> = {
  active: 'Active',
  trialing: 'Trial',
  past_due: 'Payment failed',
  unpaid: 'Unpaid',
  canceled: 'Canceled',
  incomplete: 'Awaiting first payment',
  incomplete_expired: 'Expired',
  paused: 'Paused',
}

export const formatMoney = (minor: number, currency: string): string =>
  new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(minor / 100)

const formatDate = (iso: string): string => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' })

/** A table that may scroll sideways on a small screen: a labelled region that takes keyboard focus. */
export function ScrollRegion({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls sideways must take keyboard focus (WCAG 2.1.1)
    <section class="table-wrap" tabIndex={0} aria-label={label}>
      {children}
    </section>
  )
}

export function BillingPage({ onPlan }: { onPlan?: (plan: Billing['plan']) => void }) {
  const billing = useLoad(() => api.billing.get(), [])
  const plan = billing.data?.plan
  useEffect(() => {
    if (plan) onPlan?.(plan)
  }, [plan])
  const { busy, error, run } = useAction()
  const returned = new URLSearchParams(location.search).get('checkout') === 'done'

  async function go(open: () => Promise<{ url: string }>) {
    await run(async () => {
      location.assign((await open()).url)
    })
  }

  const b = billing.data
  const live = b?.subscriptionId && b.status && !['canceled', 'incomplete_expired'].includes(b.status)
  const upgrades = b ? b.purchasable.filter((t) => ORDER.indexOf(t) > ORDER.indexOf(b.plan)) : []

  return (
    <>
      <h1>Billing</h1>
      {returned && (
        <p class="note note-ok" role="status">
          Thank you. Your plan changes as soon as Stripe confirms the payment, usually within seconds.{' '}
          <button type="button" class="link" onClick={billing.reload}>
            Refresh
          </button>
        </p>
      )}
      <ErrorNote error={billing.error} />
      {billing.loading && !b && <p class="muted">Loading…</p>}
      {b && (
        <>
          <section class="card" aria-labelledby="plan-heading">
            <h2 id="plan-heading">Your plan</h2>
            <dl class="facts">
              <dt>Plan</dt>
              <dd>
                <strong>{PLAN_LABELS[b.plan]}</strong>
              </dd>
              <dt>Subscription</dt>
              <dd>{b.status ? (STATUS_LABELS[b.status] ?? b.status) : 'None (free Starter plan)'}</dd>
              {b.currentPeriodEnd && live && (
                <>
                  <dt>{b.cancelAtPeriodEnd ? 'Ends on' : 'Renews on'}</dt>
                  <dd>
                    <time dateTime={b.currentPeriodEnd}>{formatDate(b.currentPeriodEnd)}</time>
                  </dd>
                </>
              )}
            </dl>
            {b.cancelAtPeriodEnd && b.currentPeriodEnd && (
              <p class="note" role="status">
                Your subscription ends at the end of the period: you keep {PLAN_LABELS[b.plan]} until {formatDate(b.currentPeriodEnd)}, then the license returns
                to Starter. Resume it with Manage billing.
              </p>
            )}
            {b.graceEndsAt && (
              <p class="note note-error" role="alert">
                The last payment failed. Update your card with Manage billing before {formatDate(b.graceEndsAt)}, or the license returns to Starter.
              </p>
            )}
            <ErrorNote error={error} />
            <div class="actions">
              {!live &&
                upgrades.map((tier) => (
                  <button key={tier} type="button" disabled={busy} onClick={() => go(() => api.billing.checkout({ tier: tier as PaidTier }))}>
                    Upgrade to {PLAN_LABELS[tier]}
                  </button>
                ))}
              <button type="button" class={live ? undefined : 'button-secondary'} disabled={busy} onClick={() => go(() => api.billing.portal())}>
                {live ? 'Manage billing or change plan' : 'Manage billing'}
              </button>
            </div>
          </section>

          <section aria-labelledby="invoices-heading">
            <h2 id="invoices-heading">Invoices</h2>
            {b.invoices.length === 0 ? (
              <p class="muted">No invoices yet.</p>
            ) : (
              <ScrollRegion label="Invoices (scrolls sideways on small screens)">
                <table>
                  <caption class="visually-hidden">Invoices, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Date</th>
                      <th scope="col">Number</th>
                      <th scope="col">Amount</th>
                      <th scope="col">Status</th>
                      <th scope="col">Invoice</th>
                    </tr>
                  </thead>
                  <tbody>
                    {b.invoices.map((i) => (
                      <tr key={i.id}>
                        <td>
                          <time dateTime={i.createdAt}>{formatWhen(i.createdAt)}</time>
                        </td>
                        <td>{i.number ?? ''}</td>
                        <td>{formatMoney(i.amount, i.currency)}</td>
                        <td>{i.status === 'paid' ? 'Paid' : i.status === 'open' ? 'Due' : i.status}</td>
                        <td>
                          {i.hostedUrl ? (
                            <a href={i.hostedUrl} target="_blank" rel="noopener noreferrer">
                              View invoice {i.number ?? ''}
                            </a>
                          ) : (
                            ''
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollRegion>
            )}
          </section>
        </>
      )}
    </>
  )
}
