import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { n8nSigned, uniqueEmail } from '../../test/fixtures.js'
import { createTestApp, ManualClock, N8N_SECRET, type TestApp } from '../../test/harness.js'
import { signIntelagent } from '../platform/signature.js'

const KEY_RE = /^INTL-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/

interface LicenseBody {
  license: { key: string; email: string; products: string[]; tier: string; orderId: string; source: string }
}
interface ErrorBody {
  error: { code: string; message: string; requestId: string }
}

describe('POST /api/webhooks/n8n/licenses', () => {
  let app: TestApp

  const post = (body: unknown, options: { nowMs?: number; secret?: string; raw?: string; signature?: string | null; target?: TestApp } = {}) => {
    const signed = n8nSigned(body, options.nowMs, options.secret)
    const signature = options.signature === undefined ? signed.signature : options.signature
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (signature !== null) headers['x-intelagent-signature'] = signature
    return (options.target ?? app).request('/api/webhooks/n8n/licenses', { method: 'POST', headers, body: options.raw ?? signed.raw })
  }
  const order = (extra: Record<string, unknown> = {}) => ({
    orderId: `n8n-${randomBytes(6).toString('hex')}`,
    email: uniqueEmail('n8n'),
    products: ['chatbot'],
    ...extra,
  })
  const licensesFor = (orderId: string) =>
    app.deps.db.selectFrom('licenses').selectAll().where('source', '=', 'n8n').where('external_order_id', '=', orderId).execute()

  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  it('issues a license (201) with a well-formed key, the products, the tier and the email', async () => {
    const body = order({ products: ['chatbot', 'sales-agent'], tier: 'business' })
    const res = await post(body)
    expect(res.status).toBe(201)
    const { license } = (await res.json()) as LicenseBody
    expect(license.key).toMatch(KEY_RE)
    expect(license).toMatchObject({ email: body.email, products: ['chatbot', 'sales-agent'], tier: 'business', orderId: body.orderId, source: 'n8n' })
    const rows = await licensesFor(body.orderId)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.key).toBe(license.key)
  })

  it('defaults the tier to starter', async () => {
    const res = await post(order())
    expect(res.status).toBe(201)
    expect(((await res.json()) as LicenseBody).license.tier).toBe('starter')
  })

  it('answers a replay with 200 and the same license', async () => {
    const body = order()
    const first = (await (await post(body)).json()) as LicenseBody
    const replay = await post(body)
    expect(replay.status).toBe(200)
    expect(((await replay.json()) as LicenseBody).license.key).toBe(first.license.key)
    // The same order with the email in another case is the same purchase.
    const upper = await post({ ...body, email: body.email.toUpperCase() })
    expect(upper.status).toBe(200)
    expect(await licensesFor(body.orderId)).toHaveLength(1)
  })

  it('refuses a signature older than five minutes with 401 stale_signature', async () => {
    const body = order()
    const res = await post(body, { nowMs: Date.now() - 6 * 60_000 })
    expect(res.status).toBe(401)
    expect(((await res.json()) as ErrorBody).error.code).toBe('stale_signature')
    // From the future too.
    const future = await post(body, { nowMs: Date.now() + 6 * 60_000 })
    expect(((await future.json()) as ErrorBody).error.code).toBe('stale_signature')
    expect(await licensesFor(body.orderId)).toHaveLength(0)
  })

  it('goes stale when the server clock moves on', async () => {
    const clock = new ManualClock(Date.now())
    const other = await createTestApp({ clock, sharedDeps: app.deps })
    try {
      const body = order()
      const signed = n8nSigned(body, clock.now())
      clock.advance(301_000)
      const res = await other.request('/api/webhooks/n8n/licenses', {
        method: 'POST',
        headers: { 'x-intelagent-signature': signed.signature },
        body: signed.raw,
      })
      expect(res.status).toBe(401)
      expect(((await res.json()) as ErrorBody).error.code).toBe('stale_signature')
      clock.advance(-2_000)
      const fresh = await other.request('/api/webhooks/n8n/licenses', {
        method: 'POST',
        headers: { 'x-intelagent-signature': signed.signature },
        body: signed.raw,
      })
      expect(fresh.status).toBe(201)
    } finally {
      await other.shutdown()
    }
  })

  it('refuses a wrong secret, a tampered body, a missing or garbled header with 401 invalid_signature', async () => {
    const body = order()
    const good = n8nSigned(body)
    const cases: { raw: string; signature: string | null }[] = [
      { raw: good.raw, signature: n8nSigned(body, Date.now(), 'another-secret-0123456789abcdef').signature },
      { raw: good.raw.replace('chatbot', 'sales-agent'), signature: good.signature },
      { raw: good.raw, signature: null },
      { raw: good.raw, signature: 'garbage' },
      { raw: good.raw, signature: good.signature.replace(/,v1=.*/, '') },
    ]
    for (const c of cases) {
      const res = await post(null, c)
      expect(res.status, JSON.stringify(c.signature)).toBe(401)
      const err = (await res.json()) as ErrorBody
      expect(err.error.code).toBe('invalid_signature')
      expect(err.error.requestId).toBeTruthy()
    }
    expect(await licensesFor(body.orderId)).toHaveLength(0)
  })

  it('refuses an unknown product with 422 validation_failed', async () => {
    const body = order({ products: ['chatbot', 'time-machine'] })
    const res = await post(body)
    expect(res.status).toBe(422)
    expect(((await res.json()) as ErrorBody).error.code).toBe('validation_failed')
    expect(await licensesFor(body.orderId)).toHaveLength(0)
  })

  it('refuses malformed JSON (correctly signed) with 400 invalid_json', async () => {
    const raw = '{"orderId": "x", "email": '
    const ts = Math.floor(Date.now() / 1000)
    const res = await post(null, { raw, signature: signIntelagent(N8N_SECRET, raw, ts) })
    expect(res.status).toBe(400)
    expect(((await res.json()) as ErrorBody).error.code).toBe('invalid_json')
  })

  it('answers 409 idempotency_conflict for the same order with another email', async () => {
    const body = order()
    expect((await post(body)).status).toBe(201)
    const res = await post({ ...body, email: uniqueEmail('someone-else') })
    expect(res.status).toBe(409)
    const err = (await res.json()) as ErrorBody
    expect(err.error.code).toBe('idempotency_conflict')
    expect(JSON.stringify(err)).not.toContain('INTL-')
    const rows = await licensesFor(body.orderId)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.email).toBe(body.email)
  })

  it('answers 503 not_configured when no n8n secret is set', async () => {
    const bare = await createTestApp({ env: { N8N_WEBHOOK_SECRET: '' }, sharedDeps: app.deps })
    try {
      const res = await post(order(), { target: bare })
      expect(res.status).toBe(503)
      expect(((await res.json()) as ErrorBody).error.code).toBe('not_configured')
    } finally {
      await bare.shutdown()
    }
  })

  it('issues exactly one license for 200 concurrent calls with the same order: one 201, the rest 200 with the same key', async () => {
    const body = order({ products: ['data-enrichment'] })
    const responses = await Promise.all(Array.from({ length: 200 }, () => post(body)))
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 200)).toHaveLength(199)
    const keys = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as LicenseBody).license.key)))
    expect(keys.size).toBe(1)
    const rows = await licensesFor(body.orderId)
    expect(rows).toHaveLength(1)
    expect(keys.has(rows[0]!.key)).toBe(true)
  })
})
