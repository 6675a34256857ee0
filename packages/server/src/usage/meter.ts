// Usage metering: every counted event is checked against the plan and counted in ONE atomic cache step (Cache.meter:
// a Lua script on Redis, one synchronous step in process), at most once per dedupe id. The cache holds the live
// counters; this instance flushes the ones it touched to Postgres every few seconds and on shutdown, and a counter the
// cache lost (Redis restarted) is seeded back from Postgres on its next use. docs/usage.md says why.

import type { MeterCheck, MeterResult } from '../platform/cache.js'
import type { Deps, Principal } from '../platform/context.js'
import type { ConversationRow } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { METERED, type Metered, type Plan, planOf, type Quota } from '../platform/plans.js'
import { dayOf, forecastOf, ordinalDay, type Period, type PeriodSource, periodOf } from './period.js'

const DAY_MS = 24 * 3600_000
/** How often this instance writes the counters it touched to Postgres. */
export const FLUSH_MS = 5_000
/** A retried event (same dedupe id) within this long counts once. */
const DEDUPE_TTL_MS = DAY_MS
/** Counters stay in the cache this long past their period or day, for the dashboard's figures. */
const KEEP_MS = 40 * DAY_MS
/** The longest a call counted in memory (see Behind) waits before it is written to the cache. */
export const WRITE_BEHIND_MS = 100
/** Within this many blocks of its quota, a call is counted in the cache at once again (exact). */
const EXACT_BLOCKS = 4

/** Whose usage: the license, its tier (from the caller's cached principal or key, so a tier change applies at once). */
export interface Subject extends PeriodSource {
  licenseId: string
  tier: string
}

/** A per-visitor cap inside the quotas (plans' visitorCaps). */
export type VisitorCap = keyof Plan['visitorCaps']

/** What ran out: a quota of the plan, or the visitor's own daily cap. */
export type Limited = Metered | 'visitorCap'

export type CountOutcome =
  | { ok: true }
  /** `requested`: the cost that did not fit (a batch may not fit while the quota still has some room). */
  | { ok: false; quota: Limited; used: number; limit: number; requested: number; resetsAt: Date }

export interface CountInput {
  /** Counted together (all or none), each against its quota. */
  metrics: Metered[]
  cost?: number
  /** The event's identity: a retry with the same id counts nothing more. */
  dedupeId?: string
  /** Also counts against this visitor's cap for the UTC day. */
  visitor?: { id: string; cap: VisitorCap }
}

interface Bucket {
  licenseId: string
  metric: Metered
  kind: 'period' | 'day'
  startsAt: Date
}

const bucketKey = (b: Bucket): string => `usage:${b.licenseId}:${b.metric}:${b.kind === 'period' ? 'p' : 'd'}:${isoOf(b.startsAt)}`

/** A bucket start's ISO form, made once: every metered message names its two buckets twice. Starts are few. */
const isoStarts = new Map<number, string>()
function isoOf(at: Date): string {
  const ms = at.getTime()
  let iso = isoStarts.get(ms)
  if (iso === undefined) {
    if (isoStarts.size >= 1000) isoStarts.clear()
    iso = at.toISOString()
    isoStarts.set(ms, iso)
  }
  return iso
}
const dayStart = (t: number): Date => new Date(Math.floor(t / DAY_MS) * DAY_MS)

export const QUOTA_LABEL: Record<Quota | 'visitorCap', string> = {
  conversations: 'conversations',
  messages: 'messages',
  aiReplies: 'AI replies',
  apiCalls: 'API calls',
  enrichments: 'enrichments',
  knowledgePages: 'knowledge pages',
  products: 'products',
  seats: 'seats',
  visitorCap: 'per-visitor daily',
}

/** The 429 an API caller gets at a quota: which quota, when it resets, and Retry-After. */
export function quotaExceeded(o: Extract<CountOutcome, { ok: false }>, tier: string, now: number): AppError {
  const retry = Math.max(1, Math.ceil((o.resetsAt.getTime() - now) / 1000))
  const state = o.used < o.limit ? `has ${o.limit - o.used} left and this request needs ${o.requested}` : 'is used up'
  return new AppError(
    'quota_exceeded',
    `The ${tier} plan's ${QUOTA_LABEL[o.quota]} quota (${o.limit} per billing period) ${state}; it resets at ${o.resetsAt.toISOString()}. Upgrade the plan for more.`,
    { headers: { 'Retry-After': String(retry) }, details: { quota: o.quota, used: o.used, limit: o.limit, resetsAt: o.resetsAt.toISOString() } },
  )
}

type Dirty = Bucket & { tier: string; period: Period | null }

/**
 * A license's secret-key calls of one period, counted in this instance's memory and written to the cache in one step
 * every WRITE_BEHIND_MS or each `block` calls (at most a block is held unwritten; more calls wait for the write):
 * a call then costs no Redis round trip. Only for an apiCalls quota of 2,000 and more (`block`, a thousandth of it,
 * at most 1,000, is then 2 or more), only for calls without an Idempotency-Key (those are deduplicated in the
 * cache), and never within EXACT_BLOCKS blocks of the quota, where each call is counted in the cache at once.
 * What that costs (docs/usage.md): another instance's unwritten calls (at most a block each) may take the count past
 * the quota by that much; a crash loses at most WRITE_BEHIND_MS of counting, never counting a call that was not made.
 */
interface Behind {
  licenseId: string
  tier: string
  period: Period
  /** Admitted here, not yet written to the cache. */
  pending: number
  /** Admitted here and being written to the cache (not yet in `known`). */
  writingCalls: number
  /** The period's count in the cache as of this instance's last step there (other instances' writes included). */
  known: number
  writing: Promise<void> | null
  /** The last write failed (logged once until one goes through). */
  failing: boolean
}

const blockOf = (limit: number): number => {
  const b = Math.min(1000, Math.floor(limit / 1000))
  return b >= 2 ? b : 0
}

/** One per app instance: counts, gives back, flushes, warns and reports. */
export class Usage {
  private dirty = new Map<string, Dirty>()
  /** Warnings this instance knows were sent (Postgres is the truth; this spares it the repeated inserts). */
  private warned = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined
  private flushing: Promise<void> = Promise.resolve()
  private behind = new Map<string, Behind>()
  private behindTimer: ReturnType<typeof setTimeout> | undefined

  constructor(private deps: Deps) {}

  start(): void {
    this.timer = setInterval(() => this.deps.tasks.run('usage.flush', () => this.flush()), FLUSH_MS)
    this.timer.unref()
  }

  /** Stops the timers and writes what is left (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    clearTimeout(this.behindTimer)
    await this.flush()
  }

  plan(tier: string): Plan {
    return planOf(this.deps.config.plans, tier)
  }

  /** Checks and counts in one atomic step. Over a quota or cap, nothing is counted and the outcome says which. */
  async count(subject: Subject, input: CountInput): Promise<CountOutcome> {
    const now = this.deps.clock.now()
    const plan = this.plan(subject.tier)
    const period = periodOf(subject, now)
    const cost = input.cost ?? 1
    const behindKey = this.countsBehind(input, cost) ? `${subject.licenseId}:${period.start.getTime()}` : undefined
    if (behindKey) {
      const b = this.behind.get(behindKey)
      if (b) {
        // From the plan as it is now: a tier change applies at once.
        const limit = plan.quotas.apiCalls
        const block = blockOf(limit)
        b.tier = subject.tier
        const held = b.pending + b.writingCalls
        const far = block > 0 && b.known + held + cost <= limit - EXACT_BLOCKS * block
        if (far && held + cost <= block) {
          b.pending += cost
          if (b.pending >= block) void this.writeBehind(b)
          else this.scheduleWriteBehind()
          return { ok: true }
        }
        // A full block waits for its write (which also learns what the other instances wrote), then looks again;
        // near the quota, what this instance holds goes to the cache first and the call is counted there.
        await this.writeBehind(b)
        // Room again once the write went through; when it did not (cache unreachable), the call is counted below.
        if (far && b.pending + b.writingCalls + cost <= block) return this.count(subject, input)
      }
    }
    const buckets: (Bucket | null)[] = []
    const checks: MeterCheck[] = []
    for (const metric of input.metrics) {
      const pb: Bucket = { licenseId: subject.licenseId, metric, kind: 'period', startsAt: period.start }
      const db: Bucket = { licenseId: subject.licenseId, metric, kind: 'day', startsAt: dayStart(now) }
      buckets.push(pb, db)
      checks.push(
        { key: bucketKey(pb), cost, limit: plan.quotas[metric], ttlMs: period.end.getTime() - now + KEEP_MS },
        { key: bucketKey(db), cost, limit: null, ttlMs: DAY_MS + KEEP_MS },
      )
    }
    if (input.visitor) {
      buckets.push(null)
      checks.push({
        key: `usage:${subject.licenseId}:visitor:${input.visitor.cap}:${input.visitor.id}:${dayOf(now)}`,
        cost,
        limit: plan.visitorCaps[input.visitor.cap],
        ttlMs: DAY_MS + 60_000,
        seed: 0,
      })
    }
    const dedupe = input.dedupeId ? { key: `usage:dedupe:${subject.licenseId}:${input.dedupeId}`, ttlMs: DEDUPE_TTL_MS } : undefined
    const r = await this.meter(checks, buckets, dedupe)
    if (r.outcome === 'over') {
      const b = buckets[r.index]
      const limit = checks[r.index]?.limit ?? 0
      if (!b) return { ok: false, quota: 'visitorCap', used: r.total, limit, requested: cost, resetsAt: new Date(dayStart(now).getTime() + DAY_MS) }
      return { ok: false, quota: b.metric, used: r.total, limit, requested: cost, resetsAt: period.end }
    }
    if (r.outcome === 'unavailable')
      this.deps.logger.warn('usage not counted: the cache is unreachable', { licenseId: subject.licenseId, metrics: input.metrics })
    if (r.outcome === 'counted') {
      this.touch(buckets, checks, subject.tier, period)
      // The first call of a period on this instance (or one near the quota) learns the count; the next are counted here.
      if (behindKey && blockOf(plan.quotas.apiCalls) > 0) {
        const b = this.behind.get(behindKey)
        const total = r.totals[0] ?? 0
        if (b) b.known = Math.max(b.known, total)
        else {
          if (this.behind.size >= 50_000) this.forgetIdleBehind()
          this.behind.set(behindKey, {
            licenseId: subject.licenseId,
            tier: subject.tier,
            period,
            pending: 0,
            writingCalls: 0,
            known: total,
            writing: null,
            failing: false,
          })
        }
      }
    }
    return { ok: true }
  }

  private countsBehind(input: CountInput, cost: number): boolean {
    return input.metrics.length === 1 && input.metrics[0] === 'apiCalls' && !input.dedupeId && !input.visitor && cost > 0
  }

  private scheduleWriteBehind(): void {
    if (this.behindTimer) return
    this.behindTimer = setTimeout(() => {
      this.behindTimer = undefined
      this.deps.tasks.run('usage.writeBehind', () => this.writeAllBehind())
    }, WRITE_BEHIND_MS)
    this.behindTimer.unref()
  }

  /** Writes every call counted in memory to the cache (the timer, a flush, the usage report). */
  async writeAllBehind(licenseId?: string): Promise<void> {
    // A write already in flight is waited for too: a flush or a report must see it landed.
    for (const b of this.behind.values()) if ((b.pending > 0 || b.writing) && (licenseId === undefined || b.licenseId === licenseId)) await this.writeBehind(b)
  }

  /** One cache step for what `b` holds; when the cache is unreachable the calls stay held for the next write. */
  private async writeBehind(b: Behind): Promise<void> {
    while (b.writing) await b.writing
    const n = b.pending
    if (n === 0) return
    b.pending = 0
    b.writingCalls = n
    const write = async () => {
      const now = this.deps.clock.now()
      const pb: Bucket = { licenseId: b.licenseId, metric: 'apiCalls', kind: 'period', startsAt: b.period.start }
      const db: Bucket = { licenseId: b.licenseId, metric: 'apiCalls', kind: 'day', startsAt: dayStart(now) }
      const checks: MeterCheck[] = [
        { key: bucketKey(pb), cost: n, limit: null, ttlMs: b.period.end.getTime() - now + KEEP_MS },
        { key: bucketKey(db), cost: n, limit: null, ttlMs: DAY_MS + KEEP_MS },
      ]
      let r: MeterResult | undefined
      try {
        r = await this.meter(checks, [pb, db])
      } catch {
        r = undefined
      }
      if (r?.outcome === 'counted') {
        b.known = r.totals[0] ?? b.known + n
        b.failing = false
        this.touch([pb, db], checks, b.tier, b.period)
      } else {
        b.pending += n
        this.scheduleWriteBehind()
        if (!b.failing)
          this.deps.logger.warn('usage not written yet: the cache is unreachable; retrying', { licenseId: b.licenseId, metric: 'apiCalls', calls: n })
        b.failing = true
      }
    }
    b.writing = write().finally(() => {
      b.writing = null
      b.writingCalls = 0
    })
    await b.writing
  }

  private forgetIdleBehind(): void {
    for (const [key, b] of this.behind) if (b.pending === 0 && !b.writing) this.behind.delete(key)
  }

  /**
   * Gives usage back to this period's quotas (a conversation flagged as abuse), once per dedupe id. Usage counted
   * in an earlier period is not given back: that period is over. The daily figures keep what happened.
   */
  async giveBack(subject: Subject, amounts: Partial<Record<Metered, number>>, countedAt: Date, dedupeId: string): Promise<boolean> {
    const now = this.deps.clock.now()
    const period = periodOf(subject, now)
    if (periodOf(subject, countedAt.getTime()).start.getTime() !== period.start.getTime()) return false
    const buckets: Bucket[] = []
    const checks: MeterCheck[] = []
    for (const metric of METERED) {
      const n = amounts[metric] ?? 0
      if (n <= 0) continue
      const b: Bucket = { licenseId: subject.licenseId, metric, kind: 'period', startsAt: period.start }
      buckets.push(b)
      checks.push({ key: bucketKey(b), cost: -n, limit: null, ttlMs: period.end.getTime() - now + KEEP_MS })
    }
    if (checks.length === 0) return false
    const r = await this.meter(checks, buckets, { key: `usage:dedupe:${subject.licenseId}:${dedupeId}`, ttlMs: DEDUPE_TTL_MS })
    if (r.outcome === 'counted') this.touch(buckets, checks, subject.tier, period)
    return r.outcome === 'counted'
  }

  /** The cache step, seeding a counter the cache does not hold from Postgres (first use, or Redis restarted). */
  private async meter(checks: MeterCheck[], buckets: (Bucket | null)[], dedupe?: { key: string; ttlMs: number }): Promise<MeterResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await this.deps.cache.meter(checks, dedupe)
      if (r.outcome !== 'missing') return r
      const b = buckets[r.index]
      checks[r.index] = { ...(checks[r.index] as MeterCheck), seed: b ? await this.stored(b) : 0 }
    }
    throw new Error('usage counters kept disappearing while being seeded')
  }

  private async stored(b: Bucket): Promise<number> {
    const row = await this.deps.db
      .selectFrom('usage')
      .select('used')
      .where('license_id', '=', b.licenseId)
      .where('metric', '=', b.metric)
      .where('kind', '=', b.kind)
      .where('starts_at', '=', b.startsAt)
      .executeTakeFirst()
    return row ? Number(row.used) : 0
  }

  /** Marks the buckets to flush; `checks[i]` is the cache step of `buckets[i]` (its key made once). */
  private touch(buckets: (Bucket | null)[], checks: MeterCheck[], tier: string, period: Period): void {
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]
      if (!b) continue
      const key = (checks[i] as MeterCheck).key
      const d = this.dirty.get(key)
      // A bucket already waiting for the flush only learns the latest tier (every message of a busy license lands here).
      if (d) d.tier = tier
      else this.dirty.set(key, { ...b, tier, period: b.kind === 'period' ? period : null })
    }
  }

  /**
   * Writes the calls counted in memory to the cache, then the counters this instance touched to Postgres, and sends
   * the warnings they call for. One pass at a time.
   */
  flush(): Promise<void> {
    const pass = this.flushing.then(async () => {
      await this.writeAllBehind()
      await this.flushOnce()
    })
    this.flushing = pass.catch(() => undefined)
    return pass
  }

  private async flushOnce(): Promise<void> {
    const batch = [...this.dirty.entries()]
    this.dirty.clear()
    for (const [key, b] of batch) {
      try {
        const raw = await this.deps.cache.get(key)
        // Gone from the cache (Redis restarted before this flush): Postgres keeps the last flushed figure.
        if (raw === null) continue
        const used = Number(raw)
        await this.deps.db
          .insertInto('usage')
          .values({ license_id: b.licenseId, metric: b.metric, kind: b.kind, starts_at: b.startsAt, used })
          .onConflict((oc) => oc.columns(['license_id', 'metric', 'kind', 'starts_at']).doUpdateSet({ used, updated_at: new Date(this.deps.clock.now()) }))
          .execute()
        if (b.period) await this.warn(b, b.period, used)
      } catch (err) {
        // Put it back for the next pass unless a newer touch already did.
        if (!this.dirty.has(key)) this.dirty.set(key, b)
        this.deps.logger.warn('usage flush failed; retrying at the next pass', { error: String((err as Error)?.message ?? err) })
      }
    }
  }

  /** 80 %, 100 % and "runs out before the period ends": each once per period per quota (deduplicated in Postgres). */
  private async warn(b: Bucket, period: Period, used: number): Promise<void> {
    const dirty = b as Dirty
    const limit = this.plan(dirty.tier).quotas[b.metric]
    if (limit <= 0) return
    await sendWarnings(this.deps, this.warned, { licenseId: b.licenseId, quota: b.metric, used, limit, period })
  }
}

/** Emits the usage.warning events `used` calls for that were not sent this period yet. */
export async function sendWarnings(
  deps: Deps,
  warned: Set<string>,
  w: { licenseId: string; quota: Quota; used: number; limit: number; period: Period },
): Promise<void> {
  const now = deps.clock.now()
  const { forecast, runsOutAt } = forecastOf(w.used, w.limit, w.period, now)
  const label = QUOTA_LABEL[w.quota]
  const levels: { level: '80' | '100' | 'forecast'; message: string }[] = []
  if (w.used >= w.limit)
    levels.push({ level: '100', message: `All ${w.limit} ${label} of this period are used; the quota resets on ${dayOf(w.period.end.getTime())}` })
  if (w.used >= 0.8 * w.limit) levels.push({ level: '80', message: `${Math.floor((w.used / w.limit) * 100)} % of this period's ${w.limit} ${label} are used` })
  if (runsOutAt && runsOutAt < w.period.end) levels.push({ level: 'forecast', message: `At this pace, ${label} run out around ${ordinalDay(runsOutAt)}` })
  for (const l of levels) {
    const memo = `${w.licenseId}:${w.quota}:${w.period.start.toISOString()}:${l.level}`
    if (warned.has(memo)) continue
    await deps.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('usage_warnings')
        .values({ license_id: w.licenseId, metric: w.quota, period_start: w.period.start, level: l.level })
        .onConflict((oc) => oc.doNothing())
        .returning('level')
        .executeTakeFirst()
      if (!inserted) return
      await emit(trx, {
        type: 'usage.warning',
        licenseId: w.licenseId,
        data: {
          quota: w.quota,
          level: l.level,
          used: w.used,
          limit: w.limit,
          forecast,
          periodStart: w.period.start.toISOString(),
          periodEnd: w.period.end.toISOString(),
          runsOutAt: l.level === 'forecast' && runsOutAt ? runsOutAt.toISOString() : null,
          message: l.message,
        },
      })
    })
    if (warned.size > 50_000) warned.clear()
    warned.add(memo)
  }
}

/** Why a visitor's message gets a person instead of an engine reply (null: the engine answers). */
export type Handoff = Exclude<Limited, 'apiCalls' | 'enrichments'> | 'flagged' | null

/** The widget's gates: a visitor is never dropped, but past a quota or cap a person answers instead of the engine. */
export async function gateConversation(usage: Usage, subject: Subject, visitorId: string, conversationId: string): Promise<'quota' | 'visitor_cap' | null> {
  const r = await usage.count(subject, {
    metrics: ['conversations'],
    dedupeId: `conv:${conversationId}`,
    visitor: { id: visitorId, cap: 'conversationsPerDay' },
  })
  if (r.ok) return null
  return r.quota === 'visitorCap' ? 'visitor_cap' : 'quota'
}

export async function gateMessage(usage: Usage, tier: string, conv: ConversationRow, clientMessageId: string): Promise<Handoff> {
  if (conv.flagged_at) return 'flagged'
  if (conv.unmetered) return conv.unmetered === 'visitor_cap' ? 'visitorCap' : 'conversations'
  const r = await usage.count(
    { licenseId: conv.license_id, tier },
    { metrics: ['messages', 'aiReplies'], dedupeId: `msg:${conv.id}:${clientMessageId}`, visitor: { id: conv.visitor_id, cap: 'messagesPerDay' } },
  )
  return r.ok ? null : (r.quota as Exclude<Limited, 'apiCalls' | 'enrichments'>)
}

/**
 * Counts a secret-key API request (where the API budget is charged) against the apiCalls quota; at the quota it
 * answers 429 quota_exceeded. A retried POST with the same Idempotency-Key counts once. Sessions (people in the
 * dashboard) are not API calls.
 */
export async function chargeApiCall(usage: Usage, principal: Principal, idempotencyKey: string | undefined, now: () => number): Promise<void> {
  if (principal.kind === 'session' || !principal.licenseId) return
  const dedupeId = idempotencyKey && principal.keyId ? `api:${principal.keyId}:${idempotencyKey}` : undefined
  const r = await usage.count({ licenseId: principal.licenseId, tier: principal.tier }, { metrics: ['apiCalls'], ...(dedupeId ? { dedupeId } : {}) })
  if (!r.ok) throw quotaExceeded(r, principal.tier, now())
}

/**
 * Counts `items` enrichments for an API request, all or none in one step: a request that does not fit is refused
 * whole with 429 quota_exceeded and nothing is enriched. A retry with the same Idempotency-Key (from the same key
 * or person, as the idempotency middleware scopes it) counts once, even when its first answer was lost.
 */
export async function chargeEnrichments(usage: Usage, principal: Principal, items: number, idempotencyKey: string | undefined, now: number): Promise<void> {
  if (items <= 0 || !principal.licenseId) return
  const caller = principal.kind === 'session' ? `user:${principal.userId}` : `key:${principal.keyId}`
  const dedupeId = idempotencyKey ? `enrich:${caller}:${idempotencyKey}` : undefined
  const r = await usage.count(
    { licenseId: principal.licenseId, tier: principal.tier },
    { metrics: ['enrichments'], cost: items, ...(dedupeId ? { dedupeId } : {}) },
  )
  if (!r.ok) throw quotaExceeded(r, principal.tier, now)
}
