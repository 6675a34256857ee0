import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, newCustomer } from '../../test/fixtures.js'
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
})
