// GET /api/usage's figures: each quota's use, limit, period and forecast, and the period's daily series.

import type { Deps } from '../platform/context.js'
import type { License } from '../platform/db.js'
import { METERED, type Metered, planOf, QUOTAS, type Quota } from '../platform/plans.js'
import { dayOf, forecastOf, type PeriodSource, periodOf } from './period.js'

const DAY_MS = 24 * 3600_000

export interface QuotaUse {
  quota: Quota
  used: number
  limit: number
  periodStart: string
  periodEnd: string
  /** The period-end figure at this period's pace (gauges: the figure now). */
  forecast: number
  /** When the forecast says the quota runs out, if before the period ends. */
  runsOutAt: string | null
  /** Counted quotas: ok below 80 %, warning from 80 %, exceeded at the limit. Gauges: exceeded only past it. */
  status: 'ok' | 'warning' | 'exceeded'
}

export interface UsageReport {
  plan: string
  periodStart: string
  periodEnd: string
  quotas: QuotaUse[]
  /** One entry per UTC day of the period so far, oldest first, with each metered quota's count that day. */
  daily: ({ day: string } & Record<Metered, number>)[]
}

const key = (licenseId: string, metric: string, kind: 'p' | 'd', start: Date) => `usage:${licenseId}:${metric}:${kind}:${start.toISOString()}`

export async function usageReport(deps: Deps, license: Pick<License, 'id' | 'tier' | 'products'> & PeriodSource): Promise<UsageReport> {
  const now = deps.clock.now()
  const plan = planOf(deps.config.plans, license.tier)
  const period = periodOf(license, now)
  const until = Math.min(now, period.end.getTime() - 1)
  const days: Date[] = []
  for (let t = Math.floor(period.start.getTime() / DAY_MS) * DAY_MS; t <= until; t += DAY_MS) days.push(new Date(t))

  // Postgres has what was flushed; the cache has the live figures (newer when present).
  const [rows, knowledge, seats] = await Promise.all([
    deps.db
      .selectFrom('usage')
      .select(['metric', 'kind', 'starts_at', 'used'])
      .where('license_id', '=', license.id)
      .where('starts_at', '>=', period.start)
      .where('starts_at', '<', period.end)
      .execute(),
    // Knowledge pages: the hand-written items and every page a source's crawl indexed (src/knowledge/sources.ts).
    deps.db
      .selectFrom('knowledge_items')
      .select((eb) => [
        eb.fn.countAll<string>().as('n'),
        eb
          .selectFrom('knowledge_pages')
          .select(eb.fn.countAll<string>().as('p'))
          .where('knowledge_pages.license_id', '=', license.id)
          .where('knowledge_pages.status', '=', 'indexed')
          .as('pages'),
      ])
      .where('license_id', '=', license.id)
      .executeTakeFirstOrThrow(),
    deps.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('license_id', '=', license.id)
      .executeTakeFirstOrThrow(),
  ])
  const stored = new Map(rows.map((r) => [`${r.metric}:${r.kind}:${new Date(r.starts_at).toISOString()}`, Number(r.used)]))
  const live = async (metric: Metered, kind: 'p' | 'd', start: Date): Promise<number> => {
    const cached = await deps.cache.get(key(license.id, metric, kind, start))
    if (cached !== null) return Number(cached)
    return stored.get(`${metric}:${kind === 'p' ? 'period' : 'day'}:${start.toISOString()}`) ?? 0
  }

  const metered = Object.fromEntries(await Promise.all(METERED.map(async (m) => [m, await live(m, 'p', period.start)] as const))) as Record<Metered, number>
  const gauges: Record<Exclude<Quota, Metered>, number> = {
    products: license.products.length,
    knowledgePages: Number(knowledge.n) + Number(knowledge.pages ?? 0),
    seats: Number(seats.n),
  }
  const quotas = QUOTAS.map((quota): QuotaUse => {
    const limit = plan.quotas[quota]
    const isMetered = (METERED as readonly string[]).includes(quota)
    const used = isMetered ? metered[quota as Metered] : gauges[quota as Exclude<Quota, Metered>]
    const f = isMetered ? forecastOf(used, limit, period, now) : { forecast: used, runsOutAt: null }
    return {
      quota,
      used,
      limit,
      periodStart: period.start.toISOString(),
      periodEnd: period.end.toISOString(),
      forecast: f.forecast,
      runsOutAt: f.runsOutAt && f.runsOutAt < period.end ? f.runsOutAt.toISOString() : null,
      // A gauge (products, seats, knowledge pages) at its limit is full, not over: only passing it is news.
      status: isMetered ? (used >= limit ? 'exceeded' : used >= 0.8 * limit ? 'warning' : 'ok') : used > limit ? 'exceeded' : 'ok',
    }
  })
  const daily = await Promise.all(
    days.map(async (d) => {
      const counts = await Promise.all(METERED.map(async (m) => [m, await live(m, 'd', d)] as const))
      return { day: dayOf(d.getTime()), ...(Object.fromEntries(counts) as Record<Metered, number>) }
    }),
  )
  return { plan: license.tier, periodStart: period.start.toISOString(), periodEnd: period.end.toISOString(), quotas, daily }
}
