// Usage metering end to end: the quota is checked and counted in one step (no overshoot under concurrency), retries
// count once, counters survive a cache restart through Postgres, API calls get quota_exceeded at the quota, the
// widget never drops a visitor, flagged conversations give their usage back, and an upgrade lifts the limit at once.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createStore, createTestApp, ManualClock, type TestApp, type TestStore } from '../../test/harness.js'
import { dropCachedSessions } from '../account/sessions.js'
import { DEFAULT_PLANS } from '../platform/plans.js'
import { type Subject, WRITE_BEHIND_MS } from './meter.js'
import { forecastOf, ordinalDay, periodOf } from './period.js'
import type { UsageReport } from './report.js'

const ORIGIN = 'https://shop.example.com'
const PLANS = JSON.stringify({
  starter: { quotas: { apiCalls: 10 } },
  professional: { quotas: { conversations: 1, aiReplies: 2 } },
  business: { visitorCaps: { conversationsPerDay: 2 } },
})

async function apiKey(app: TestApp, owner: Customer, scopes: string[]): Promise<string> {
  const res = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'usage test', scopes } })
  expect(res.status).toBe(201)
  return ((await res.json()) as { key: string }).key
}

const report = async (app: TestApp, owner: Customer): Promise<UsageReport> => {
  const res = await app.request('/api/usage', { token: owner.token })
  expect(res.status).toBe(200)
  return (await res.json()) as UsageReport
}
const used = (r: UsageReport, quota: string) => r.quotas.find((q) => q.quota === quota)?.used
/** What Postgres holds for the license's metric this period (after a flush). */
const storedPeriod = async (app: TestApp, licenseId: string, metric: string) =>
  Number(
    (
      await app.deps.db
        .selectFrom('usage')
        .select('used')
        .where('license_id', '=', licenseId)
        .where('metric', '=', metric)
        .where('kind', '=', 'period')
        .executeTakeFirstOrThrow()
    ).used,
  )

describe('usage metering', () => {
  let store: TestStore
  let app: TestApp

  beforeAll(async () => {
    store = await createStore()
    app = await createTestApp({ store, env: { PLANS } })
  })
  afterAll(async () => {
    await app.shutdown()
    await store.drop()
  })

  it('50 concurrent API calls at a quota of 10: exactly 10 answered, 40 get quota_exceeded', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const key = await apiKey(app, owner, ['usage:read'])
    const answers = await Promise.all(Array.from({ length: 50 }, () => app.request('/api/usage', { token: key })))
    expect(answers.filter((r) => r.status === 200)).toHaveLength(10)
    const refused = answers.filter((r) => r.status === 429)
    expect(refused).toHaveLength(40)
    // Counted for /metrics by quota.
    expect((await app.deps.metrics.quotaRejected.get()).values.find((v) => v.labels.quota === 'apiCalls')?.value).toBe(40)
    const body = (await refused[0]?.json()) as { error: { code: string; message: string; requestId: string; details: Record<string, unknown> } }
    const periodEnd = periodOf({}, Date.now()).end
    expect(body.error.code).toBe('quota_exceeded')
    expect(body.error.message).toContain('API calls')
    expect(body.error.message).toContain(periodEnd.toISOString())
    expect(body.error.requestId).toMatch(/^req_/)
    expect(body.error.details).toEqual({ quota: 'apiCalls', used: 10, limit: 10, resetsAt: periodEnd.toISOString() })
    const retryAfter = Number(refused[0]?.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(Math.abs(retryAfter - (periodEnd.getTime() - Date.now()) / 1000)).toBeLessThan(60)
    // The owner's dashboard session is not an API call: it still reads the figures.
    const r = await report(app, owner)
    expect(used(r, 'apiCalls')).toBe(10)
    expect(r.quotas.find((q) => q.quota === 'apiCalls')?.status).toBe('exceeded')
  })

  it('a retried event (same dedupe id) counts once; a retried POST with its Idempotency-Key counts once', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const subject: Subject = { licenseId: owner.licenseId, tier: 'starter' }
    const outcomes = await Promise.all([1, 2, 3].map(() => app.usage.count(subject, { metrics: ['messages'], dedupeId: 'evt-1' })))
    expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }])
    await app.usage.count(subject, { metrics: ['messages'], dedupeId: 'evt-2' })
    expect(used(await report(app, owner), 'messages')).toBe(2)

    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const conv = await startConversation(key)
    const sk = await apiKey(app, owner, ['conversations:write', 'usage:read'])
    const before = used(await report(app, owner), 'apiCalls') as number
    for (let i = 0; i < 3; i++) {
      const res = await app.request(`/api/conversations/${conv.conversation.id}/flag`, {
        method: 'POST',
        token: sk,
        headers: { 'idempotency-key': 'flag-once' },
      })
      expect(res.status).toBe(200)
    }
    expect(used(await report(app, owner), 'apiCalls')).toBe(before + 1)
  })

  it('counters survive a cache restart: flushed to Postgres, seeded back on next use', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const subject: Subject = { licenseId: owner.licenseId, tier: 'starter' }
    for (let i = 0; i < 3; i++) await app.usage.count(subject, { metrics: ['conversations'] })
    await app.usage.flush()
    const rows = await app.deps.db.selectFrom('usage').selectAll().where('license_id', '=', owner.licenseId).execute()
    expect(rows.map((r) => [r.metric, r.kind, r.used])).toEqual(
      expect.arrayContaining([
        ['conversations', 'period', 3],
        ['conversations', 'day', 3],
      ]),
    )
    // The cache forgets everything about this license (Redis restarted empty; the in-process cache was rebuilt).
    const period = periodOf({}, app.clock.now()).start.toISOString()
    const day = new Date(Math.floor(app.clock.now() / 86_400_000) * 86_400_000).toISOString()
    await app.deps.cache.del(`usage:${owner.licenseId}:conversations:p:${period}`, `usage:${owner.licenseId}:conversations:d:${day}`)
    await app.usage.count(subject, { metrics: ['conversations'] })
    const r = await report(app, owner)
    expect(used(r, 'conversations')).toBe(4)
    expect(r.daily.at(-1)?.conversations).toBe(4)
    await app.usage.flush()
    expect(await storedPeriod(app, owner.licenseId, 'conversations')).toBe(4)
  })

  it('an instance shutting down flushes what it counted', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const b = await createTestApp({ store, sharedDeps: app.deps, env: { PLANS } })
    await b.usage.count({ licenseId: owner.licenseId, tier: 'starter' }, { metrics: ['aiReplies'], cost: 5 })
    await b.shutdown()
    const row = await app.deps.db.selectFrom('usage').select('used').where('license_id', '=', owner.licenseId).where('kind', '=', 'period').executeTakeFirst()
    expect(row?.used).toBe(5)
  })

  const widget = (key: string, path: string, init: RequestInit & { json?: unknown; token?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-product-key', key)
    headers.set('origin', ORIGIN)
    return app.request(path, { ...init, headers })
  }
  type Started = { conversation: { id: string }; visitorId: string; visitorSecret?: string; visitorToken: string; handoff?: boolean }
  const startConversation = async (key: string, visitor?: { visitorId: string; visitorSecret: string }): Promise<Started> => {
    const res = await widget(key, '/api/widget/conversations', { method: 'POST', ...(visitor ? { json: visitor } : {}) })
    expect(res.status).toBe(201)
    return (await res.json()) as Started
  }
  const say = async (key: string, conv: Started, text: string) => {
    const res = await widget(key, `/api/widget/conversations/${conv.conversation.id}/messages`, {
      method: 'POST',
      token: conv.visitorToken,
      json: { clientMessageId: `m-${Math.random().toString(36).slice(2)}`, text },
    })
    expect(res.status).toBe(201)
    return (await res.json()) as { message: { id: string; text: string }; replies: unknown[]; handoff?: boolean }
  }

  it('past the conversation quota the widget still stores the message, tells the owner and captures the lead', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const first = await startConversation(key)
    expect(first.handoff).toBeUndefined()
    expect((await say(key, first, 'What are your opening hours?')).replies).toHaveLength(1)

    // professional here allows one conversation: the second visitor is served by a person.
    const second = await startConversation(key)
    expect(second.handoff).toBe(true)
    const sent = await say(key, second, 'Do you ship to Canada?')
    expect(sent).toMatchObject({ handoff: true, replies: [] })
    const stored = await app.deps.db.selectFrom('messages').selectAll().where('conversation_id', '=', second.conversation.id).orderBy('seq').execute()
    // The greeting, then the visitor's message: no engine reply.
    expect(stored.map((m) => [m.role, m.text])).toEqual([
      ['assistant', expect.any(String)],
      ['visitor', 'Do you ship to Canada?'],
    ])
    await app.jobs.idle()
    const events = await app.deps.db.selectFrom('events').selectAll().where('license_id', '=', owner.licenseId).where('type', '=', 'usage.limited').execute()
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ quota: 'conversations', conversationId: second.conversation.id, messageId: sent.message.id }),
    ])
    const lead = await widget(key, '/api/widget/leads', {
      method: 'POST',
      token: second.visitorToken,
      json: { conversationId: second.conversation.id, name: 'Visitor', email: 'visitor@example.org', consent: true },
    })
    expect(lead.status).toBe(201)
    expect(used(await report(app, owner), 'conversations')).toBe(1)
  })

  it('past the AI-reply quota the engine stops answering; the message is kept', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const conv = await startConversation(key)
    expect((await say(key, conv, 'one')).replies).toHaveLength(1)
    expect((await say(key, conv, 'two')).replies).toHaveLength(1)
    const third = await say(key, conv, 'three')
    expect(third).toMatchObject({ handoff: true, replies: [] })
    const r = await report(app, owner)
    expect([used(r, 'aiReplies'), used(r, 'messages')]).toEqual([2, 2])
  })

  it('one visitor cannot take more than the per-visitor daily cap of conversations', async () => {
    const owner = await newCustomer(app, { tier: 'business' })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const a = await startConversation(key)
    const visitor = { visitorId: a.visitorId, visitorSecret: a.visitorSecret as string }
    expect((await startConversation(key, visitor)).handoff).toBeUndefined()
    const third = await startConversation(key, visitor)
    expect(third.handoff).toBe(true)
    expect(await say(key, third, 'hello?')).toMatchObject({ handoff: true })
    // Another visitor is not affected.
    expect((await startConversation(key)).handoff).toBeUndefined()
    expect(used(await report(app, owner), 'conversations')).toBe(3)
  })

  it('a conversation flagged as abuse gives its usage back, once', async () => {
    const owner = await newCustomer(app, { tier: 'business' })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const conv = await startConversation(key)
    await say(key, conv, 'spam 1')
    await say(key, conv, 'spam 2')
    await startConversation(key)
    const before = await report(app, owner)
    expect([used(before, 'conversations'), used(before, 'messages'), used(before, 'aiReplies')]).toEqual([2, 2, 2])
    const flag = () => app.request(`/api/conversations/${conv.conversation.id}/flag`, { method: 'POST', token: owner.token })
    const res = await flag()
    expect(res.status).toBe(200)
    expect(((await res.json()) as { returned: unknown }).returned).toEqual({ conversations: 1, messages: 2, aiReplies: 2 })
    const after = await report(app, owner)
    expect([used(after, 'conversations'), used(after, 'messages'), used(after, 'aiReplies')]).toEqual([1, 0, 0])
    expect(((await (await flag()).json()) as { returned: unknown }).returned).toEqual({ conversations: 0, messages: 0, aiReplies: 0 })
    // It counts no more, and the engine no longer answers it.
    expect(await say(key, conv, 'spam 3')).toMatchObject({ handoff: true, replies: [] })
    expect(used(await report(app, owner), 'messages')).toBe(0)
    // Someone else's conversation, or none: 404.
    const other = await newCustomer(app, { tier: 'business' })
    expect((await app.request(`/api/conversations/${conv.conversation.id}/flag`, { method: 'POST', token: other.token })).status).toBe(404)
  })

  it('reports every quota with its period, forecast and a daily series', async () => {
    const owner = await newCustomer(app, { tier: 'starter', products: ['chatbot', 'sales-agent'] })
    const r = await report(app, owner)
    const period = periodOf({}, Date.now())
    expect(r.plan).toBe('starter')
    expect(r.quotas.map((q) => q.quota)).toEqual(['conversations', 'messages', 'aiReplies', 'apiCalls', 'enrichments', 'knowledgePages', 'products', 'seats'])
    expect(r.quotas.find((q) => q.quota === 'enrichments')).toMatchObject({ used: 0, limit: DEFAULT_PLANS.starter.quotas.enrichments, status: 'ok' })
    expect(r.quotas.find((q) => q.quota === 'products')).toMatchObject({ used: 2, limit: DEFAULT_PLANS.starter.quotas.products, status: 'ok' })
    expect(r.quotas.find((q) => q.quota === 'seats')).toMatchObject({ used: 1, limit: 1 })
    expect(r.quotas.find((q) => q.quota === 'conversations')).toMatchObject({
      used: 0,
      limit: DEFAULT_PLANS.starter.quotas.conversations,
      periodStart: period.start.toISOString(),
      periodEnd: period.end.toISOString(),
      forecast: 0,
      runsOutAt: null,
      status: 'ok',
    })
    expect(r.daily).toHaveLength(new Date().getUTCDate())
    expect(r.daily[0]).toEqual({ day: period.start.toISOString().slice(0, 10), conversations: 0, messages: 0, aiReplies: 0, apiCalls: 0, enrichments: 0 })
  })

  it('an upgrade lifts the limit at once, on every instance', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const key = await apiKey(app, owner, ['usage:read'])
    for (let i = 0; i < 10; i++) expect((await app.request('/api/usage', { token: key })).status).toBe(200)
    expect((await app.request('/api/usage', { token: key })).status).toBe(429)
    // Another instance on the same store changes the tier and drops the license's cached keys and sessions, as
    // every license change does.
    const other = await createTestApp({ store, sharedDeps: app.deps, env: { PLANS } })
    await other.deps.db.updateTable('licenses').set({ tier: 'enterprise' }).where('id', '=', owner.licenseId).execute()
    const lookups = await other.deps.db.selectFrom('api_keys').select('lookup').where('license_id', '=', owner.licenseId).execute()
    await other.keys.invalidate(lookups.map((l) => l.lookup))
    const sessions = await other.deps.db.selectFrom('sessions').select('id').where('license_id', '=', owner.licenseId).execute()
    await dropCachedSessions(
      other.deps,
      owner.licenseKey,
      sessions.map((s) => s.id),
    )
    await new Promise((r) => setTimeout(r, 50))
    expect((await app.request('/api/usage', { token: key })).status).toBe(200)
    expect((await report(app, owner)).plan).toBe('enterprise')
    await other.shutdown()
  })
})

describe('forecast and warnings', () => {
  // The 10th of November, noon: 9.5 days into a 30-day month.
  const clock = new ManualClock(Date.UTC(2026, 10, 10, 12))
  let app: TestApp

  beforeAll(async () => {
    // Sessions outlive the month this test crosses.
    app = await createTestApp({ clock, env: { SESSION_TTL_HOURS: String(24 * 60), PLANS: JSON.stringify({ starter: { quotas: { conversations: 200 } } }) } })
  })
  afterAll(async () => app.shutdown())

  it('periods are calendar months in UTC, or months from the license’s anchor', () => {
    expect(periodOf({}, Date.UTC(2026, 10, 30, 23, 59))).toEqual({ start: new Date(Date.UTC(2026, 10, 1)), end: new Date(Date.UTC(2026, 11, 1)) })
    expect(periodOf({}, Date.UTC(2026, 11, 31, 23))).toEqual({ start: new Date(Date.UTC(2026, 11, 1)), end: new Date(Date.UTC(2027, 0, 1)) })
    const anchor = new Date(Date.UTC(2026, 0, 31, 8))
    expect(periodOf({ periodAnchor: anchor }, Date.UTC(2026, 1, 15))).toEqual({ start: anchor, end: new Date(Date.UTC(2026, 1, 28, 8)) })
    expect(periodOf({ periodAnchor: anchor }, Date.UTC(2026, 2, 1))).toEqual({
      start: new Date(Date.UTC(2026, 1, 28, 8)),
      end: new Date(Date.UTC(2026, 2, 31, 8)),
    })
  })

  it('projects the period end from the pace so far, never over less than a day', () => {
    const period = periodOf({}, clock.now())
    // 100 in 9.5 days over a 30-day month: 100 / 9.5 × 30 ≈ 316; 200 is reached 19 days in, on the 20th.
    const f = forecastOf(100, 200, period, clock.now())
    expect(f.forecast).toBe(Math.round((100 / 9.5) * 30))
    expect(f.runsOutAt?.toISOString()).toBe(new Date(Date.UTC(2026, 10, 1) + 19 * 86_400_000).toISOString())
    expect(ordinalDay(f.runsOutAt as Date)).toBe('the 20th')
    // An hour into the month: 3 conversations are 3 per day at most, not 72.
    expect(forecastOf(3, 200, period, Date.UTC(2026, 10, 1, 1)).forecast).toBe(3 + Math.round((3 * (30 * 24 - 1)) / 24))
    expect(forecastOf(50, 200, period, clock.now()).runsOutAt).toBeNull()
    expect(forecastOf(200, 200, period, clock.now()).runsOutAt).toBeNull()
  })

  it('warns once per period each: when the forecast runs out early, at 80 % and at 100 %', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const subject: Subject = { licenseId: owner.licenseId, tier: 'starter' }
    const warnings = async () =>
      (await app.deps.db.selectFrom('events').select('data').where('license_id', '=', owner.licenseId).where('type', '=', 'usage.warning').execute()).map(
        (e) => e.data as { level: string; message: string; runsOutAt: string | null; used: number },
      )
    await app.usage.count(subject, { metrics: ['conversations'], cost: 100 })
    await app.usage.flush()
    expect(await warnings()).toEqual([
      expect.objectContaining({ level: 'forecast', used: 100, message: 'At this pace, conversations run out around the 20th', runsOutAt: expect.any(String) }),
    ])
    const r = (await (await app.request('/api/usage', { token: owner.token })).json()) as UsageReport
    expect(r.quotas[0]).toMatchObject({ quota: 'conversations', used: 100, forecast: 316, runsOutAt: new Date(Date.UTC(2026, 10, 20)).toISOString() })
    expect(r.daily).toHaveLength(10)
    expect(r.daily[9]).toMatchObject({ day: '2026-11-10', conversations: 100 })

    await app.usage.count(subject, { metrics: ['conversations'], cost: 60 })
    await app.usage.flush()
    await app.usage.count(subject, { metrics: ['conversations'], cost: 1 })
    await app.usage.flush()
    expect((await warnings()).map((w) => w.level).sort()).toEqual(['80', 'forecast'])
    await app.usage.count(subject, { metrics: ['conversations'], cost: 39 })
    await app.usage.flush()
    expect((await warnings()).map((w) => w.level).sort()).toEqual(['100', '80', 'forecast'])
    expect(await app.usage.count(subject, { metrics: ['conversations'] })).toMatchObject({ ok: false, quota: 'conversations', used: 200, limit: 200 })

    // Next month: a new period, fresh counters, and the warnings may come again.
    clock.advance(25 * 86_400_000)
    expect(await app.usage.count(subject, { metrics: ['conversations'] })).toEqual({ ok: true })
    const next = (await (await app.request('/api/usage', { token: owner.token })).json()) as UsageReport
    expect(next.quotas[0]).toMatchObject({ used: 1, periodStart: new Date(Date.UTC(2026, 11, 1)).toISOString() })
  })
})

describe('API calls counted in memory on a large quota', () => {
  // business: 2,000 API calls (a block of 2, counted in the cache at once in the last 8); enterprise keeps 25 million.
  const BEHIND = JSON.stringify({ business: { quotas: { apiCalls: 2_000 }, rates: { apiPerMinute: 100_000 } } })
  let store: TestStore
  let a: TestApp
  let b: TestApp

  beforeAll(async () => {
    store = await createStore()
    a = await createTestApp({ store, env: { PLANS: BEHIND } })
    b = await createTestApp({ store, sharedDeps: a.deps, env: { PLANS: BEHIND } })
  })
  afterAll(async () => {
    await b.shutdown()
    await a.shutdown()
    await store.drop()
  })

  const periodCount = async (app: TestApp, licenseId: string) =>
    Number((await app.deps.cache.get(`usage:${licenseId}:apiCalls:p:${periodOf({}, Date.now()).start.toISOString()}`)) ?? 0)
  /** `n` calls with `key`, `at` a time at once, alternating between the instances given; the statuses answered. */
  const calls = async (apps: TestApp[], key: string, n: number, at = 50) => {
    const statuses: number[] = []
    for (let i = 0; i < n; i += at) {
      const app = apps[(i / at) % apps.length] as TestApp
      const batch = await Promise.all(Array.from({ length: Math.min(at, n - i) }, () => app.request('/api/auth/me', { token: key })))
      statuses.push(...batch.map((r) => r.status))
    }
    return statuses
  }

  it('writes them to the cache within WRITE_BEHIND_MS, every one, in far fewer cache steps than calls', async () => {
    const owner = await newCustomer(a, { tier: 'enterprise' })
    const key = await apiKey(a, owner, ['usage:read'])
    // The first call of the period is counted in the cache (it learns the count), the next ones in memory.
    expect(await calls([a], key, 1)).toEqual([200])
    const meter = vi.spyOn(a.deps.cache, 'meter')
    try {
      const t = Date.now()
      expect(await calls([a], key, 59, 10)).toEqual(Array(59).fill(200))
      const writes = Math.ceil((Date.now() - t) / WRITE_BEHIND_MS) + 1
      await new Promise((r) => setTimeout(r, WRITE_BEHIND_MS * 3))
      expect(await periodCount(a, owner.licenseId)).toBe(60)
      // One cache step per WRITE_BEHIND_MS at most (each may seed its day's counter once: two calls), not one per call.
      expect(meter.mock.calls.length).toBeLessThanOrEqual(Math.min(2 * writes, 20))
    } finally {
      meter.mockRestore()
    }
    // The owner's figures count them all, and so does Postgres after a flush.
    expect(used(await report(a, owner), 'apiCalls')).toBe(60)
    await a.usage.flush()
    expect(await storedPeriod(a, owner.licenseId, 'apiCalls')).toBe(60)
  })

  it('keeps answering while the cache is unreachable, and writes the calls it held once it is back', async () => {
    const owner = await newCustomer(a, { tier: 'business' })
    const key = await apiKey(a, owner, ['usage:read'])
    expect(await calls([a], key, 1)).toEqual([200])
    const down = vi.spyOn(a.deps.cache, 'meter').mockResolvedValue({ outcome: 'unavailable' })
    try {
      // One at a time: the first two are held (a block), the next find the block full and unwritable and are
      // answered like any call while the cache is away (admitted, not counted).
      expect(await calls([a], key, 10, 1)).toEqual(Array(10).fill(200))
    } finally {
      down.mockRestore()
    }
    await a.usage.writeAllBehind(owner.licenseId)
    expect(await periodCount(a, owner.licenseId)).toBe(3)
  })

  it('near the quota counts each call in the cache at once: exactly the quota on one instance, at most a block more on two', async () => {
    const one = await newCustomer(a, { tier: 'business' })
    const alone = await calls([a], await apiKey(a, one, ['usage:read']), 2_020)
    expect(alone.filter((s) => s === 200)).toHaveLength(2_000)
    expect(alone.filter((s) => s === 429)).toHaveLength(20)
    expect(await periodCount(a, one.licenseId)).toBe(2_000)

    const two = await newCustomer(a, { tier: 'business' })
    const both = await calls([a, b], await apiKey(a, two, ['usage:read']), 2_020)
    const admitted = both.filter((s) => s === 200).length
    expect(admitted).toBeGreaterThanOrEqual(2_000)
    expect(admitted).toBeLessThanOrEqual(2_002)
    await Promise.all([a.usage.flush(), b.usage.flush()])
    expect(await periodCount(a, two.licenseId)).toBe(admitted)
  })
})
