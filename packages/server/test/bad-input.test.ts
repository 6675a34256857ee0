// Bad input never answers 500: every endpoint, fed malformed JSON, wrong types, unknown fields, oversize bodies,
// bad signatures, stale timestamps and malformed keys, answers a 4xx with the JSON error envelope.
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../src/account/password.js'
import { putSecret } from '../src/platform/secrets.js'
import { signIntelagent } from '../src/platform/signature.js'
import { type Customer, configure, newCustomer, uniqueEmail } from './fixtures.js'
import { createTestApp, N8N_SECRET, SQUARESPACE_SECRET_HEX, type TestApp } from './harness.js'

const ORIGIN = 'https://shop.example.com'
const OVERSIZE = 64 * 1024 + 1
/** The chatbot's own signing secret: n8n replies are verified with it, not with N8N_WEBHOOK_SECRET. */
const REPLY_SECRET = 'chatbot-reply-secret-0123'

interface Endpoint {
  name: string
  method: 'POST' | 'PUT' | 'PATCH'
  path: () => string
  /** Authentication the endpoint needs; the bad-credential cases replace it. */
  auth: 'session' | 'admin' | 'widget' | 'visitor' | 'n8n' | 'n8n-reply' | 'squarespace' | 'none'
  valid: () => Record<string, unknown>
  wrongTypes: Record<string, unknown>
  /** Unknown fields are refused (strict schema); Squarespace may add fields to its notifications at any time. */
  strict: boolean
}

interface Case {
  name: string
  /** Built when the test runs: ids and keys exist only after beforeAll. */
  raw: () => string
  status: number
  code: string
  /** Override the endpoint's signature / credentials. */
  headers?: (raw: string) => Record<string, string>
}

async function expectEnvelope(res: Response, status: number, code: string, label: string) {
  const text = await res.text()
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBe(status)
  expect(res.headers.get('content-type') ?? '', label).toMatch(/application\/json/)
  const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string } }
  expect(body.error.code, label).toBe(code)
  expect(body.error.code).toMatch(/^[a-z]+(_[a-z]+)*$/)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
  expect(body.error.requestId).toBeTruthy()
  expect(res.headers.get('x-request-id')).toBe(body.error.requestId)
}

describe('bad input', () => {
  let app: TestApp
  let customer: Customer
  let adminToken: string
  let chatKey: string
  let keyId: string
  let conversationId: string
  let visitorToken: string

  const credentials = (auth: Endpoint['auth'], raw: string): Record<string, string> => {
    switch (auth) {
      case 'session':
        return { authorization: `Bearer ${customer.token}` }
      case 'admin':
        return { authorization: `Bearer ${adminToken}` }
      case 'widget':
        return { 'x-product-key': chatKey, origin: ORIGIN }
      case 'visitor':
        return { 'x-product-key': chatKey, origin: ORIGIN, authorization: `Bearer ${visitorToken}` }
      case 'n8n':
        return { 'x-intelagent-signature': signIntelagent(N8N_SECRET, raw, Math.floor(Date.now() / 1000)) }
      case 'n8n-reply':
        return { 'x-intelagent-signature': signIntelagent(REPLY_SECRET, raw, Math.floor(Date.now() / 1000)) }
      case 'squarespace':
        return { 'squarespace-signature': createHmac('sha256', Buffer.from(SQUARESPACE_SECRET_HEX, 'hex')).update(raw).digest('hex') }
      case 'none':
        return {}
    }
  }

  const send = (e: Endpoint, raw: string, override?: Record<string, string>) =>
    app.request(e.path(), { method: e.method, headers: { 'content-type': 'application/json', ...(override ?? credentials(e.auth, raw)) }, body: raw })

  beforeAll(async () => {
    app = await createTestApp()
    customer = await newCustomer(app)
    const chat = await configure(app, customer, 'chatbot', { allowedOrigins: [ORIGIN] })
    chatKey = chat.key
    await putSecret(app.deps, customer.licenseId, 'chatbot', 'webhook_signing_secret', REPLY_SECRET)
    keyId = chat.id
    const admin = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const login = await app.request('/api/auth/login', { method: 'POST', json: { email: admin, password: 'operator password' } })
    adminToken = ((await login.json()) as { token: string }).token
    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': chatKey, origin: ORIGIN }, json: {} })
    const body = (await started.json()) as { conversation: { id: string }; visitorToken: string }
    conversationId = body.conversation.id
    visitorToken = body.visitorToken
  })
  afterAll(async () => app.shutdown())

  const endpoints: Endpoint[] = [
    {
      name: 'register',
      method: 'POST',
      path: () => '/api/auth/register',
      auth: 'none',
      valid: () => ({ email: uniqueEmail(), password: 'correct horse battery', license_key: 'INTL-0000-0000-0000' }),
      wrongTypes: { email: 42, password: true, license_key: [] },
      strict: true,
    },
    {
      name: 'login',
      method: 'POST',
      path: () => '/api/auth/login',
      auth: 'none',
      valid: () => ({ email: uniqueEmail(), password: 'whatever it is' }),
      wrongTypes: { email: ['x'], password: 1 },
      strict: true,
    },
    {
      name: 'configure',
      method: 'POST',
      path: () => '/api/products/chatbot/configure',
      auth: 'session',
      valid: () => ({ allowedOrigins: [ORIGIN] }),
      wrongTypes: { allowedOrigins: ORIGIN, newKey: 'yes' },
      strict: true,
    },
    {
      name: 'rotate',
      method: 'POST',
      path: () => `/api/products/keys/${keyId}/rotate`,
      auth: 'session',
      valid: () => ({ gracePeriodSeconds: 60 }),
      wrongTypes: { gracePeriodSeconds: '60' },
      strict: true,
    },
    {
      name: 'origins',
      method: 'PUT',
      path: () => `/api/products/keys/${keyId}/origins`,
      auth: 'session',
      valid: () => ({ allowedOrigins: [ORIGIN] }),
      wrongTypes: { allowedOrigins: ORIGIN },
      strict: true,
    },
    {
      name: 'settings',
      method: 'PATCH',
      path: () => '/api/products/chatbot/settings',
      auth: 'session',
      valid: () => ({ botName: 'Ada' }),
      wrongTypes: { threshold: 'high', color: 5 },
      strict: true,
    },
    {
      name: 'knowledge',
      method: 'POST',
      path: () => '/api/products/chatbot/knowledge',
      auth: 'session',
      valid: () => ({ kind: 'qa', title: 'Q', body: 'A' }),
      wrongTypes: { kind: 5, title: [], body: {} },
      strict: false,
    },
    {
      name: 'integration secret',
      method: 'PUT',
      // sales-agent: the n8n replies below are for a chatbot conversation, signed with the chatbot's secret.
      path: () => '/api/products/sales-agent/secrets/webhook_signing_secret',
      auth: 'session',
      valid: () => ({ value: 'a-signing-secret-123' }),
      wrongTypes: { value: 12345678 },
      strict: true,
    },
    {
      name: 'agent reply',
      method: 'POST',
      path: () => `/api/conversations/${conversationId}/messages`,
      auth: 'session',
      valid: () => ({ text: 'Hello from a human' }),
      wrongTypes: { text: 5 },
      strict: true,
    },
    {
      name: 'admin license status',
      method: 'POST',
      path: () => `/api/admin/licenses/${customer.licenseId}/status`,
      auth: 'admin',
      valid: () => ({ status: 'active' }),
      wrongTypes: { status: 'deleted' },
      strict: true,
    },
    {
      name: 'n8n licenses',
      method: 'POST',
      path: () => '/api/webhooks/n8n/licenses',
      auth: 'n8n',
      valid: () => ({ orderId: `o-${randomBytes(4).toString('hex')}`, email: uniqueEmail(), products: ['chatbot'] }),
      wrongTypes: { orderId: 5, email: 'x', products: 'chatbot' },
      strict: true,
    },
    {
      name: 'n8n replies',
      method: 'POST',
      path: () => '/api/webhooks/n8n/replies',
      auth: 'n8n-reply',
      valid: () => ({ conversationId, text: 'Answer from n8n' }),
      wrongTypes: { conversationId: 5, text: [] },
      strict: true,
    },
    {
      name: 'squarespace',
      method: 'POST',
      path: () => '/api/webhooks/squarespace',
      auth: 'squarespace',
      valid: () => ({ id: `n-${randomBytes(4).toString('hex')}`, topic: 'order.create', data: { orderId: 'o-1' } }),
      wrongTypes: { id: 5, topic: ['order.create'] },
      strict: false,
    },
    {
      name: 'widget conversation',
      method: 'POST',
      path: () => '/api/widget/conversations',
      auth: 'widget',
      valid: () => ({ pageUrl: `${ORIGIN}/` }),
      wrongTypes: { visitorId: 5 },
      strict: true,
    },
    {
      name: 'widget message',
      method: 'POST',
      path: () => `/api/widget/conversations/${conversationId}/messages`,
      auth: 'visitor',
      valid: () => ({ clientMessageId: `m-${randomBytes(4).toString('hex')}`, text: 'hi' }),
      wrongTypes: { clientMessageId: 5, text: 5 },
      strict: true,
    },
    {
      name: 'widget lead',
      method: 'POST',
      path: () => '/api/widget/leads',
      auth: 'widget',
      valid: () => ({ name: 'Ada', email: uniqueEmail(), consent: true }),
      wrongTypes: { name: 5, email: 'no', consent: 'yes' },
      strict: true,
    },
  ]

  const casesFor = (e: Endpoint): Case[] => {
    const valid = () => JSON.stringify(e.valid())
    const cases: Case[] = [
      { name: 'malformed JSON', raw: () => '{"email": ', status: 400, code: 'invalid_json' },
      { name: 'a JSON array', raw: () => '[1, 2, 3]', status: 422, code: 'validation_failed' },
      { name: 'a JSON string', raw: () => '"hello"', status: 422, code: 'validation_failed' },
      { name: 'wrong types', raw: () => JSON.stringify(e.wrongTypes), status: 422, code: 'validation_failed' },
      { name: 'an oversize body', raw: () => JSON.stringify({ ...e.valid(), padding: 'x'.repeat(OVERSIZE) }), status: 413, code: 'payload_too_large' },
    ]
    if (e.strict) cases.push({ name: 'an unknown field', raw: () => JSON.stringify({ ...e.valid(), isAdmin: true }), status: 422, code: 'validation_failed' })
    if (e.auth === 'session' || e.auth === 'admin') {
      cases.push(
        { name: 'no credentials', raw: valid, status: 401, code: 'unauthorized', headers: () => ({}) },
        { name: 'a garbage token', raw: valid, status: 401, code: 'token_invalid', headers: () => ({ authorization: 'Bearer not-a-token' }) },
        { name: 'a malformed secret key', raw: valid, status: 400, code: 'malformed_key', headers: () => ({ authorization: `Bearer data_${'x'.repeat(28)}` }) },
        {
          name: 'a non-Bearer scheme',
          raw: valid,
          status: 401,
          code: 'unauthorized',
          headers: () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
        },
      )
    }
    if (e.auth === 'widget' || e.auth === 'visitor') {
      cases.push(
        { name: 'no product key', raw: valid, status: 401, code: 'invalid_key', headers: () => ({ origin: ORIGIN }) },
        { name: 'a malformed product key', raw: valid, status: 400, code: 'malformed_key', headers: () => ({ 'x-product-key': 'chat_123', origin: ORIGIN }) },
        {
          name: 'a foreign origin',
          raw: valid,
          status: 403,
          code: 'origin_not_allowed',
          headers: () => ({ 'x-product-key': chatKey, origin: 'https://evil.example' }),
        },
      )
    }
    const now = () => Math.floor(Date.now() / 1000)
    if (e.auth === 'n8n' || e.auth === 'n8n-reply') {
      cases.push(
        { name: 'no signature', raw: valid, status: 401, code: 'invalid_signature', headers: () => ({}) },
        {
          name: 'a bad signature',
          raw: valid,
          status: 401,
          code: 'invalid_signature',
          headers: (raw) => ({ 'x-intelagent-signature': signIntelagent('wrong-secret-0123456789', raw, now()) }),
        },
        { name: 'a garbled signature header', raw: valid, status: 401, code: 'invalid_signature', headers: () => ({ 'x-intelagent-signature': 'v1=;t=' }) },
        {
          name: 'a stale timestamp',
          raw: valid,
          status: 401,
          code: 'stale_signature',
          headers: (raw) => ({ 'x-intelagent-signature': signIntelagent(N8N_SECRET, raw, now() - 3600) }),
        },
      )
    }
    if (e.auth === 'squarespace') {
      cases.push(
        { name: 'no signature', raw: valid, status: 401, code: 'invalid_signature', headers: () => ({}) },
        { name: 'a bad signature', raw: valid, status: 401, code: 'invalid_signature', headers: () => ({ 'squarespace-signature': 'ab'.repeat(32) }) },
      )
    }
    return cases
  }

  for (const e of endpoints) {
    describe(`${e.method} ${e.name}`, () => {
      it.each(casesFor(e).map((c) => [c.name, c] as const))('answers %s with a 4xx envelope', async (_, c) => {
        // Signed webhooks get a valid signature over the bad body, so the body itself is what is judged.
        const raw = c.raw()
        const res = await send(e, raw, c.headers?.(raw))
        await expectEnvelope(res, c.status, c.code, `${e.name} / ${c.name}`)
      })

      it('accepts the valid body (so the cases above fail for the reason they name)', async () => {
        const res = await send(e, JSON.stringify(e.valid()))
        const text = await res.clone().text()
        expect(res.status, text).toBeLessThan(500)
        if (e.name !== 'register' && e.name !== 'login') expect([200, 201], text).toContain(res.status)
      })
    })
  }

  it('answers malformed path parameters and queries with 422, never 500', async () => {
    const token = customer.token
    const cases: [string, RequestInit & { token?: string; json?: unknown }][] = [
      ['/api/products/keys/not-a-uuid/revoke', { method: 'POST', token }],
      ['/api/products/keys/00000000-0000-0000-0000-00000000000g/rotate', { method: 'POST', token }],
      ['/api/products/time-machine/settings', { token }],
      ['/api/products/chatbot/conversations?limit=0', { token }],
      ['/api/products/chatbot/conversations?cursor=%7Bnot-a-cursor', { token }],
      ['/api/products/chatbot/leads?limit=abc', { token }],
      ['/api/audit?limit=-1', { token }],
      ['/api/conversations/123', { token }],
      [`/api/admin/licenses/${'x'.repeat(10)}/status`, { method: 'POST', token: adminToken, json: { status: 'active' } }],
      ['/api/admin/licenses?limit=100000', { token: adminToken }],
    ]
    for (const [path, init] of cases) await expectEnvelope(await app.request(path, init), 422, 'validation_failed', path)
  })

  it('answers an unknown route, or a known one with the wrong method, with 404 not_found', async () => {
    await expectEnvelope(await app.request('/api/does-not-exist'), 404, 'not_found', 'unknown route')
    await expectEnvelope(await app.request('/api/auth/login', { method: 'GET' }), 404, 'not_found', 'wrong method')
    await expectEnvelope(
      await app.request(`/api/products/keys/${randomUUID()}/revoke`, { method: 'POST', token: customer.token }),
      404,
      'not_found',
      'unknown id',
    )
  })

  it('answers a non-JSON content type on a JSON route with 415', async () => {
    const res = await app.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"email":"a@b.co","password":"x"}' })
    await expectEnvelope(res, 415, 'unsupported_media_type', 'text/plain login')
  })
})
