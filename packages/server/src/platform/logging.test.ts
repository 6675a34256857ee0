import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'

describe('logs', () => {
  const lines: string[] = []
  let app: TestApp
  let customer: Customer

  beforeAll(async () => {
    app = await createTestApp({ env: { LOG_LEVEL: 'info' }, log: (l) => lines.push(l) })
    customer = await newCustomer(app)
  })
  afterAll(async () => app.shutdown())

  it('writes one JSON line per request with its request id, and never a secret', async () => {
    const secret = await configure(app, customer, 'setup-agent')
    const res = await app.request('/api/products/keys?token=should-not-appear', { token: secret.key, headers: { 'x-request-id': 'req-test-123456' } })
    expect(res.headers.get('x-request-id')).toBe('req-test-123456')
    await app.request('/api/auth/login', { method: 'POST', json: { email: customer.email, password: 'wrong password here' } })
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const line = entries.find((e) => e.requestId === 'req-test-123456')
    expect(line).toMatchObject({ level: 'info', msg: 'request', method: 'GET', path: '/api/products/keys', route: '/api/products/keys', status: 200 })
    // The license by id, never by key.
    expect(line?.licenseId).toBe(customer.licenseId)
    // A request refused at the edge (an encoded NUL) is logged like any other.
    await app.request('/api/products/keys%00', { headers: { 'x-request-id': 'req-test-nul-1234' } })
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.requestId === 'req-test-nul-1234')).toMatchObject({
      msg: 'request',
      status: 400,
    })
    const all = lines.join('\n')
    for (const leaked of [secret.key, customer.token, customer.licenseKey, 'should-not-appear', 'wrong password here']) expect(all).not.toContain(leaked)
  })
})
