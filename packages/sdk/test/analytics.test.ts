// analytics.get and analytics.exportCsv through the SDK, against the real server app in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { Intelagent, PermissionError, ValidationError } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (options: { apiKey?: string; token?: string }) =>
  new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0, ...options })
const ORIGIN = 'https://shop.example.com'

beforeAll(async () => {
  app = await createTestApp()
})
afterAll(async () => {
  await app?.shutdown()
})

describe('SDK analytics', () => {
  it('reads the daily figures and the CSV; an API key needs analytics:read; a bad range is a 400', async () => {
    const owner = await newCustomer(app, { products: ['chatbot'] })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': key, origin: ORIGIN }, json: {} })
    expect(started.status).toBe(201)
    await app.jobs.idle()

    const sdk = client({ token: owner.token })
    const today = new Date().toISOString().slice(0, 10)
    const report = await sdk.analytics.get({ product: 'chatbot', from: today, to: today })
    expect(report.days).toEqual([expect.objectContaining({ day: today, conversations: 1 })])
    expect(report.totals.conversations).toBe(1)
    const csv = await sdk.analytics.exportCsv({ product: 'chatbot', from: today, to: today })
    expect(csv.split('\r\n')[0]).toMatch(/^day,conversations,messages,/)
    expect(csv.split('\r\n')[1]).toMatch(new RegExp(`^${today},1,`))

    const bad = await sdk.analytics.get({ from: today, to: '2000-01-01' }).catch((e: unknown) => e)
    expect(bad).toMatchObject({ status: 400, code: 'invalid_range' })
    expect(bad).toBeInstanceOf(ValidationError)

    const scoped = await sdk.apiKeys.create({ name: 'analytics', scopes: ['analytics:read'] })
    expect((await client({ apiKey: scoped.key }).analytics.get()).days).toHaveLength(30)
    const other = await sdk.apiKeys.create({ name: 'usage only', scopes: ['usage:read'] })
    await expect(client({ apiKey: other.key }).analytics.get()).rejects.toBeInstanceOf(PermissionError)
  })
})
