import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../src/core.js'
import { APIError, ConflictError, Intelagent, ValidationError } from '../src/index.js'
import { apiError, json, scriptedFetch } from './helpers.js'

const key = { id: 'k1', product: 'chatbot', kind: 'publishable', key: 'chat_x', start: 'chat_x', allowedOrigins: [], status: 'active' }

describe('retries', () => {
  it('waits out Retry-After on a 429, then succeeds', async () => {
    const { fetch, calls } = scriptedFetch([apiError(429, 'rate_limited', 'slow down', 'req_1', { 'Retry-After': '1' }), json(200, { keys: [key] })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', apiKey: 'agnt_x', fetch })
    const started = performance.now()
    const page = await sdk.keys.list()
    expect(performance.now() - started).toBeGreaterThanOrEqual(950)
    expect(page.data).toEqual([key])
    expect(calls).toHaveLength(2)
  })

  it('does not retry a 400', async () => {
    const { fetch, calls } = scriptedFetch([apiError(400, 'invalid_json'), json(200, {})])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch })
    await expect(sdk.products.configure('chatbot')).rejects.toBeInstanceOf(ValidationError)
    expect(calls).toHaveLength(1)
  })

  it('keeps one Idempotency-Key across the retries of one POST, and uses a new one for the next call', async () => {
    const retryNow = { 'Retry-After': '0' }
    const { fetch, calls } = scriptedFetch([
      apiError(503, 'unavailable', 'x', 'r1', retryNow),
      new TypeError('socket hang up'),
      json(201, { ...key, key: 'chat_x', settings: {} }),
      json(201, { ...key, key: 'chat_y', settings: {} }),
    ])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch, maxRetries: 2 })
    await sdk.products.configure('chatbot', { allowedOrigins: ['https://a.test'] })
    await sdk.products.configure('chatbot')
    const keys = calls.map((c) => c.headers.get('idempotency-key'))
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).toBe(keys[0])
    expect(keys[3]).not.toBe(keys[0])
    expect(calls[0]?.body).toEqual({ allowedOrigins: ['https://a.test'] })
  })

  it('uses the caller’s idempotency key, and sends none on GET', async () => {
    const { fetch, calls } = scriptedFetch([json(200, { id: 'k1' }), json(200, { keys: [] })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch })
    await sdk.keys.revoke('k1', { idempotencyKey: 'my-key-1' })
    await sdk.keys.list()
    expect(calls[0]?.headers.get('idempotency-key')).toBe('my-key-1')
    expect(calls[1]?.headers.has('idempotency-key')).toBe(false)
  })

  it('gives up after maxRetries and throws the last error', async () => {
    const now = { 'Retry-After': '0' }
    const { fetch, calls } = scriptedFetch([
      apiError(500, 'internal_error', 'a', 'r', now),
      apiError(502, 'upstream_failed', 'b', 'r', now),
      apiError(500, 'internal_error', 'c', 'r_last', now),
    ])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch, maxRetries: 2 })
    await expect(sdk.auth.me()).rejects.toMatchObject({ name: 'APIError', requestId: 'r_last', message: 'c' })
    expect(calls).toHaveLength(3)
  })

  it('retries 409 (a concurrent request held the resource) and honours x-should-retry: false', async () => {
    const { fetch, calls } = scriptedFetch([apiError(409, 'conflict', 'busy', 'r', { 'Retry-After': '0', 'x-should-retry': 'false' })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch })
    await expect(sdk.auth.me()).rejects.toBeInstanceOf(ConflictError)
    expect(calls).toHaveLength(1)
  })

  it('does not retry a registration refused with x-should-retry: false, and still retries a bare 409', async () => {
    const params = { email: 'a@example.com', password: 'correct horse battery', licenseKey: 'INTL-AAAA-AAAA-AAAA' }
    const claimed = scriptedFetch([apiError(409, 'license_already_claimed', 'claimed', 'r', { 'x-should-retry': 'false' }), json(201, {})])
    await expect(new Intelagent({ baseUrl: 'https://api.test', fetch: claimed.fetch }).auth.register(params)).rejects.toMatchObject({
      name: 'ConflictError',
      code: 'license_already_claimed',
    })
    expect(claimed.calls).toHaveLength(1)
    const user = { id: 'u1', email: params.email }
    const busy = scriptedFetch([apiError(409, 'conflict', 'busy', 'r', { 'Retry-After': '0' }), json(201, { token: 't', expiresAt: '', user })])
    await expect(new Intelagent({ baseUrl: 'https://api.test', fetch: busy.fetch }).auth.register(params)).resolves.toMatchObject({ user })
    expect(busy.calls).toHaveLength(2)
    expect(busy.calls[1]?.headers.get('idempotency-key')).toBe(busy.calls[0]?.headers.get('idempotency-key'))
  })

  it('does not sit out a Retry-After longer than a minute', async () => {
    const { fetch, calls } = scriptedFetch([apiError(429, 'rate_limited', 'quota', 'r', { 'Retry-After': '3600' })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch })
    await expect(sdk.auth.me()).rejects.toMatchObject({ name: 'RateLimitError', retryAfter: 3600 })
    expect(calls).toHaveLength(1)
  })

  it('backs off exponentially with jitter when the server gives no Retry-After', () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const base = Math.min(500 * 2 ** attempt, 8000)
      const d = retryDelayMs(attempt, new Headers()) ?? -1
      expect(d).toBeGreaterThan(base * 0.75 - 1)
      expect(d).toBeLessThanOrEqual(base)
    }
    expect(retryDelayMs(0, new Headers({ 'retry-after-ms': '250' }))).toBe(250)
    const date = new Date(Date.now() + 2000).toUTCString()
    expect(retryDelayMs(0, new Headers({ 'retry-after': date }))).toBeGreaterThan(900)
  })

  it('retries a 5xx without Retry-After after a backoff', async () => {
    const { fetch, calls } = scriptedFetch([apiError(500, 'internal_error'), json(200, { user: {}, via: 'session' })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch })
    await expect(sdk.auth.me()).resolves.toMatchObject({ via: 'session' })
    expect(calls).toHaveLength(2)
    expect(APIError).toBeDefined()
  })
})
