// Platform figures for operators, from subscription state as Stripe last told us (amounts copied from its price
// objects): active licenses, MRR and ARR per currency, new and churned subscriptions per month, trial-to-paid, and
// a 12-month MRR history.
//
// What counts as revenue: an `active` subscription, and a `past_due` (or `unpaid`) one still inside its grace period
// (its plan is still on, the buyer is being dunned). Not counted: `trialing` (nothing paid yet), past_due past the
// grace (the license is back on starter), `canceled`, `incomplete*`, `paused`.
//
// The history is derived from each subscription's dates and its current price: a month's MRR is the sum over
// subscriptions first paid before the month ended and not ended by then. It does not know past price changes or
// past dunning; the current month is the live figure above.
import type { Db } from '../platform/db.js'

const MONTHS = 12

/** Months per billing interval: a yearly price counts a twelfth of its amount each month. */
const perMonth: Record<string, number> = { day: 365 / 12, week: 52 / 12, month: 1, year: 1 / 12 }

const monthKey = (d: Date): string => d.toISOString().slice(0, 7)
const GRACE = ['past_due', 'unpaid']

interface AccountFacts {
  status: string | null
  amount: string | null
  currency: string | null
  interval: string | null
  interval_count: number | null
  grace_ends_at: Date | null
}

/** The subscription's monthly amount in minor units (null when Stripe gave no recurring price). */
export function monthlyAmount(a: Pick<AccountFacts, 'amount' | 'interval' | 'interval_count'>): number | null {
  if (a.amount === null || !a.interval) return null
  return (Number(a.amount) * (perMonth[a.interval] ?? 0)) / (a.interval_count || 1)
}

/** Whether the subscription is paid for now: active, or dunned inside its grace period. */
export function isPaying(a: Pick<AccountFacts, 'status' | 'grace_ends_at'>, now: number): boolean {
  if (a.status === 'active') return true
  return a.status !== null && GRACE.includes(a.status) && a.grace_ends_at !== null && new Date(a.grace_ends_at).getTime() > now
}

export async function platformFigures(db: Db, now: number) {
  const licenses = await db
    .selectFrom('licenses')
    .select(['tier', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', '=', 'active')
    .groupBy('tier')
    .execute()
  const accounts = await db
    .selectFrom('billing_accounts')
    .select(['status', 'amount', 'currency', 'interval', 'interval_count', 'grace_ends_at', 'started_at', 'canceled_at', 'trial_start', 'first_paid_at'])
    .where('stripe_subscription_id', 'is not', null)
    .execute()

  const mrr = new Map<string, number>()
  let paying = 0
  for (const a of accounts) {
    const monthly = monthlyAmount(a)
    if (!isPaying(a, now) || monthly === null || !a.currency) continue
    paying++
    mrr.set(a.currency, (mrr.get(a.currency) ?? 0) + monthly)
  }

  const d = new Date(now)
  const months: { month: string; new: number; churned: number; mrr: Record<string, number> }[] = []
  const ends: number[] = []
  for (let i = MONTHS - 1; i >= 0; i--) {
    months.push({ month: monthKey(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1))), new: 0, churned: 0, mrr: {} })
    ends.push(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i + 1, 1))
  }
  const byMonth = new Map(months.map((m) => [m.month, m]))
  for (const a of accounts) {
    if (a.started_at) {
      const m = byMonth.get(monthKey(a.started_at))
      if (m) m.new++
    }
    if (a.canceled_at) {
      const m = byMonth.get(monthKey(a.canceled_at))
      if (m) m.churned++
    }
    // Past months: paid before the month ended and not ended by then.
    const monthly = monthlyAmount(a)
    if (monthly === null || !a.currency || !a.first_paid_at) continue
    const paidFrom = new Date(a.first_paid_at).getTime()
    const endedAt = a.canceled_at ? new Date(a.canceled_at).getTime() : Number.POSITIVE_INFINITY
    for (let i = 0; i < MONTHS - 1; i++) {
      const end = ends[i] as number
      const m = months[i] as (typeof months)[number]
      if (paidFrom < end && endedAt >= end) m.mrr[a.currency] = (m.mrr[a.currency] ?? 0) + monthly
    }
  }
  for (const m of months.slice(0, -1)) for (const c of Object.keys(m.mrr)) m.mrr[c] = Math.round(m.mrr[c] as number)
  const current = months.at(-1)
  if (current) current.mrr = Object.fromEntries([...mrr].map(([c, v]) => [c, Math.round(v)]))

  // Trial-to-paid over decided trials: a trial still running has not converted yet, nor failed to.
  const trials = accounts.filter((a) => a.trial_start !== null)
  const converted = trials.filter((a) => a.first_paid_at !== null).length
  const ongoing = trials.filter((a) => a.first_paid_at === null && a.status === 'trialing').length
  const decided = trials.length - ongoing

  return {
    activeLicenses: licenses.reduce((n, r) => n + Number(r.n), 0),
    activeByTier: Object.fromEntries(licenses.map((r) => [r.tier, Number(r.n)])),
    payingSubscriptions: paying,
    revenue: [...mrr].map(([currency, monthly]) => ({ currency, mrr: Math.round(monthly), arr: Math.round(monthly * 12) })).sort((a, b) => b.mrr - a.mrr),
    months,
    trialToPaid: { trials: trials.length, ongoing, converted, rate: decided === 0 ? null : converted / decided },
  }
}
