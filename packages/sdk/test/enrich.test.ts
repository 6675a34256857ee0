// enrich.one / enrich.batch and enriched leads through the SDK, against the real server app in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { AuthenticationError, ENRICH_BATCH_LIMIT, Intelagent, isEnrichError, PermissionError, ValidationError } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (options: { apiKey?: string; token?: string; productKey?: string; headers?: Record<string, string> }) =>
  new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0, ...options })

beforeAll(async () => {
  app = await createTestApp()
})
afterAll(async () => {
  await app?.shutdown()
})

describe('SDK enrichment against the real server', () => {
  it('enriches one item and a batch with a data_ key; invalid items come back as errors in place', async () => {
    const owner = await newCustomer(app)
    const { key } = await configure(app, owner, 'data-enrichment')
    const sdk = client({ apiKey: key })

    const one = await sdk.enrich.one({ email: 'lee@stripe.com', pageUrl: 'https://shop.example.com/?utm_source=google&utm_medium=cpc' })
    expect(one).toMatchObject({
      domain: 'stripe.com',
      company: { name: 'Stripe', basis: 'known' },
      source: { channel: 'paid', utm: { source: 'google', medium: 'cpc' } },
    })
    expect(one.score).toBeGreaterThan(50)
    expect(one.reasons.length).toBeGreaterThan(0)

    const results = await sdk.enrich.batch([{ email: 'a@gmail.com' }, { email: 'broken' }, { domain: 'acme.com' }])
    expect(results.map(isEnrichError)).toEqual([false, true, false])
    const [free, bad, acme] = results
    expect(free && !isEnrichError(free) && free.freeMail).toBe(true)
    expect(bad && isEnrichError(bad) && bad.error.code).toBe('validation_failed')
    expect(acme && !isEnrichError(acme) && acme.company?.name).toBe('Acme')

    await expect(sdk.enrich.batch(Array.from({ length: ENRICH_BATCH_LIMIT + 1 }, () => ({ domain: 'acme.com' })))).rejects.toBeInstanceOf(RangeError)
    await expect(sdk.enrich.one({})).rejects.toBeInstanceOf(ValidationError)
  })

  it('refuses a key of another kind and no key at all with the SDK error classes', async () => {
    const owner = await newCustomer(app)
    const agnt = await configure(app, owner, 'setup-agent')
    await expect(client({ apiKey: agnt.key }).enrich.one({ domain: 'acme.com' })).rejects.toBeInstanceOf(PermissionError)
    await expect(client({}).enrich.one({ domain: 'acme.com' })).rejects.toBeInstanceOf(AuthenticationError)
  })

  it('lists leads with their enrichment', async () => {
    const owner = await newCustomer(app)
    const origin = 'https://shop.example.com'
    const { key } = await configure(app, owner, 'sales-agent', { allowedOrigins: [origin] })
    const visitor = client({ productKey: key, headers: { origin } })
    await visitor.widget.createLead({ name: 'Kim', email: 'kim@initech-systems.com', consent: true })
    await app.jobs.idle()
    const page = await client({ token: owner.token }).leads.list({ product: 'sales-agent' })
    expect(page.data[0]?.enrichment).toMatchObject({ domain: 'initech-systems.com', company: { name: 'Initech Systems', basis: 'guessed' }, freeMail: false })
    expect(page.data[0]?.enrichedAt).toEqual(expect.any(String))
  })
})
