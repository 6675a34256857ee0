// The plan's enrichments quota: POST /api/enrich and /api/enrich/batch count their items in one step and refuse a
// request that does not fit whole, a retried Idempotency-Key counts once, and automatic lead enrichment counts one
// per lead and keeps a lead captured past the quota unenriched.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { periodOf } from '../usage/period.js'
import type { UsageReport } from '../usage/report.js'
import { enrichLead } from './enricher.js'
import type { EnrichResult } from './service.js'

const ORIGIN = 'https://shop.example.com'
const PLANS = JSON.stringify({ professional: { quotas: { enrichments: 5 } }, business: { quotas: { enrichments: 1 } } })

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> }
}

describe('enrichments quota', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await createTestApp({ env: { PLANS } })
  })
  afterAll(async () => app?.shutdown())

  const post = (c: Customer, path: string, json: unknown, idem?: string) =>
    app.request(path, { method: 'POST', token: c.token, json, ...(idem ? { headers: { 'idempotency-key': idem } } : {}) })
  const batch = (n: number, tag = 'x') => ({ items: Array.from({ length: n }, (_, i) => ({ domain: `${tag}${i}.com` })) })
  const report = async (c: Customer): Promise<UsageReport> => {
    const res = await app.request('/api/usage', { token: c.token })
    expect(res.status).toBe(200)
    return (await res.json()) as UsageReport
  }
  const enrichments = async (c: Customer) => (await report(c)).quotas.find((q) => q.quota === 'enrichments')

  it('counts a single item and each valid batch item, in the usage report and its daily series', async () => {
    const owner = await newCustomer(app)
    const { key } = await configure(app, owner, 'data-enrichment')
    expect((await post({ ...owner, token: key }, '/api/enrich', { domain: 'acme.com' })).status).toBe(200)
    const res = await post(owner, '/api/enrich/batch', { items: [{ domain: 'a.com' }, { nope: 1 }, { domain: 'b.com' }] })
    expect(res.status).toBe(200)
    const r = await report(owner)
    expect(r.quotas.find((q) => q.quota === 'enrichments')).toMatchObject({ used: 3, limit: 5, status: 'ok' })
    expect(r.daily.at(-1)?.enrichments).toBe(3)
    // A batch of only invalid items enriches nothing and counts nothing.
    expect((await post(owner, '/api/enrich/batch', { items: [{ nope: 1 }] })).status).toBe(200)
    expect((await enrichments(owner))?.used).toBe(3)
  })

  it('refuses a batch that does not fit whole (429 quota_exceeded, nothing enriched), then a single one at the quota', async () => {
    const owner = await newCustomer(app)
    expect((await post(owner, '/api/enrich/batch', batch(3))).status).toBe(200)
    const over = await post(owner, '/api/enrich/batch', batch(3, 'y'))
    expect(over.status).toBe(429)
    const periodEnd = periodOf({}, app.clock.now()).end.toISOString()
    const body = (await over.json()) as ErrorBody & { results?: unknown }
    expect(body.results).toBeUndefined()
    expect(body.error.code).toBe('quota_exceeded')
    expect(body.error.message).toContain('enrichments quota (5 per billing period) has 2 left and this request needs 3')
    expect(body.error.details).toEqual({ quota: 'enrichments', used: 3, limit: 5, resetsAt: periodEnd })
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(over.headers.get('x-should-retry')).toBe('false')
    // Nothing of the refused batch was counted: exactly the 2 left still fit.
    expect((await enrichments(owner))?.used).toBe(3)
    expect((await post(owner, '/api/enrich/batch', batch(2, 'z'))).status).toBe(200)
    const single = await post(owner, '/api/enrich', { domain: 'acme.com' })
    expect(single.status).toBe(429)
    expect(((await single.json()) as ErrorBody).error.message).toContain('enrichments quota (5 per billing period) is used up')
    expect(await enrichments(owner)).toMatchObject({ used: 5, status: 'exceeded' })
    // The flush sends the 100 % warning for the new quota like for every other.
    await app.usage.flush()
    const warnings = await app.deps.db
      .selectFrom('events')
      .select('data')
      .where('license_id', '=', owner.licenseId)
      .where('type', '=', 'usage.warning')
      .execute()
    expect(warnings.map((w) => w.data)).toContainEqual(expect.objectContaining({ quota: 'enrichments', level: '100', used: 5, limit: 5 }))
  })

  it('counts a retried request with the same Idempotency-Key once, even when its first answer was lost', async () => {
    const owner = await newCustomer(app)
    const idemKeys: string[] = []
    const cache = app.deps.cache
    const setIfAbsent = cache.setIfAbsent.bind(cache)
    const spy = vi.spyOn(cache, 'setIfAbsent').mockImplementation(async (key, value, ttl) => {
      if (key.includes(':idem:')) idemKeys.push(key)
      return setIfAbsent(key, value, ttl)
    })
    try {
      expect((await post(owner, '/api/enrich/batch', batch(2), 'batch-once')).status).toBe(200)
      // The stored answer is gone (as if the server died after counting, before keeping it): the retry runs again.
      expect(idemKeys).toHaveLength(1)
      await app.deps.cache.del(...idemKeys)
      const retry = await post(owner, '/api/enrich/batch', batch(2), 'batch-once')
      expect(retry.status).toBe(200)
      expect(retry.headers.get('idempotent-replayed')).toBeNull()
      expect((await enrichments(owner))?.used).toBe(2)
      // A replayed answer counts nothing either; a new key counts again.
      expect((await post(owner, '/api/enrich/batch', batch(2), 'batch-once')).headers.get('idempotent-replayed')).toBe('true')
      expect((await enrichments(owner))?.used).toBe(2)
      expect((await post(owner, '/api/enrich/batch', batch(2), 'batch-twice')).status).toBe(200)
      expect((await enrichments(owner))?.used).toBe(4)
    } finally {
      spy.mockRestore()
    }
  })

  it('counts one per lead; past the quota a lead is kept unenriched, with no lead.enriched', async () => {
    // business has 1 enrichment here.
    const seller = await newCustomer(app, { tier: 'business' })
    const { key } = await configure(app, seller, 'sales-agent', { allowedOrigins: [ORIGIN] })
    const widget = { 'x-product-key': key, origin: ORIGIN }
    const capture = async (email: string): Promise<string> => {
      const started = await app.request('/api/widget/conversations', { method: 'POST', headers: widget, json: { pageUrl: 'https://shop.example.com/' } })
      const { conversation, visitorToken } = (await started.json()) as { conversation: { id: string }; visitorToken: string }
      const lead = await app.request('/api/widget/leads', {
        method: 'POST',
        headers: widget,
        token: visitorToken,
        json: { conversationId: conversation.id, name: 'Lead', email, consent: true },
      })
      expect(lead.status).toBe(201)
      return ((await lead.json()) as { lead: { id: string } }).lead.id
    }
    const first = await capture('ann@hooli-labs.com')
    await app.jobs.idle()
    const second = await capture('bob@pied-piper.com')
    await app.jobs.idle()

    const list = (await (await app.request('/api/products/sales-agent/leads', { token: seller.token })).json()) as {
      leads: { id: string; email: string; enrichment: EnrichResult | null; enrichedAt: string | null }[]
    }
    const byId = new Map(list.leads.map((l) => [l.id, l]))
    expect(byId.get(first)?.enrichment).toMatchObject({ domain: 'hooli-labs.com' })
    // Kept as captured: listed, with its email, not enriched.
    expect(byId.get(second)).toMatchObject({ email: 'bob@pied-piper.com', enrichment: null, enrichedAt: null })
    const events = await app.deps.db
      .selectFrom('events')
      .select('data')
      .where('license_id', '=', seller.licenseId)
      .where('type', '=', 'lead.enriched')
      .execute()
    expect(events.map((e) => (e.data as { leadId: string }).leadId)).toEqual([first])
    expect(await enrichments(seller)).toMatchObject({ used: 1, limit: 1, status: 'exceeded' })

    // The consumer running again for a lead (a retried job) counts nothing more: the lead id is the dedupe id.
    expect(await enrichLead(app.deps, app.usage, first)).toMatchObject({ domain: 'hooli-labs.com' })
    expect(await enrichLead(app.deps, app.usage, second)).toBeNull()
    expect((await enrichments(seller))?.used).toBe(1)
  })
})
