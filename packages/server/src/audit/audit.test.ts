import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'

interface Entry {
  id: string
  actor: string | null
  action: string
  target: string | null
  ip: string | null
  meta: Record<string, unknown>
  createdAt: string
}

describe('GET /api/audit', () => {
  let app: TestApp
  let customer: Customer

  beforeAll(async () => {
    app = await createTestApp()
    customer = await newCustomer(app, { products: ['chatbot', 'data-enrichment'] })
  })
  afterAll(async () => app.shutdown())

  const entries = async (query = '') => {
    const res = await app.request(`/api/audit${query}`, { token: customer.token })
    expect(res.status).toBe(200)
    return ((await res.json()) as { entries: Entry[] }).entries
  }

  it('records security-relevant actions with actor, target, IP and time, newest first', async () => {
    const ip = uniqueIp()
    const failed = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': ip },
      json: { email: customer.email, password: 'wrong password' },
    })
    expect(failed.status).toBe(401)
    const chat = await configure(app, customer, 'chatbot')
    const data = await configure(app, customer, 'data-enrichment')
    expect((await app.request(`/api/products/keys/${chat.id}/rotate`, { method: 'POST', token: customer.token, json: { gracePeriodSeconds: 0 } })).status).toBe(
      201,
    )
    expect((await app.request(`/api/products/keys/${data.id}/revoke`, { method: 'POST', token: customer.token })).status).toBe(200)
    expect((await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: customer.token, json: { botName: 'Ada' } })).status).toBe(200)

    const list = await entries()
    const actions = list.map((e) => e.action)
    // Newest first: the settings change is the last thing that happened.
    expect(actions[0]).toBe('settings.updated')
    expect(actions).toEqual(expect.arrayContaining(['license.issued', 'account.registered', 'auth.login_failed', 'key.created', 'key.rotated', 'key.revoked']))
    expect(actions.indexOf('key.revoked')).toBeLessThan(actions.indexOf('key.rotated'))
    const ids = list.map((e) => Number(e.id))
    expect([...ids].sort((x, y) => y - x)).toEqual(ids)

    expect(list.find((e) => e.action === 'auth.login_failed')).toMatchObject({ actor: customer.email, ip })
    expect(list.find((e) => e.action === 'key.revoked')).toMatchObject({ actor: customer.email, target: data.id })
    expect(list.find((e) => e.action === 'key.rotated')?.meta).toMatchObject({ gracePeriodSeconds: 0 })
    for (const e of list) expect(Number.isNaN(Date.parse(e.createdAt))).toBe(false)
    // Secret key material never lands in the trail.
    expect(JSON.stringify(list)).not.toContain(data.key)
    expect(JSON.stringify(list)).not.toContain('wrong password')
  })

  it('honours the limit and refuses callers without credentials', async () => {
    expect(await entries('?limit=2')).toHaveLength(2)
    const anonymous = await app.request('/api/audit')
    expect(anonymous.status).toBe(401)
    const bad = await app.request('/api/audit?limit=0', { token: customer.token })
    expect(bad.status).toBe(422)
  })
})
