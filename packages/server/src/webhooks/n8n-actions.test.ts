import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, n8nSigned, newCustomer, newLicense } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'

interface ActionBody {
  license: { key: string; products: string[]; tier: string; status: string }
  changed: boolean
}

describe('POST /api/webhooks/n8n/licenses/actions', () => {
  let app: TestApp

  const act = async (body: unknown, signature?: string) => {
    const signed = n8nSigned(body)
    const res = await app.request('/api/webhooks/n8n/licenses/actions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-intelagent-signature': signature ?? signed.signature },
      body: signed.raw,
    })
    return { status: res.status, body: (await res.json()) as ActionBody & { error?: { code: string } } }
  }
  const eventsOf = (licenseId: string) =>
    app.deps.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('license_id', '=', licenseId)
      .where('type', '!=', 'license.created')
      .orderBy('created_at')
      .execute()

  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  it('adds and removes products and sets the tier, by key or by order email, with events and audit', async () => {
    const license = await newLicense(app, { products: ['chatbot'], tier: 'starter' })
    let r = await act({ action: 'add_products', licenseKey: license.key.toLowerCase(), products: ['sales-agent', 'chatbot'] })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ changed: true, license: { products: ['chatbot', 'sales-agent'] } })
    r = await act({ action: 'add_products', licenseKey: license.key, products: ['sales-agent'] })
    expect(r.body.changed).toBe(false)
    r = await act({ action: 'set_tier', email: license.email.toUpperCase(), tier: 'business' })
    expect(r.body).toMatchObject({ changed: true, license: { tier: 'business' } })
    r = await act({ action: 'remove_products', email: license.email, products: ['chatbot'], reason: 'downgrade' })
    expect(r.body.license.products).toEqual(['sales-agent'])

    const events = await eventsOf(license.id)
    expect(events.map((e) => [e.type, (e.data as { changes: string[] }).changes, (e.data as { cause: string }).cause])).toEqual([
      ['license.updated', ['products'], 'action'],
      ['license.updated', ['tier'], 'action'],
      ['license.updated', ['products'], 'action'],
    ])
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select(['action', 'actor', 'meta'])
      .where('license_id', '=', license.id)
      .where('actor', '=', 'n8n')
      .execute()
    expect(audit).toHaveLength(3)
    expect(audit[2]?.meta).toMatchObject({ action: 'remove_products', reason: 'downgrade' })
  })

  it('suspends (keys stop working) and reactivates', async () => {
    const owner = await newCustomer(app, { products: ['chatbot'] })
    const key = (await configure(app, owner, 'chatbot', { allowedOrigins: ['https://shop.example.com'] })).key
    const widget = () => app.request('/api/widget/config', { headers: { 'x-product-key': key, origin: 'https://shop.example.com' } })
    expect((await widget()).status).toBe(200)

    let r = await act({ action: 'suspend', licenseKey: owner.licenseKey, reason: 'chargeback' })
    expect(r.body).toMatchObject({ changed: true, license: { status: 'suspended' } })
    await app.jobs.idle()
    const blocked = await widget()
    expect(blocked.status).toBe(403)
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('license_inactive')
    expect((await act({ action: 'suspend', licenseKey: owner.licenseKey })).body.changed).toBe(false)

    r = await act({ action: 'reactivate', licenseKey: owner.licenseKey })
    expect(r.body).toMatchObject({ changed: true, license: { status: 'active' } })
    await app.jobs.idle()
    expect((await widget()).status).toBe(200)
    const events = await eventsOf(owner.licenseId)
    expect(events.map((e) => e.type)).toEqual(['license.updated', 'license.suspended', 'license.updated'])
    const audit = await app.deps.db.selectFrom('audit_log').select('action').where('license_id', '=', owner.licenseId).where('actor', '=', 'n8n').execute()
    expect(audit.map((a) => a.action)).toEqual(['license.suspended', 'license.reactivated'])
  })

  it('answers clear errors: unknown license 404, bad input 422, bad signature 401', async () => {
    expect((await act({ action: 'suspend', licenseKey: 'INTL-0000-0000-0000' })).body.error?.code).toBe('license_not_found')
    expect((await act({ action: 'suspend', email: 'nobody-here@example.com' })).status).toBe(404)
    for (const body of [
      { action: 'suspend' },
      { action: 'suspend', licenseKey: 'x', email: 'a@example.com' },
      { action: 'add_products', email: 'a@example.com' },
      { action: 'set_tier', email: 'a@example.com' },
      { action: 'set_tier', email: 'a@example.com', tier: 'gold' },
      { action: 'delete', email: 'a@example.com' },
    ]) {
      const r = await act(body)
      expect(r.status, JSON.stringify(body)).toBe(422)
      expect(r.body.error?.code).toBe('validation_failed')
    }
    const r = await act({ action: 'suspend', email: 'a@example.com' }, 't=1,v1=00')
    expect(r.status).toBe(401)
  })
})
