import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, heldWrites, newCustomer, recordedWrites } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'

describe('Idempotency-Key on authenticated POSTs', () => {
  let app: TestApp
  let owner: Customer
  let other: Customer
  const post = (who: Customer, idem: string, json: unknown, path = '/api/products/data-enrichment/configure') =>
    app.request(path, { method: 'POST', token: who.token, json, headers: { 'idempotency-key': idem } })

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app)
    other = await newCustomer(app)
  })
  afterAll(async () => app.shutdown())

  it('replays the first answer to a retry instead of acting twice', async () => {
    const first = await post(owner, 'idem-1', {})
    expect(first.status).toBe(201)
    const retry = await post(owner, 'idem-1', {})
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(await retry.json()).toEqual(await first.json())
    const rows = await app.deps.db
      .selectFrom('product_keys')
      .select('id')
      .where('license_id', '=', owner.licenseId)
      .where('product', '=', 'data-enrichment')
      .execute()
    expect(rows).toHaveLength(1)
  })

  it('refuses the same key with a different request, and keys are per caller', async () => {
    await post(owner, 'idem-2', {})
    const changed = await post(owner, 'idem-2', { newKey: true })
    expect(changed.status).toBe(409)
    expect(((await changed.json()) as { error: { code: string } }).error.code).toBe('idempotency_conflict')
    const theirs = await post(other, 'idem-2', {})
    expect(theirs.status).toBe(201)
    expect(theirs.headers.get('idempotent-replayed')).toBeNull()
  })

  it('does not remember failures, so a corrected retry with the same key goes through', async () => {
    const bad = await post(owner, 'idem-3', { allowedOrigins: ['not an origin'] }, '/api/products/chatbot/configure')
    expect(bad.status).toBe(422)
    const fixed = await post(owner, 'idem-3', { allowedOrigins: ['https://ok.example.com'] }, '/api/products/chatbot/configure')
    expect(fixed.status).toBe(201)
  })

  it('keeps a minted secret key sealed at rest and replays it only to the key that asked', async () => {
    const mint = async (scopes: string[]) => {
      const res = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'idem', scopes } })
      return ((await res.json()) as { key: string }).key
    }
    // Minting a data_ key takes keys:write and the enrichment scope the new key will hold.
    const [keyA, keyB] = [await mint(['keys:write', 'enrichment:write']), await mint(['keys:write', 'enrichment:write'])]
    const configure = (token: string) =>
      app.request('/api/products/data-enrichment/configure', { method: 'POST', token, json: {}, headers: { 'idempotency-key': 'idem-secret' } })
    const realCache = app.deps.cache
    const recorded = recordedWrites(realCache)
    app.deps.cache = recorded.cache
    try {
      const first = await configure(keyA)
      expect(first.status).toBe(201)
      const { key: secret } = (await first.json()) as { key: string }
      expect(secret).toMatch(/^data_/)
      const cached = recorded.writes.filter((w) => w.key.includes(':idem:') && w.value !== 'pending')
      expect(cached).toHaveLength(1)
      const atRest = await realCache.get(cached[0]!.key)
      expect(atRest).toMatch(/^v1\./)
      const secretBody = secret.slice('data_'.length)
      for (const value of [atRest, ...recorded.writes.map((w) => w.value)]) {
        expect(value).not.toContain(secretBody)
        expect(value).not.toContain(Buffer.from(secret).toString('base64'))
      }

      const replay = await configure(keyA)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(((await replay.json()) as { key: string }).key).toBe(secret)

      // Another key of the same license, and the license's own user, each get a fresh execution of their own.
      for (const token of [keyB, owner.token]) {
        const theirs = await configure(token)
        expect(theirs.status).toBe(201)
        expect(theirs.headers.get('idempotent-replayed')).toBeNull()
        expect(((await theirs.json()) as { key: string }).key).not.toBe(secret)
      }
    } finally {
      app.deps.cache = realCache
    }
  })

  it('asks the client to retry while the first request is running, and not after a mismatch', async () => {
    // The first request's answer is held on its way into the cache, so the retry finds it still running.
    const realCache = app.deps.cache
    const held = heldWrites(realCache, ':idem:')
    app.deps.cache = held.cache
    let during: Response
    try {
      const slow = post(owner, 'idem-4', {})
      await held.reached
      during = await post(owner, 'idem-4', {})
      held.release()
      expect((await slow).status).toBe(201)
    } finally {
      app.deps.cache = realCache
    }
    expect(during.status).toBe(409)
    expect(during.headers.get('x-should-retry')).toBe('true')
    const replayed = await post(owner, 'idem-4', {})
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    const changed = await post(owner, 'idem-4', { newKey: true })
    expect(changed.status).toBe(409)
    expect(changed.headers.get('x-should-retry')).toBe('false')
  })
})
