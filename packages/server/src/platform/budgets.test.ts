// Two budgets per license: the widget's visitors cannot 429 the owner's API and the owner cannot 429 the widget;
// and a request that fails authentication charges neither.
import { randomUUID } from 'node:crypto'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, countScriptCalls, newCustomer, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { signSession } from '../account/tokens.js'
import { KEY_LIMIT_PER_MINUTE, VISITOR_IP_LIMIT_PER_MINUTE } from '../keys/widget-auth.js'
import { MESSAGE_LIMIT_PER_VISITOR_MINUTE } from '../widget/routes.js'
import { DEFAULT_PLANS } from './plans.js'

const ORIGIN = 'https://shop.example.com'
/** RATE_LIMIT_SCALE for this file: every budget a fifth of its size, so the bursts stay short. */
const SCALE = 0.2
const API = Math.floor(DEFAULT_PLANS.starter.rates.apiPerMinute * SCALE)
const WIDGET = Math.floor(DEFAULT_PLANS.starter.rates.widgetPerMinute * SCALE)

/** Windows follow wall-clock minutes: start a burst well inside one so it cannot straddle two. */
async function awayFromWindowEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 8_000) await new Promise((r) => setTimeout(r, left + 100))
}

/** `{policy, remaining}` from a RateLimit header such as `"widget";r=12;t=40`. */
function remaining(res: Response): { policy: string; r: number } {
  const m = /^"([^"]+)";r=(\d+);t=\d+$/.exec(res.headers.get('ratelimit') ?? '')
  if (!m) throw new Error(`no RateLimit header (status ${res.status}): ${res.headers.get('ratelimit')}`)
  return { policy: m[1] as string, r: Number(m[2]) }
}

describe('API and widget budgets', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await createTestApp({ env: { TRUST_PROXY: '1', RATE_LIMIT_SCALE: String(SCALE) } })
  })
  afterAll(async () => app.shutdown())

  /** A starter license with a chatbot key for ORIGIN. */
  async function tenant() {
    const owner = await newCustomer(app, { tier: 'starter', products: ['chatbot'] })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    return { owner, key }
  }
  /** Widget calls spread over many visitor addresses, so only the license's widget budget can run out. */
  const widget = (key: string, path: string, init: RequestInit & { json?: unknown; token?: string; origin?: string; ip?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-product-key', key)
    headers.set('origin', init.origin ?? ORIGIN)
    headers.set('x-forwarded-for', init.ip ?? uniqueIp())
    return app.request(path, { ...init, headers })
  }
  const me = (owner: Customer) => app.request('/api/auth/me', { token: owner.token })

  it('exhausting the widget budget leaves the owner’s API answering 200', async () => {
    const { owner, key } = await tenant()
    await awayFromWindowEdge()
    const before = remaining(await me(owner))
    for (let i = 1; i <= WIDGET; i++) {
      const res = await widget(key, '/api/widget/config')
      expect(res.status, `widget request ${i}`).toBe(200)
    }
    const limited = await widget(key, '/api/widget/config')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('ratelimit-policy')).toBe(`"widget";q=${WIDGET};w=60`)
    // Counted for /metrics under the budget that refused it.
    expect((await app.deps.metrics.rateLimited.get()).values.find((v) => v.labels.budget === 'widget')?.value).toBeGreaterThanOrEqual(1)
    const ownerRes = await me(owner)
    expect(ownerRes.status).toBe(200)
    // Not one unit of the API budget was spent by the widget: only this /me.
    expect(remaining(ownerRes)).toEqual({ policy: 'license', r: before.r - 1 })
    expect((await app.request('/api/products/keys', { token: owner.token })).status).toBe(200)
  })

  it('exhausting the owner’s API budget leaves the widget answering', async () => {
    const { owner, key } = await tenant()
    await awayFromWindowEdge()
    let admitted = 0
    while ((await me(owner)).status === 200) admitted++
    expect(admitted).toBeLessThanOrEqual(API)
    const limited = await me(owner)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('ratelimit-policy')).toBe(`"license";q=${API};w=60`)
    const config = await widget(key, '/api/widget/config')
    expect(config.status).toBe(200)
    expect(remaining(config)).toEqual({ policy: 'widget', r: WIDGET - 1 })
    expect((await widget(key, '/api/widget/conversations', { method: 'POST', json: {} })).status).toBe(201)
  })

  it('requests that fail authentication charge nothing from the license’s API budget', async () => {
    const { owner } = await tenant()
    // A second session, logged out, and an API key, revoked: both resolve to this license but are refused.
    const login = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { email: owner.email, password: 'correct horse battery' },
    })
    const loggedOut = ((await login.json()) as { token: string }).token
    expect((await app.request('/api/auth/logout', { method: 'POST', token: loggedOut })).status).toBe(200)
    const created = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'soon revoked', scopes: ['keys:read'] } })
    const apiKey = (await created.json()) as { id: string; key: string }
    expect((await app.request(`/api/api-keys/${apiKey.id}/revoke`, { method: 'POST', token: owner.token })).status).toBe(200)
    const narrow = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'narrow', scopes: ['audit:read'] } })
    const narrowKey = ((await narrow.json()) as { key: string }).key
    // Signed with the server's own secret but expired: the claims name this license.
    const claims = decodeJwt(owner.token)
    const expired = await signSession(
      app.config.jwtSecret,
      claims as unknown as Parameters<typeof signSession>[1],
      Date.now() - 2 * 3_600_000,
      Date.now() - 3_600_000,
    )

    await awayFromWindowEdge()
    const before = remaining(await me(owner))
    expect(before.policy).toBe('license')
    const refused: [string, string][] = [
      [loggedOut, 'session_revoked'],
      [expired, 'token_expired'],
      [apiKey.key, 'key_revoked'],
      [`${owner.token.slice(0, -4)}AAAA`, 'token_invalid'],
    ]
    for (let i = 0; i < 10; i++) {
      for (const [token, code] of refused) {
        const res = await app.request('/api/products/keys', { token })
        expect(res.status, code).toBe(401)
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
      }
      // Authenticated, but refused for its scope: still nothing spent.
      expect((await app.request('/api/products/keys', { token: narrowKey })).status).toBe(403)
    }
    expect(remaining(await me(owner))).toEqual({ policy: 'license', r: before.r - 1 })
  })

  it('requests that fail the origin or visitor check charge nothing from the license’s widget budget', async () => {
    const { key } = await tenant()
    const other = await tenant()
    const started = await widget(key, '/api/widget/conversations', { method: 'POST', json: {} })
    const { conversation, visitorToken } = (await started.json()) as { conversation: { id: string }; visitorToken: string }
    // A genuine visitor token, but for another license.
    const foreign = (await (await widget(other.key, '/api/widget/conversations', { method: 'POST', json: {} })).json()) as { visitorToken: string }
    const messages = `/api/widget/conversations/${conversation.id}/messages`

    await awayFromWindowEdge()
    const before = remaining(await widget(key, '/api/widget/config'))
    expect(before.policy).toBe('widget')
    for (let i = 0; i < 10; i++) {
      const failures = await Promise.all([
        widget(key, '/api/widget/config', { origin: 'https://evil.example' }),
        widget(key, messages, { token: 'not-a-visitor-token' }),
        widget(key, messages, { token: foreign.visitorToken }),
        widget(key, messages, { method: 'POST', json: { clientMessageId: `m${i}`, text: 'no token' } }),
        widget(key, `/api/widget/conversations/${conversation.id}/events?token=forged`),
        widget(key, '/api/widget/leads', {
          method: 'POST',
          token: 'forged',
          json: { name: 'A', email: 'a@example.com', consent: true, conversationId: conversation.id },
        }),
      ])
      expect(failures.map((r) => r.status)).toEqual([403, 401, 401, 401, 401, 401])
    }
    // The real visitor still reads their conversation, and the license paid for exactly the two valid calls.
    expect((await widget(key, messages, { token: visitorToken })).status).toBe(200)
    expect(remaining(await widget(key, '/api/widget/config'))).toEqual({ policy: 'widget', r: before.r - 2 })
  })

  it('a caller refused at the visitor check still pays its address: past its limit even a valid call is refused', async () => {
    const { key } = await tenant()
    const started = await widget(key, '/api/widget/conversations', { method: 'POST', json: {} })
    const { conversation, visitorToken } = (await started.json()) as { conversation: { id: string }; visitorToken: string }
    const messages = `/api/widget/conversations/${conversation.id}/messages`
    const address = uniqueIp()
    const perAddress = Math.floor(VISITOR_IP_LIMIT_PER_MINUTE * SCALE)
    await awayFromWindowEdge()
    for (let i = 0; i < perAddress; i++) expect((await widget(key, messages, { token: 'not-a-visitor-token', ip: address })).status).toBe(401)
    const refused = await widget(key, messages, { token: visitorToken, ip: address })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('ratelimit-policy')).toBe(`"visitor-ip";q=${perAddress};w=60`)
    // Another address of the same visitor is served, and its answers describe the license's budget.
    const served = await widget(key, messages, { token: visitorToken })
    expect(served.status).toBe(200)
    expect(remaining(served).policy).toBe('widget')
  })

  it('a visitor sends at most their per-minute messages, from any address; the next is refused unstored, others go on', async () => {
    const { key } = await tenant()
    const start = async () => {
      const res = await widget(key, '/api/widget/conversations', { method: 'POST', json: {} })
      return (await res.json()) as { conversation: { id: string }; visitorToken: string }
    }
    const [a, b] = [await start(), await start()]
    const send = (v: typeof a, text: string) =>
      widget(key, `/api/widget/conversations/${v.conversation.id}/messages`, {
        method: 'POST',
        token: v.visitorToken,
        json: { clientMessageId: randomUUID(), text },
      })
    const perVisitor = Math.floor(MESSAGE_LIMIT_PER_VISITOR_MINUTE * SCALE)
    await awayFromWindowEdge()
    for (let i = 1; i <= perVisitor; i++) expect((await send(a, `question ${i}`)).status, `message ${i}`).toBe(201)
    const refused = await send(a, 'one too many')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('ratelimit-policy')).toBe(`"visitor-messages";q=${perVisitor};w=60`)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited')
    const listed = await widget(key, `/api/widget/conversations/${a.conversation.id}/messages`, { token: a.visitorToken })
    const texts = ((await listed.json()) as { messages: { role: string; text: string }[] }).messages.filter((m) => m.role === 'visitor').map((m) => m.text)
    expect(texts).toHaveLength(perVisitor)
    expect(texts).not.toContain('one too many')
    // Another visitor of the same page is not held back by the first.
    expect((await send(b, 'hello')).status).toBe(201)
  })

  it('a publishable key takes at most its per-minute calls, from any address; the next is refused naming the key', async () => {
    // Business: a widget budget (6,000 a minute) above the key's limit (1,200), so the key's limit is what runs out.
    const owner = await newCustomer(app, { tier: 'business', products: ['chatbot'] })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const perKey = Math.floor(KEY_LIMIT_PER_MINUTE * SCALE)
    await awayFromWindowEdge()
    let served = 0
    for (let sent = 0; sent < perKey; sent += 40) {
      const wave = await Promise.all(Array.from({ length: Math.min(40, perKey - sent) }, () => widget(key, '/api/widget/config')))
      served += wave.filter((r) => r.status === 200).length
    }
    expect(served).toBe(perKey)
    const refused = await widget(key, '/api/widget/config')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('ratelimit-policy')).toBe(`"key";q=${perKey};w=60`)
  })
})

describe('widget limits in reserved blocks', () => {
  let app: TestApp

  beforeAll(async () => {
    // Limits large enough for blocks: the address 12,000 a minute, the key 120,000, a business widget budget 600,000.
    app = await createTestApp({ env: { TRUST_PROXY: '1', RATE_LIMIT_SCALE: '100' } })
  })
  afterAll(async () => app.shutdown())

  it('calls from one address are admitted from blocks this instance reserved: one Redis call, not one each', async () => {
    const owner = await newCustomer(app, { tier: 'business', products: ['chatbot'] })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const config = () => app.request('/api/widget/config', { headers: { 'x-product-key': key, origin: ORIGIN, 'x-forwarded-for': '203.0.113.9' } })
    await awayFromWindowEdge()
    const calls = countScriptCalls(app.deps.cache, 'intlRateLimit')
    const answers = []
    try {
      for (let i = 0; i < 20; i++) answers.push(await config())
    } finally {
      calls.restore()
    }
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200))
    // The widget budget counts down by one per call either way (blocks or not).
    const left = answers.map((r) => remaining(r).r)
    expect(left.slice(1).every((r, i) => r === (left[i] as number) - 1)).toBe(true)
    // With Redis: the first call reserves a block of each limit, the other 19 take from them (20 calls without).
    if (calls.counted) expect(calls.keys).toHaveLength(1)
  })
})
