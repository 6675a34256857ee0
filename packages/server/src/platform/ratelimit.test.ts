import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, newCustomer } from '../../test/fixtures.js'
import { createStore, createTestApp, ManualClock, type TestApp, type TestStore } from '../../test/harness.js'
import { RedisCache } from './cache.js'
import { createLogger } from './logger.js'
import { DEFAULT_PLANS } from './plans.js'

const STARTER = DEFAULT_PLANS.starter.rates.apiPerMinute

/** Redis windows follow wall-clock minutes: start a burst well inside one so it cannot straddle two. */
async function awayFromWindowEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 8_000) await new Promise((r) => setTimeout(r, left + 100))
}

describe('per-license rate limits', () => {
  let store: TestStore
  let one: TestApp
  let two: TestApp
  const clock = new ManualClock(Date.now())
  const env = { JWT_SECRET: randomBytes(32).toString('base64url'), KEY_PEPPER: randomBytes(32).toString('base64url') }

  beforeAll(async () => {
    store = await createStore()
    one = await createTestApp({ store, env, clock })
    two = await createTestApp({ store, env, clock, sharedDeps: one.deps })
  })
  afterAll(async () => {
    await two.shutdown()
    await one.shutdown()
    await store.drop()
  })

  it('reports RateLimit-Policy and RateLimit on every answer, and answers the (limit+1)th with 429 rate_limited and Retry-After', async () => {
    const customer = await newCustomer(one, { tier: 'starter', products: ['chatbot'] })
    await awayFromWindowEdge()
    for (let i = 1; i <= STARTER; i++) {
      const res = await one.request('/api/products/keys', { token: customer.token })
      expect(res.status, `request ${i}`).toBe(200)
      expect(res.headers.get('ratelimit-policy')).toBe(`"license";q=${STARTER};w=60`)
      const rl = res.headers.get('ratelimit') ?? ''
      expect(rl).toMatch(new RegExp(`^"license";r=${STARTER - i};t=\\d+$`))
    }
    const limited = await one.request('/api/products/keys', { token: customer.token })
    expect(limited.status).toBe(429)
    const body = (await limited.json()) as { error: { code: string; requestId: string } }
    expect(body.error.code).toBe('rate_limited')
    expect(body.error.requestId).toBeTruthy()
    const retry = Number(limited.headers.get('retry-after'))
    expect(retry).toBeGreaterThanOrEqual(1)
    expect(retry).toBeLessThanOrEqual(60)
    expect(limited.headers.get('ratelimit-policy')).toBe(`"license";q=${STARTER};w=60`)
    expect(limited.headers.get('ratelimit')).toMatch(/r=0/)
    // Other routes of the same license share the budget; another license does not.
    expect((await one.request('/api/audit', { token: customer.token })).status).toBe(429)
    const other = await newCustomer(one, { tier: 'starter', products: ['chatbot'] })
    expect((await one.request('/api/products/keys', { token: other.token })).status).toBe(200)
  })

  it('never admits more than the limit across two instances firing 2×limit requests at once', async () => {
    const customer: Customer = await newCustomer(one, { tier: 'starter', products: ['chatbot'] })
    await awayFromWindowEdge()
    const responses = await Promise.all(
      Array.from({ length: 2 * STARTER }, (_, i) => (i % 2 === 0 ? one : two).request('/api/products/keys', { token: customer.token })),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(STARTER)
    expect(statuses.filter((s) => s === 429)).toHaveLength(STARTER)
  })
})

describe('with Redis unreachable', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await createTestApp({
      // A closed port: every call fails, the way a Redis outage looks to the server.
      cache: (config, clock) =>
        new RedisCache({ url: 'redis://127.0.0.1:1', prefix: config.redisPrefix, clock, logger: createLogger('silent'), instanceCount: 2 }),
    })
  })
  afterAll(async () => app.shutdown())

  it('keeps serving with the local limiter (limit ÷ instances) and reports degraded in /readyz', async () => {
    const customer = await newCustomer(app, { tier: 'starter', products: ['chatbot', 'data-enrichment'] })
    // The local limiter's windows are wall-clock minutes too: a burst straddling two would see a fresh budget.
    await awayFromWindowEdge()
    expect((await app.request('/api/auth/me', { token: customer.token })).status).toBe(200)
    const configured = await app.request('/api/products/data-enrichment/configure', { method: 'POST', token: customer.token })
    expect(configured.status).toBe(201)
    const { key } = (await configured.json()) as { key: string }
    expect((await app.keys.resolve(key)).licenseId).toBe(customer.licenseId)

    const ready = await app.request('/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'degraded', postgres: 'up', redis: 'down' })

    const budget = Math.floor(STARTER / 2)
    let admitted = 2 // /me and configure above
    let first429: Response | undefined
    for (let i = 0; i < budget + 5 && !first429; i++) {
      const res = await app.request('/api/products/keys', { token: customer.token })
      if (res.status === 429) first429 = res
      else {
        expect(res.status).toBe(200)
        expect(res.headers.get('ratelimit-policy')).toBe(`"license";q=${budget};w=60`)
        admitted++
      }
    }
    expect(first429).toBeDefined()
    expect(admitted).toBe(budget)
    expect(((await first429!.json()) as { error: { code: string } }).error.code).toBe('rate_limited')
  })
})
