// POST /api/enrich and /api/enrich/batch over HTTP: who may call them, what bad input answers, batch limits, the
// firmographics webhook (a real local server) merging and failing, usage counting, and leads enriched on capture.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { delay, type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { verifyIntelagent } from '../platform/signature.js'
import type { EnrichResult } from './service.js'

const ORIGIN = 'https://shop.example.com'
const SECRET = 'firmographics-secret-0123456789'
const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'

interface ErrorBody {
  error: { code: string; message: string }
}
type ItemOrError = EnrichResult | ErrorBody

describe('enrichment API', () => {
  let hook: FakeHost
  let app: TestApp
  let owner: Customer
  let dataKey: string

  const enrich = (token: string | undefined, body: unknown, path = '/api/enrich') =>
    app.request(path, { method: 'POST', json: body, ...(token ? { token } : {}) })
  const code = async (res: Response) => ((await res.json()) as ErrorBody).error.code

  beforeAll(async () => {
    hook = await fakeHost()
    app = await createTestApp({ env: { OUTBOUND_ALLOW_HOSTS: hook.hostPort } })
    owner = await newCustomer(app)
    dataKey = (await configure(app, owner, 'data-enrichment')).key
  })
  afterAll(async () => {
    await app?.shutdown()
    await hook?.close()
  })
  beforeEach(() => hook.reset())

  it('enriches one item with a data_ key: company, flags, country, device, source with utm values, score and reasons', async () => {
    const res = await enrich(dataKey, {
      email: 'maria@globex-industries.com',
      ip: '81.2.69.160',
      userAgent: CHROME,
      pageUrl: 'https://shop.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=autumn',
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as EnrichResult
    expect(body).toEqual({
      domain: 'globex-industries.com',
      company: { name: 'Globex Industries', domain: 'globex-industries.com', basis: 'guessed' },
      freeMail: false,
      disposable: false,
      roleAddress: false,
      country: 'GB',
      device: 'desktop',
      browser: 'Chrome 126',
      os: 'macOS',
      source: { channel: 'email', referrer: null, utm: { source: 'newsletter', medium: 'email', campaign: 'autumn' }, clickId: null },
      score: 85,
      reasons: [
        'Business email domain globex-industries.com (+25)',
        'Company name “Globex Industries” is a guess from the domain, not verified',
        'IP address located in GB (+5)',
        'Arrived through email (newsletter) (+5)',
      ],
    })
  })

  it('answers the same for the same input, with a session and with an intl_sk_ key holding enrichment:write', async () => {
    const input = { email: 'sales@initech.io', userAgent: CHROME, referrer: 'https://www.linkedin.com/' }
    const created = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'enrich', scopes: ['enrichment:write'] } })
    expect(created.status).toBe(201)
    const apiKey = ((await created.json()) as { key: string }).key
    const answers = []
    for (const token of [dataKey, owner.token, apiKey, dataKey]) {
      const res = await enrich(token, input)
      expect(res.status).toBe(200)
      answers.push(await res.json())
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1)
    expect(answers[0]).toMatchObject({ roleAddress: true, source: { channel: 'social', referrer: 'www.linkedin.com' } })
  })

  it('refuses bad input with 422: unknown fields, no field at all, a malformed email, IP or URL', async () => {
    for (const body of [
      { email: 'a@b.com', isAdmin: true },
      {},
      { email: '' },
      { email: 'not-an-email' },
      { ip: '999.1.1.1' },
      { pageUrl: 'not a url' },
      { domain: 'a b' },
    ]) {
      const res = await enrich(dataKey, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(await code(res)).toBe('validation_failed')
    }
  })

  it('refuses keys of the wrong kind (403 insufficient_scope), no key (401), and a license that did not buy enrichment', async () => {
    const agnt = await configure(app, owner, 'setup-agent')
    const res = await enrich(agnt.key, { domain: 'acme.com' })
    expect(res.status).toBe(403)
    expect(await code(res)).toBe('insufficient_scope')
    const created = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'read only', scopes: ['leads:read'] } })
    const readOnly = ((await created.json()) as { key: string }).key
    const scoped = await enrich(readOnly, { domain: 'acme.com' }, '/api/enrich/batch')
    expect(scoped.status).toBe(403)
    expect(await code(scoped)).toBe('insufficient_scope')
    // A publishable key is not a credential for the management API at all.
    const chat = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const publishable = await enrich(chat.key, { domain: 'acme.com' })
    expect(publishable.status).toBe(401)

    for (const path of ['/api/enrich', '/api/enrich/batch']) {
      const none = await enrich(undefined, { domain: 'acme.com' }, path)
      expect(none.status).toBe(401)
      expect(await code(none)).toBe('unauthorized')
    }
    const chatOnly = await newCustomer(app, { products: ['chatbot'] })
    const notBought = await enrich(chatOnly.token, { domain: 'acme.com' })
    expect(notBought.status).toBe(403)
    expect(await code(notBought)).toBe('product_not_purchased')
  })

  it('enriches a batch in order with per-item errors, and refuses more than 100 items', async () => {
    const res = await enrich(dataKey, { items: [{ email: 'a@gmail.com' }, { email: 'nope' }, 'a string', { domain: 'acme.com' }, {}] }, '/api/enrich/batch')
    expect(res.status).toBe(200)
    const { results } = (await res.json()) as { results: ItemOrError[] }
    expect(results).toHaveLength(5)
    expect(results[0]).toMatchObject({ domain: 'gmail.com', freeMail: true })
    expect(results[1]).toMatchObject({ error: { code: 'validation_failed', message: expect.stringContaining('email') } })
    expect(results[2]).toMatchObject({ error: { code: 'validation_failed' } })
    expect(results[3]).toMatchObject({ domain: 'acme.com', company: { name: 'Acme' } })
    expect(results[4]).toMatchObject({ error: { code: 'validation_failed', message: expect.stringContaining('at least one') } })
    // Each item answers as it would alone.
    expect(results[3]).toEqual(await (await enrich(dataKey, { domain: 'acme.com' })).json())

    const full = await enrich(dataKey, { items: Array.from({ length: 100 }, (_, i) => ({ domain: `company${i}.com` })) }, '/api/enrich/batch')
    expect(full.status).toBe(200)
    expect(((await full.json()) as { results: unknown[] }).results).toHaveLength(100)
    for (const items of [Array.from({ length: 101 }, () => ({ domain: 'acme.com' })), []]) {
      const refused = await enrich(dataKey, { items }, '/api/enrich/batch')
      expect(refused.status).toBe(422)
      expect(await code(refused)).toBe('validation_failed')
    }
  })

  it('counts every enriched item against the plan’s enrichments quota (src/enrichment/quota.test.ts has the limits)', async () => {
    const customer = await newCustomer(app)
    const enrichments = async () => {
      const usage = (await (await app.request('/api/usage', { token: customer.token })).json()) as { quotas: { quota: string; used: number }[] }
      return usage.quotas.find((q) => q.quota === 'enrichments')?.used
    }
    expect(await enrichments()).toBe(0)
    await enrich(customer.token, { domain: 'acme.com' })
    await enrich(customer.token, { items: [{ domain: 'a.com' }, { domain: 'b.com' }, { nope: 1 }] }, '/api/enrich/batch')
    // Only valid items are enriched, so only they count.
    expect(await enrichments()).toBe(3)
  })

  describe('firmographics webhook', () => {
    let customer: Customer
    const setHook = async (c: Customer, enrichment: unknown) => {
      const res = await app.request('/api/products/data-enrichment/settings', { method: 'PATCH', token: c.token, json: { enrichment } })
      expect(res.status, await res.clone().text()).toBe(200)
    }

    beforeAll(async () => {
      customer = await newCustomer(app)
      await setHook(customer, { webhookUrl: `${hook.origin}/firmographics`, timeoutMs: 300 })
    })

    it('refuses a webhook URL inside the wall when it is saved', async () => {
      const res = await app.request('/api/products/data-enrichment/settings', {
        method: 'PATCH',
        token: customer.token,
        json: { enrichment: { webhookUrl: 'http://169.254.169.254/latest/meta-data' } },
      })
      expect(res.status).toBe(400)
      expect(await code(res)).toBe('url_not_allowed')
    })

    it('is not called without a signing secret, and the reasons say why', async () => {
      const res = await enrich(customer.token, { email: 'ceo@umbrella-corp.com' })
      expect(hook.hits).toBe(0)
      expect(((await res.json()) as EnrichResult).reasons).toContain(
        'Firmographics webhook not called: set a webhook_signing_secret for data-enrichment first (calls are always signed)',
      )
    })

    it('merges a signed answer into company, once per domain per batch, and skips free-mail domains', async () => {
      const put = await app.request('/api/products/data-enrichment/secrets/webhook_signing_secret', {
        method: 'PUT',
        token: customer.token,
        json: { value: SECRET },
      })
      expect(put.status).toBe(200)
      const seen: { domain: string; licenseId: string }[] = []
      hook.on('POST', '/firmographics', async ({ request }) => {
        const raw = await request.text()
        verifyIntelagent(SECRET, request.headers.get('x-intelagent-signature') ?? undefined, raw, Date.now())
        const body = JSON.parse(raw) as { domain: string; licenseId: string }
        seen.push(body)
        return Response.json({ company: { name: 'Umbrella Corporation', industry: 'Pharmaceuticals', employees: 5000, country: 'us', secretField: 'dropped' } })
      })
      const res = await enrich(
        customer.token,
        { items: [{ email: 'ceo@umbrella-corp.com' }, { email: 'cfo@umbrella-corp.com' }, { email: 'jo@gmail.com' }] },
        '/api/enrich/batch',
      )
      const { results } = (await res.json()) as { results: EnrichResult[] }
      expect(seen).toEqual([{ event: 'enrichment.lookup', licenseId: customer.licenseId, domain: 'umbrella-corp.com' }])
      expect(results[0]?.company).toEqual({
        name: 'Umbrella Corporation',
        domain: 'umbrella-corp.com',
        basis: 'webhook',
        industry: 'Pharmaceuticals',
        employees: 5000,
        country: 'US',
      })
      expect(results[0]?.reasons).toContain('Known company: Umbrella Corporation, from your firmographics webhook (+15)')
      expect(results[0]?.score).toBe(90)
      expect(results[1]?.company?.name).toBe('Umbrella Corporation')
      expect(results[2]?.company).toBeNull()
    })

    it('never fails the enrichment when the webhook fails: an error status, a bad answer, a timeout, a dropped connection', async () => {
      const offline = (await (await enrich(dataKey, { email: 'ceo@umbrella-corp.com' })).json()) as EnrichResult
      const failures: [string, () => Response | Promise<Response>, string][] = [
        ['500', () => new Response('boom', { status: 500 }), 'it answered HTTP 500'],
        ['not json', () => new Response('<html>', { status: 200 }), 'its answer is not JSON'],
        ['wrong types', () => Response.json({ name: 42 }), 'its answer does not match the firmographics fields'],
        [
          'slow',
          async () => {
            await delay(1500)
            return Response.json({ name: 'Too late' })
          },
          'did not answer within 300 ms',
        ],
      ]
      for (const [label, answer, reason] of failures) {
        hook.reset()
        hook.on('POST', '/firmographics', () => answer())
        const res = await enrich(customer.token, { email: 'ceo@umbrella-corp.com' })
        expect(res.status, label).toBe(200)
        const body = (await res.json()) as EnrichResult
        expect(body.company, label).toEqual(offline.company)
        expect(body.score, label).toBe(offline.score)
        expect(body.reasons, label).toEqual([...offline.reasons, `Firmographics webhook failed (${reason}): offline result only`])
      }
      hook.reset()
      hook.on('POST', '/firmographics', ({ destroy }) => {
        destroy()
        return new Response(null)
      })
      const dropped = (await (await enrich(customer.token, { email: 'ceo@umbrella-corp.com' })).json()) as EnrichResult
      expect(dropped.reasons.at(-1)).toBe('Firmographics webhook failed (it could not be reached): offline result only')
    })
  })

  describe('leads', () => {
    it('enriches a lead on capture from its page, referrer, user agent and network, and shows it to the owner only', async () => {
      const seller = await newCustomer(app)
      const other = await newCustomer(app)
      const key = (await configure(app, seller, 'sales-agent', { allowedOrigins: [ORIGIN] })).key
      const widget = { 'x-product-key': key, origin: ORIGIN, 'user-agent': CHROME, 'x-forwarded-for': '81.2.69.160' }
      const started = await app.request('/api/widget/conversations', {
        method: 'POST',
        headers: widget,
        json: { pageUrl: 'https://shop.example.com/demo?utm_source=google&utm_medium=cpc&utm_campaign=brand' },
      })
      const { conversation, visitorToken } = (await started.json()) as { conversation: { id: string }; visitorToken: string }
      const lead = await app.request('/api/widget/leads', {
        method: 'POST',
        headers: widget,
        token: visitorToken,
        json: { conversationId: conversation.id, name: 'Ann', email: 'ann@hooli-labs.com', consent: true, referrer: 'https://www.google.com/' },
      })
      expect(lead.status).toBe(201)
      const leadId = ((await lead.json()) as { lead: { id: string } }).lead.id
      await app.jobs.idle()

      // Only the network of the visitor's address is kept.
      const row = await app.deps.db.selectFrom('leads').select(['ip_network', 'page_url', 'user_agent']).where('id', '=', leadId).executeTakeFirstOrThrow()
      expect(row).toEqual({
        ip_network: '81.2.69.0',
        page_url: 'https://shop.example.com/demo?utm_source=google&utm_medium=cpc&utm_campaign=brand',
        user_agent: CHROME,
      })

      const list = (await (await app.request('/api/products/sales-agent/leads', { token: seller.token })).json()) as {
        leads: { id: string; enrichment: EnrichResult | null; enrichedAt: string | null }[]
      }
      const shown = list.leads.find((l) => l.id === leadId)
      expect(shown?.enrichedAt).toEqual(expect.any(String))
      expect(shown?.enrichment).toMatchObject({
        domain: 'hooli-labs.com',
        company: { name: 'Hooli Labs', basis: 'guessed' },
        country: 'GB',
        device: 'desktop',
        source: { channel: 'paid', referrer: 'www.google.com', utm: { source: 'google', medium: 'cpc', campaign: 'brand' } },
        score: 85,
      })
      // The lead.created consumer wrote a lead.enriched event with it, in the enrichment's own transaction.
      const enriched = await app.deps.db.selectFrom('events').selectAll().where('type', '=', 'lead.enriched').execute()
      const mine = enriched.filter((e) => (e.data as { leadId: string }).leadId === leadId)
      expect(mine).toHaveLength(1)
      expect((mine[0]?.data as { enrichment?: { domain: string } } | undefined)?.enrichment?.domain).toBe('hooli-labs.com')
      // The same as asking the API with the same inputs.
      const direct = await enrich(dataKey, {
        email: 'ann@hooli-labs.com',
        ip: '81.2.69.0',
        userAgent: CHROME,
        referrer: 'https://www.google.com/',
        pageUrl: row.page_url ?? '',
      })
      expect(shown?.enrichment).toEqual(await direct.json())

      const theirs = (await (await app.request('/api/products/sales-agent/leads', { token: other.token })).json()) as { leads: unknown[] }
      expect(theirs.leads).toEqual([])
    })
  })
})
