// Billing periods and the forecast: pure functions of the license and the clock.

export interface Period {
  start: Date
  end: Date
}

const DAY_MS = 24 * 3600_000

/** `anchor` plus `months` calendar months, its day clamped to the month's last (Jan 31 + 1 month = Feb 28). */
function addMonths(anchor: Date, months: number): Date {
  const y = anchor.getUTCFullYear()
  const m = anchor.getUTCMonth() + months
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate()
  return new Date(
    Date.UTC(y, m, Math.min(anchor.getUTCDate(), last), anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()),
  )
}

/**
 * What decides a license's billing period. Today no license has its own, so every period is the calendar month
 * in UTC; once subscriptions set `periodAnchor` (the subscription's start), periods are months from it.
 */
export interface PeriodSource {
  periodAnchor?: Date | null
}

/** The billing period holding `now` for this license. */
export function periodOf(license: PeriodSource, now: number): Period {
  const anchor = license.periodAnchor
  if (!anchor) {
    const d = new Date(now)
    return { start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)), end: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)) }
  }
  const a = new Date(now)
  let k = (a.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (a.getUTCMonth() - anchor.getUTCMonth())
  if (addMonths(anchor, k).getTime() > now) k--
  return { start: addMonths(anchor, k), end: addMonths(anchor, k + 1) }
}

/** The UTC day holding `t`, as 2026-11-30. */
export const dayOf = (t: number): string => new Date(t).toISOString().slice(0, 10)

export interface Forecast {
  /** The figure at the period's end if the pace so far holds. */
  forecast: number
  /** When the quota runs out at that pace (null: it does not, or it already has). */
  runsOutAt: Date | null
}

/**
 * The period-end projection from this period's pace. The pace is used ÷ time elapsed, but never over less than a
 * day: an hour into the month, three conversations must not project to two thousand.
 */
export function forecastOf(used: number, limit: number, period: Period, now: number): Forecast {
  const start = period.start.getTime()
  const end = period.end.getTime()
  if (now >= end) return { forecast: used, runsOutAt: null }
  const pace = used / Math.max(now - start, DAY_MS)
  const forecast = Math.round(used + pace * (end - now))
  const runsOutAt = used < limit && forecast > limit && pace > 0 ? new Date(Math.ceil(now + (limit - used) / pace)) : null
  return { forecast, runsOutAt }
}

/** "the 23rd": how a warning names the day a quota runs out. */
export function ordinalDay(d: Date): string {
  const n = d.getUTCDate()
  const suffix = n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'
  return `the ${n}${suffix}`
}
