import { describe, expect, it } from 'vitest'
import {
  APIError,
  AuthenticationError,
  ConflictError,
  ConnectionError,
  Intelagent,
  IntelagentError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ValidationError,
} from '../src/index.js'
import { apiError, json, scriptedFetch } from './helpers.js'

const client = (replies: Parameters<typeof scriptedFetch>[0]) => {
  const s = scriptedFetch(replies)
  return { ...s, sdk: new Intelagent({ baseUrl: 'https://api.test/', token: 'jwt', fetch: s.fetch, maxRetries: 0 }) }
}

describe('error mapping', () => {
  it.each([
    [400, 'invalid_json', ValidationError],
    [401, 'token_expired', AuthenticationError],
    [403, 'product_not_purchased', PermissionError],
    [404, 'not_found', NotFoundError],
    [409, 'license_already_claimed', ConflictError],
    [413, 'payload_too_large', ValidationError],
    [415, 'unsupported_media_type', ValidationError],
    [422, 'validation_failed', ValidationError],
    [429, 'rate_limited', RateLimitError],
    [500, 'internal_error', APIError],
    [503, 'not_configured', APIError],
  ])('maps %i %s to %s with code, message, status and request id', async (status, code, Class) => {
    const { sdk } = client([apiError(status, code, `the ${code} message`, 'req_abc12345', { 'X-Request-Id': 'req_abc12345' })])
    const err = await sdk.auth.me().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Class)
    expect(err).toBeInstanceOf(IntelagentError)
    expect(err).toBeInstanceOf(Error)
    const e = err as IntelagentError
    expect(e).toMatchObject({ status, code, message: `the ${code} message`, requestId: 'req_abc12345', name: Class.name })
    expect(e.headers.get('x-request-id')).toBe('req_abc12345')
  })

  it('takes the request id from X-Request-Id when the body has none (e.g. a proxy error page)', async () => {
    const { sdk } = client([new Response('<html>bad gateway</html>', { status: 502, headers: { 'X-Request-Id': 'req_fromheader1' } })])
    const err = (await sdk.auth.me().catch((e: unknown) => e)) as APIError
    expect(err).toBeInstanceOf(APIError)
    expect(err).toMatchObject({ status: 502, code: 'http_502', requestId: 'req_fromheader1' })
  })

  it('keeps validation details and reads Retry-After into RateLimitError.retryAfter', async () => {
    const { sdk } = client([
      json(422, { error: { code: 'validation_failed', message: 'email: bad', requestId: 'req_1', details: [{ path: 'email', message: 'bad' }] } }),
      apiError(429, 'rate_limited', 'slow down', 'req_2', { 'Retry-After': '120' }),
    ])
    const v = (await sdk.auth.login({ email: 'x', password: 'y' }).catch((e: unknown) => e)) as ValidationError
    expect(v.details).toEqual([{ path: 'email', message: 'bad' }])
    const r = (await sdk.auth.me().catch((e: unknown) => e)) as RateLimitError
    expect(r).toBeInstanceOf(RateLimitError)
    expect(r.retryAfter).toBe(120)
  })

  it('turns a network failure into a ConnectionError with no status', async () => {
    const { sdk } = client([new TypeError('fetch failed')])
    const err = (await sdk.auth.me().catch((e: unknown) => e)) as ConnectionError
    expect(err).toBeInstanceOf(ConnectionError)
    expect(err).toMatchObject({ status: undefined, code: 'connection_error', requestId: null })
    expect(err.message).toContain('fetch failed')
  })

  it('times out a hanging request with code timeout', async () => {
    const hang = (_url: string, init: RequestInit) =>
      new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))
    const sdk = new Intelagent({ baseUrl: 'https://api.test', fetch: hang, maxRetries: 0, timeoutMs: 50 })
    await expect(sdk.auth.me()).rejects.toMatchObject({ name: 'ConnectionError', code: 'timeout' })
  })

  it('sends no Authorization on login and the session token afterwards', async () => {
    const user = { id: 'u1', email: 'a@b.c', role: 'customer', licenseKey: 'INTL-AAAA-BBBB-CCCC', products: ['chatbot'], tier: 'starter', createdAt: '' }
    const { sdk, calls } = client([json(200, { token: 'new-jwt', expiresAt: '', user }), json(200, { user, via: 'session' })])
    await sdk.auth.login({ email: 'a@b.c', password: 'pw' })
    await sdk.auth.me()
    expect(calls[0]?.headers.get('authorization')).toBeNull()
    expect(calls[1]?.headers.get('authorization')).toBe('Bearer new-jwt')
    expect(calls[1]?.url).toBe('https://api.test/api/auth/me')
  })
})
