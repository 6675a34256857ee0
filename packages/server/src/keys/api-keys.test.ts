import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { assertDeclared } from '../platform/route.js'
import { generateApiKey, keyLookup } from './format.js'

interface Created {
  id: string
  key: string
  start: string
  scopes: string[]
  expiresAt: string
}

describe('secret API keys (intl_sk_)', () => {
  let app: TestApp
  let clock: ManualClock
  let owner: Customer
  let other: Customer

  const create = async (who: Customer, body: unknown) => app.request('/api/api-keys', { method: 'POST', token: who.token, json: body })

  beforeAll(async () => {
    clock = new ManualClock(Date.now())
    app = await createTestApp({ clock })
    owner = await newCustomer(app)
    other = await newCustomer(app)
    await configure(app, owner, 'chatbot')
  })
  afterAll(async () => app.shutdown())

  it('is shown once, stored only as a peppered HMAC, and listed with its hint', async () => {
    const res = await create(owner, { name: 'CI', scopes: ['keys:read'] })
    expect(res.status).toBe(201)
    const created = (await res.json()) as Created
    expect(created.key).toMatch(/^intl_sk_[0-9A-Za-z]{28}$/)
    expect(Date.parse(created.expiresAt) - clock.now()).toBe(365 * 86_400_000)
    const row = await app.deps.db.selectFrom('api_keys').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(row.lookup).toBe(keyLookup(app.config.keyPepper, created.key))
    expect(JSON.stringify(row)).not.toContain(created.key)
    const list = await (await app.request('/api/api-keys', { token: owner.token })).text()
    expect(list).toContain(created.start)
    expect(list).not.toContain(created.key)
  })

  it('answers a retried create with the same key (Idempotency-Key) and counts one request once', async () => {
    const send = () =>
      app.request('/api/api-keys', {
        method: 'POST',
        token: owner.token,
        json: { name: 'retry', scopes: ['keys:read'] },
        headers: { 'idempotency-key': 'create-1' },
      })
    const first = await send()
    expect(first.status).toBe(201)
    const again = await send()
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(((await again.json()) as Created).key).toBe(((await first.json()) as Created).key)
    // One request takes one unit of the license budget (the auth middleware is mounted once per route).
    const a = Number(/r=(\d+)/.exec((await app.request('/api/api-keys', { token: owner.token })).headers.get('ratelimit') ?? '')?.[1])
    const b = Number(/r=(\d+)/.exec((await app.request('/api/api-keys', { token: owner.token })).headers.get('ratelimit') ?? '')?.[1])
    expect(a - b).toBe(1)
  })

  it('allows exactly its scopes and counts its uses', async () => {
    const { key, id } = (await (await create(owner, { name: 'reader', scopes: ['keys:read', 'conversations:read'] })).json()) as Created
    expect((await app.request('/api/products/keys', { token: key })).status).toBe(200)
    expect((await app.request('/api/products/chatbot/conversations', { token: key })).status).toBe(200)
    const denied = await app.request('/api/products/chatbot/configure', { method: 'POST', token: key, json: {} })
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope')
    expect((await app.request('/api/products/chatbot/settings', { token: key })).status).toBe(403)
    // Keys cannot mint keys or log out: those are for people.
    expect((await app.request('/api/api-keys', { method: 'POST', token: key, json: { name: 'x', scopes: ['keys:read'] } })).status).toBe(403)
    expect((await app.request('/api/auth/logout', { method: 'POST', token: key })).status).toBe(403)
    const listed = (await (await app.request('/api/api-keys', { token: owner.token })).json()) as {
      apiKeys: { id: string; useCount: number; lastUsedAt: string | null }[]
    }
    const mine = listed.apiKeys.find((k) => k.id === id)
    expect(mine?.useCount).toBe(2)
    expect(mine?.lastUsedAt).not.toBeNull()
  })

  it('stops working when revoked or expired, and another license can neither see nor revoke it', async () => {
    const { key, id } = (await (await create(owner, { name: 'short', scopes: ['audit:read'], expiresInDays: 1 })).json()) as Created
    expect((await app.request('/api/audit', { token: key })).status).toBe(200)
    expect((await app.request(`/api/api-keys/${id}/revoke`, { method: 'POST', token: other.token })).status).toBe(404)
    expect(await (await app.request('/api/api-keys', { token: other.token })).text()).not.toContain(id)
    clock.advance(86_400_000 + 1)
    const expired = await app.request('/api/audit', { token: key })
    expect(expired.status).toBe(401)
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('key_revoked')

    const second = (await (await create(owner, { name: 'revoke me', scopes: ['audit:read'] })).json()) as Created
    expect((await app.request('/api/audit', { token: second.key })).status).toBe(200)
    expect((await app.request(`/api/api-keys/${second.id}/revoke`, { method: 'POST', token: owner.token })).status).toBe(200)
    expect((await app.request('/api/audit', { token: second.key })).status).toBe(401)
  })

  it('rejects malformed keys before any lookup, unknown scopes and bad expiry', async () => {
    const good = generateApiKey()
    const badChecksum = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`
    const res = await app.request('/api/products/keys', { token: badChecksum })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('malformed_key')
    expect((await app.request('/api/products/keys', { token: 'intl_sk_short' })).status).toBe(400)
    expect((await create(owner, { name: 'x', scopes: ['everything'] })).status).toBe(422)
    expect((await create(owner, { name: 'x', scopes: [] })).status).toBe(422)
    expect((await create(owner, { name: 'x', scopes: ['keys:read'], expiresInDays: 0 })).status).toBe(422)
  })

  it('declares the scope each tenant route needs, and people-only routes as sessions', () => {
    const declared = new Map(assertDeclared(app.app.routes).map((d) => [`${d.method.toUpperCase()} ${d.path}`, d.access]))
    const scope = (id: string) => {
      const a = declared.get(id)
      return a?.kind === 'customer' ? a.scope : a?.kind
    }
    expect(scope('GET /api/products/keys')).toBe('keys:read')
    expect(scope('POST /api/products/keys/{id}/revoke')).toBe('keys:revoke')
    expect(scope('POST /api/products/keys/{id}/rotate')).toBe('keys:revoke')
    expect(scope('PUT /api/products/keys/{id}/origins')).toBe('keys:write')
    expect(scope('POST /api/products/{product}/configure')).toBe('keys:write')
    expect(scope('PUT /api/products/{product}/secrets/{name}')).toBe('settings:write')
    expect(scope('PATCH /api/products/{product}/settings')).toBe('settings:write')
    expect(scope('DELETE /api/products/{product}/knowledge/{id}')).toBe('settings:write')
    expect(scope('POST /api/conversations/{id}/messages')).toBe('conversations:write')
    expect(scope('GET /api/events')).toBe('conversations:read')
    expect(scope('GET /api/products/{product}/leads')).toBe('leads:read')
    expect(scope('POST /api/api-keys')).toBe('session')
  })
})
