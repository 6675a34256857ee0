import { describe, expect, expectTypeOf, it } from 'vitest'
import { SCOPES, type Scope } from '../../server/src/keys/scopes.js'
import { API_KEY_SCOPES, type ApiKey, type ApiKeyScope, Intelagent, NotFoundError, PermissionError } from '../src/index.js'
import { apiError, json, scriptedFetch } from './helpers.js'

const apiKey: ApiKey = {
  id: '3f0c6f0e-8d3c-4c1e-9d55-0b6a3c1f2e10',
  name: 'CRM sync',
  start: 'intl_sk_A…wxyz',
  scopes: ['keys:read', 'leads:read'],
  status: 'active',
  expiresAt: '2027-05-01T00:00:00.000Z',
  lastUsedAt: null,
  useCount: 0,
  createdAt: '2026-05-01T00:00:00.000Z',
}

const client = (replies: Parameters<typeof scriptedFetch>[0]) => {
  const s = scriptedFetch(replies)
  return { ...s, sdk: new Intelagent({ baseUrl: 'https://api.test', token: 'jwt', fetch: s.fetch, maxRetries: 0 }) }
}

describe('apiKeys', () => {
  it('offers exactly the scopes the server checks, in its order', () => {
    expect(API_KEY_SCOPES).toEqual(SCOPES)
    expectTypeOf<ApiKeyScope>().toEqualTypeOf<Scope>()
  })

  it('lists the keys of the license as a page', async () => {
    const { sdk, calls } = client([json(200, { apiKeys: [apiKey] })])
    const page = await sdk.apiKeys.list()
    expect(page.data).toEqual([apiKey])
    expect(page.hasNextPage()).toBe(false)
    expect(calls[0]).toMatchObject({ method: 'GET', url: 'https://api.test/api/api-keys' })
    expect(calls[0]?.headers.get('authorization')).toBe('Bearer jwt')
  })

  it('creates a key with name, scopes and expiry, and returns the secret once', async () => {
    const created = { ...apiKey, key: 'intl_sk_secretvalue' }
    const { sdk, calls } = client([json(201, created), json(201, created)])
    expect(await sdk.apiKeys.create({ name: 'CRM sync', scopes: ['keys:read', 'leads:read'], expiresInDays: 30 })).toEqual(created)
    expect(calls[0]).toMatchObject({
      method: 'POST',
      url: 'https://api.test/api/api-keys',
      body: { name: 'CRM sync', scopes: ['keys:read', 'leads:read'], expiresInDays: 30 },
    })
    // A generated Idempotency-Key makes a retried create return the same key; a caller's own key is used as given.
    expect(calls[0]?.headers.get('idempotency-key')).toMatch(/.{16,}/)
    // Without an expiry the server's default (365 days) applies: the field is not sent at all.
    await sdk.apiKeys.create({ name: 'CI', scopes: ['settings:read'] }, { idempotencyKey: 'mine-1' })
    expect(calls[1]?.body).toEqual({ name: 'CI', scopes: ['settings:read'] })
    expect(calls[1]?.headers.get('idempotency-key')).toBe('mine-1')
  })

  it('retries a failed create with the same Idempotency-Key, so the server can answer it once', async () => {
    const { fetch, calls } = scriptedFetch([apiError(503, 'unavailable', 'x', 'r1', { 'Retry-After': '0' }), json(201, { ...apiKey, key: 'intl_sk_x' })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', token: 'jwt', fetch })
    expect((await sdk.apiKeys.create({ name: 'CI', scopes: ['keys:read'] })).key).toBe('intl_sk_x')
    expect(calls).toHaveLength(2)
    expect(calls[1]?.headers.get('idempotency-key')).toBe(calls[0]?.headers.get('idempotency-key'))
  })

  it('revokes by id (escaped into the path)', async () => {
    const { sdk, calls } = client([json(200, { ...apiKey, status: 'revoked' })])
    expect((await sdk.apiKeys.revoke('a/b')).status).toBe('revoked')
    expect(calls[0]).toMatchObject({ method: 'POST', url: 'https://api.test/api/api-keys/a%2Fb/revoke' })
  })

  it('rejects with the API error: a key managing keys is forbidden, an unknown id is not found', async () => {
    const { sdk } = client([apiError(403, 'forbidden', 'This route needs a logged-in session, not a key'), apiError(404, 'not_found', 'API key not found')])
    const err = await sdk.apiKeys.list().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(PermissionError)
    expect(err).toMatchObject({ status: 403, code: 'forbidden' })
    await expect(sdk.apiKeys.revoke(apiKey.id)).rejects.toBeInstanceOf(NotFoundError)
  })
})
