// Platform figures for operators, from subscription state as Stripe last told us (amounts copied from its price
// objects): active licenses, MRR and ARR per currency, new and churned subscriptions per month, trial-to-paid.
import type { Db } from '../platform/db.js'

const MONTHS = 12

/** Months per billing interval: a yearly price counts a twelfth of its amount each month. */
const perMonth: Record<string, number> = { day: 365 / 12, week: 52 / 12, month: 1, year: 1 / 12 }

const monthKey = (d: Date): string => d.toISOString().slice(0, 7)

export async function platformFigures(db: Db, now: number) {
  const licenses = await db
    .selectFrom('licenses')
    .select(['tier', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', '=', 'active')
    .groupBy('tier')
    .execute()
  const accounts = await db
    .selectFrom('billing_accounts')
    .select(['status', 'amount', 'currency', 'interval', 'interval_count', 'started_at', 'canceled_at', 'trial_start', 'first_paid_at'])
    .where('stripe_subscription_id', 'is not', null)
    .execute()

  // Revenue counts what is being paid for: active subscriptions and past_due ones still in their grace period.
  const mrr = new Map<string, number>()
  let paying = 0
  for (const a of accounts) {
    if (!(a.status === 'active' || a.status === 'past_due') || a.amount === null || !a.currency || !a.interval) continue
    paying++
    const monthly = (Number(a.amount) * (perMonth[a.interval] ?? 0)) / (a.interval_count ?? 1)
    mrr.set(a.currency, (mrr.get(a.currency) ?? 0) + monthly)
  }

  const months: { month: string; new: number; churned: number }[] = []
  const d = new Date(now)
  for (let i = MONTHS - 1; i >= 0; i--) months.push({ month: monthKey(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1))), new: 0, churned: 0 })
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
  }

  const trials = accounts.filter((a) => a.trial_start !== null)
  const converted = trials.filter((a) => a.first_paid_at !== null).length

  return {
    activeLicenses: licenses.reduce((n, r) => n + Number(r.n), 0),
    activeByTier: Object.fromEntries(licenses.map((r) => [r.tier, Number(r.n)])),
    payingSubscriptions: paying,
    revenue: [...mrr].map(([currency, monthly]) => ({ currency, mrr: Math.round(monthly), arr: Math.round(monthly * 12) })).sort((a, b) => b.mrr - a.mrr),
    months,
    trialToPaid: { trials: trials.length, converted, rate: trials.length === 0 ? null : converted / trials.length },
  }
}
