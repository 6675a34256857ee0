// Tenant isolation: every customer route, called as license B with license A's ids, answers 404 or B's own
// data, never a byte of A's; A's resources are unchanged afterwards. B's product keys reach only the routes of
// their kind (agnt_: product setup; data_: none of these) and answer 403 insufficient_scope on the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { licenseChannel } from '../src/conversations/service.js'
import { SCOPES } from '../src/keys/scopes.js'
import { putSecret } from '../src/platform/secrets.js'
import { type Customer, configure, newCustomer } from './fixtures.js'
import { createTestApp, type TestApp } from './harness.js'
import { StreamReader } from './sse.js'

const ORIGIN = 'https://a-shop.example.com'

interface Row {
  name: string
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: () => string
  body?: unknown
  /** 404 for a resource of A addressed by id; 'own' when the route answers with the caller's own data. */
  expect: 404 | 'own'
  /** A setup agent (agnt_) key may call it: product setup. */
  setup?: true
}

async function readFor(res: Response, ms: number): Promise<string> {
  const stream = new StreamReader(res)
  const text = await stream.for(ms)
  await stream.close()
  return text
}

describe('tenant isolation', () => {
  let app: TestApp
  let a: Customer
  let b: Customer
  const bKeys = { api: '', agnt: '', data: '' }
  const aIds = { chatKey: '', dataKey: '', salesKey: '', conversation: '', lead: '', knowledge: '' }
  const aKeys: string[] = []
  const aSecrets: string[] = []

  const snapshotA = async () => {
    const keys = await app.deps.db
      .selectFrom('product_keys')
      .select(['id', 'status', 'allowed_origins', 'expires_at', 'replaced_by'])
      .where('license_id', '=', a.licenseId)
      .orderBy('id')
      .execute()
    const settings = await app.deps.db
      .selectFrom('product_settings')
      .select(['product', 'settings'])
      .where('license_id', '=', a.licenseId)
      .orderBy('product')
      .execute()
    const messages = await app.deps.db.selectFrom('messages').select(['id', 'text']).where('license_id', '=', a.licenseId).orderBy('id').execute()
    const knowledge = await app.deps.db.selectFrom('knowledge_items').select(['id', 'title']).where('license_id', '=', a.licenseId).execute()
    const secrets = await app.deps.db.selectFrom('integration_secrets').select(['name', 'ciphertext']).where('license_id', '=', a.licenseId).execute()
    return JSON.stringify({ keys, settings, messages, knowledge, secrets })
  }

  beforeAll(async () => {
    app = await createTestApp()
    a = await newCustomer(app, { products: ['chatbot', 'sales-agent', 'data-enrichment', 'setup-agent'] })
    b = await newCustomer(app, { products: ['chatbot', 'sales-agent', 'data-enrichment', 'setup-agent'] })

    const chat = await configure(app, a, 'chatbot', { allowedOrigins: [ORIGIN], settings: { botName: 'Alpha private bot' } })
    const data = await configure(app, a, 'data-enrichment')
    const sales = await configure(app, a, 'sales-agent', { allowedOrigins: [ORIGIN] })
    aIds.chatKey = chat.id
    aIds.dataKey = data.id
    aIds.salesKey = sales.id
    aKeys.push(chat.key, data.key, sales.key)
    aSecrets.push(a.email, a.licenseKey, a.licenseId, chat.key, data.key, sales.key, chat.id, data.id, sales.id, 'Alpha private bot')

    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': chat.key, origin: ORIGIN }, json: {} })
    expect(started.status).toBe(201)
    const startedBody = (await started.json()) as { conversation: { id: string }; visitorToken: string }
    aIds.conversation = startedBody.conversation.id
    // A visitor question: analytics ranks it among A's top questions, and only A's.
    const asked = await app.request(`/api/widget/conversations/${aIds.conversation}/messages`, {
      method: 'POST',
      headers: { 'x-product-key': chat.key, origin: ORIGIN },
      token: startedBody.visitorToken,
      json: { clientMessageId: 'alpha-q', text: 'Alpha confidential question' },
    })
    expect(asked.status).toBe(201)
    aSecrets.push('Alpha confidential question')
    const lead = await app.request('/api/widget/leads', {
      method: 'POST',
      headers: { 'x-product-key': sales.key, origin: ORIGIN },
      json: { name: 'Alice Alpha', email: 'alice.alpha@a-shop.example.com', consent: true },
    })
    expect(lead.status).toBe(201)
    aIds.lead = ((await lead.json()) as { lead: { id: string } }).lead.id
    const item = await app.deps.db
      .insertInto('knowledge_items')
      .values({ license_id: a.licenseId, product: 'chatbot', kind: 'qa', title: 'Alpha internal pricing', body: 'Alpha secret discount code' })
      .returning('id')
      .executeTakeFirstOrThrow()
    aIds.knowledge = item.id
    aSecrets.push(aIds.conversation, aIds.lead, 'alice.alpha@a-shop.example.com', aIds.knowledge, 'Alpha internal pricing', 'Alpha secret discount code')

    await putSecret(app.deps, a.licenseId, 'chatbot', 'openai_api_key', 'sk-alpha-private-key-Qq9Z')
    aSecrets.push('sk-alpha-private-key-Qq9Z', 'Qq9Z')

    bKeys.agnt = (await configure(app, b, 'setup-agent')).key
    bKeys.data = (await configure(app, b, 'data-enrichment')).key
    const api = await app.request('/api/api-keys', { method: 'POST', token: b.token, json: { name: 'all scopes', scopes: SCOPES } })
    expect(api.status).toBe(201)
    bKeys.api = ((await api.json()) as { key: string }).key
    await app.jobs.idle()
  })
  afterAll(async () => app.shutdown())

  const routes: Row[] = [
    { name: 'list keys', method: 'GET', path: () => '/api/products/keys', expect: 'own', setup: true },
    { name: 'rotate A’s key', method: 'POST', path: () => `/api/products/keys/${aIds.chatKey}/rotate`, body: { gracePeriodSeconds: 0 }, expect: 404 },
    { name: 'rotate A’s secret key', method: 'POST', path: () => `/api/products/keys/${aIds.dataKey}/rotate`, body: {}, expect: 404 },
    { name: 'revoke A’s key', method: 'POST', path: () => `/api/products/keys/${aIds.chatKey}/revoke`, expect: 404 },
    { name: 'revoke A’s secret key', method: 'POST', path: () => `/api/products/keys/${aIds.dataKey}/revoke`, expect: 404 },
    {
      name: 'set origins of A’s key',
      method: 'PUT',
      path: () => `/api/products/keys/${aIds.salesKey}/origins`,
      body: { allowedOrigins: ['https://evil.example'] },
      expect: 404,
      setup: true,
    },
    { name: 'configure', method: 'POST', path: () => '/api/products/chatbot/configure', body: {}, expect: 'own', setup: true },
    { name: 'read settings', method: 'GET', path: () => '/api/products/chatbot/settings', expect: 'own', setup: true },
    { name: 'patch settings', method: 'PATCH', path: () => '/api/products/chatbot/settings', body: { greeting: 'Hello from B' }, expect: 'own', setup: true },
    { name: 'audit log', method: 'GET', path: () => '/api/audit', expect: 'own' },
    { name: 'list knowledge', method: 'GET', path: () => '/api/products/chatbot/knowledge', expect: 'own', setup: true },
    {
      name: 'add knowledge',
      method: 'POST',
      path: () => '/api/products/chatbot/knowledge',
      body: { kind: 'qa', title: 'B question', body: 'B answer' },
      expect: 'own',
      setup: true,
    },
    {
      name: 'store an integration secret',
      method: 'PUT',
      path: () => '/api/products/chatbot/secrets/webhook_signing_secret',
      body: { value: 'b-signing-secret-123456' },
      expect: 'own',
      setup: true,
    },
    { name: 'list stored integration secrets', method: 'GET', path: () => '/api/products/chatbot/secrets', expect: 'own', setup: true },
    { name: 'delete A’s knowledge', method: 'DELETE', path: () => `/api/products/chatbot/knowledge/${aIds.knowledge}`, expect: 404, setup: true },
    { name: 'list conversations', method: 'GET', path: () => '/api/products/chatbot/conversations', expect: 'own' },
    { name: 'read A’s conversation', method: 'GET', path: () => `/api/conversations/${aIds.conversation}`, expect: 404 },
    {
      name: 'reply in A’s conversation',
      method: 'POST',
      path: () => `/api/conversations/${aIds.conversation}/messages`,
      body: { text: 'B was here' },
      expect: 404,
    },
    { name: 'list leads', method: 'GET', path: () => '/api/products/sales-agent/leads', expect: 'own' },
    { name: 'analytics', method: 'GET', path: () => '/api/analytics?product=chatbot', expect: 'own' },
    { name: 'analytics CSV', method: 'GET', path: () => '/api/analytics/export', expect: 'own' },
  ]

  for (const as of ['session', 'API key with every scope', 'agnt_ key', 'data_ key'] as const) {
    describe(`as license B with a ${as}`, () => {
      it.each(routes)('$method $name', async (row) => {
        const before = await snapshotA()
        const token = { session: b.token, 'API key with every scope': bKeys.api, 'agnt_ key': bKeys.agnt, 'data_ key': bKeys.data }[as]
        const res = await app.request(row.path(), { method: row.method, token, ...(row.body === undefined ? {} : { json: row.body }) })
        const text = await res.text()
        const allowed = as === 'session' || as === 'API key with every scope' || (as === 'agnt_ key' && row.setup === true)
        if (!allowed) {
          expect(res.status, text).toBe(403)
          expect(JSON.parse(text).error.code).toBe('insufficient_scope')
        } else if (row.expect === 404) {
          expect(res.status, text).toBe(404)
          expect(JSON.parse(text).error.code).toBe('not_found')
        } else {
          expect([200, 201], text).toContain(res.status)
        }
        for (const secret of aSecrets) expect(text, `${row.name} leaked ${secret}`).not.toContain(secret)
        expect(await snapshotA()).toBe(before)
      })
    })
  }

  it('keeps A’s keys working and A’s data intact after all of that', async () => {
    for (const id of [aIds.chatKey, aIds.salesKey, aIds.dataKey]) {
      const row = await app.deps.db.selectFrom('product_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
      expect(row.status).toBe('active')
      expect(row.expires_at).toBeNull()
    }
    for (const key of aKeys) expect((await app.keys.resolve(key)).licenseId).toBe(a.licenseId)
    const keys = (await (await app.request('/api/products/keys', { token: a.token })).json()) as { keys: { id: string; allowedOrigins: string[] }[] }
    expect(keys.keys.find((k) => k.id === aIds.salesKey)?.allowedOrigins).toEqual([ORIGIN])
    const settings = (await (await app.request('/api/products/chatbot/settings', { token: a.token })).json()) as {
      settings: { botName: string; greeting: string }
    }
    expect(settings.settings.botName).toBe('Alpha private bot')
    expect(settings.settings.greeting).not.toBe('Hello from B')
    const conv = await app.request(`/api/conversations/${aIds.conversation}`, { token: a.token })
    expect(conv.status).toBe(200)
    const messages = ((await conv.json()) as { messages: { text: string }[] }).messages
    expect(messages.some((m) => m.text === 'B was here')).toBe(false)
    const audit = (await (await app.request('/api/audit', { token: a.token })).json()) as { entries: { actor: string | null }[] }
    expect(audit.entries.length).toBeGreaterThan(0)
    expect(audit.entries.every((e) => e.actor === null || e.actor === a.email || e.actor === 'cli')).toBe(true)
  })

  it('counts A’s conversations in A’s analytics only', async () => {
    const figures = async (token: string) => {
      const res = await app.request('/api/analytics', { token })
      expect(res.status).toBe(200)
      return (await res.json()) as { totals: { conversations: number; leads: number }; topQuestions: { question: string }[] }
    }
    const ofA = await figures(a.token)
    expect(ofA.totals).toMatchObject({ conversations: 1, leads: 1 })
    expect(ofA.topQuestions.map((q) => q.question)).toContain('Alpha confidential question')
    const ofB = await figures(b.token)
    expect(ofB.totals).toMatchObject({ conversations: 0, leads: 0 })
    expect(ofB.topQuestions).toEqual([])
  })

  it('streams only the caller’s own events on /api/events', async () => {
    const [streamA, streamB] = await Promise.all([app.request('/api/events', { token: a.token }), app.request('/api/events', { token: b.token })])
    expect(streamA.status).toBe(200)
    expect(streamB.status).toBe(200)
    const reading = Promise.all([readFor(streamA, 400), readFor(streamB, 400)])
    await new Promise((r) => setTimeout(r, 100))
    await app.deps.cache.publish(licenseChannel(a.licenseId), JSON.stringify({ type: 'lead.created', leadId: aIds.lead, product: 'sales-agent' }))
    const [textA, textB] = await reading
    expect(textA).toContain(aIds.lead)
    for (const secret of aSecrets) expect(textB).not.toContain(secret)
  })
})
