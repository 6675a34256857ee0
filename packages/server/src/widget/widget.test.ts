import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import { addKnowledge } from '../knowledge/knowledge.js'

const ORIGIN = 'https://shop.example.com'

interface Started {
  conversation: { id: string }
  visitorId: string
  visitorSecret?: string
  visitorToken: string
  messages: { role: string; text: string; seq: number }[]
}

describe('widget API', () => {
  let app: TestApp
  let owner: Customer
  let key: string
  let other: Customer
  let otherKey: string

  const widget = (path: string, init: RequestInit & { json?: unknown; token?: string; origin?: string; productKey?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-product-key', init.productKey ?? key)
    headers.set('origin', init.origin ?? ORIGIN)
    return app.request(path, { ...init, headers })
  }
  const start = async (body: unknown = {}, productKey = key) => {
    const res = await widget('/api/widget/conversations', { method: 'POST', json: body, productKey })
    return { res, body: (await res.json()) as Started }
  }

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    await addKnowledge(app.deps.db, owner.licenseId, 'chatbot', {
      kind: 'qa',
      title: 'What are your opening hours?',
      body: 'We are open 9am to 5pm, Monday to Friday.',
    })
    other = await newCustomer(app)
    otherKey = (await configure(app, other, 'chatbot', { allowedOrigins: [ORIGIN] })).key
  })
  afterAll(async () => app.shutdown())

  it('serves the config for a publishable key from an allowed origin, with CORS for that origin', async () => {
    const res = await widget('/api/widget/config')
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(res.headers.get('ratelimit-policy')).toMatch(/q=\d+;w=60/)
    const body = (await res.json()) as { product: string; engine: string; greeting: string }
    expect(body).toMatchObject({ product: 'chatbot', engine: 'knowledge' })
    expect(body.greeting.length).toBeGreaterThan(0)
  })

  it('refuses an origin outside the allow-list, a missing key, a malformed key and a secret key', async () => {
    const refused = await widget('/api/widget/config', { origin: 'https://evil.example.net' })
    expect(refused.status).toBe(403)
    // The refusal is readable by the page (so the widget can say why), but carries no data.
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://evil.example.net')
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed')
    const malformed = await widget('/api/widget/config', { productKey: 'chat_nope' })
    expect(malformed.status).toBe(400)
    const secret = await configure(app, owner, 'data-enrichment')
    const withSecret = await widget('/api/widget/config', { productKey: secret.key })
    expect(withSecret.status).toBe(401)
    expect(((await withSecret.json()) as { error: { code: string } }).error.code).toBe('invalid_key')
  })

  it('treats a same-origin browser request without Origin as coming from the server itself', async () => {
    const res = await app.request('/api/widget/config', { headers: { 'x-product-key': key, 'sec-fetch-site': 'same-origin' } })
    expect(res.status).toBe(403)
    const demoKey = (await configure(app, owner, 'sales-agent', { allowedOrigins: ['http://intelagent.test'] })).key
    const same = await app.request('/api/widget/config', { headers: { 'x-product-key': demoKey, 'sec-fetch-site': 'same-origin' } })
    expect(same.status).toBe(200)
    const none = await app.request('/api/widget/config', { headers: { 'x-product-key': demoKey } })
    expect(none.status).toBe(403)
  })

  it('answers CORS preflights without a key', async () => {
    const res = await app.request('/api/widget/conversations', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-product-key, content-type' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-headers')).toContain('X-Product-Key')
  })

  it('starts a conversation with the greeting, answers from knowledge, and keeps every message once', async () => {
    const { res, body } = await start({ pageUrl: 'https://shop.example.com/pricing' })
    expect(res.status).toBe(201)
    expect(body.visitorSecret).toBeTruthy()
    expect(body.messages[0]?.role).toBe('assistant')
    const path = `/api/widget/conversations/${body.conversation.id}/messages`
    const send = () => widget(path, { method: 'POST', token: body.visitorToken, json: { clientMessageId: 'm-1', text: 'what are your opening hours' } })
    const first = await send()
    expect(first.status).toBe(201)
    const sent = (await first.json()) as { message: { id: string; seq: number }; replies: { role: string; text: string }[] }
    expect(sent.replies[0]?.role).toBe('assistant')
    expect(sent.replies[0]?.text).toContain('9am')
    const replay = await send()
    expect(replay.status).toBe(200)
    expect(((await replay.json()) as { message: { id: string } }).message.id).toBe(sent.message.id)
    const list = await widget(`${path}?after=0`, { token: body.visitorToken })
    const { messages } = (await list.json()) as { messages: { role: string; clientMessageId: string | null }[] }
    expect(messages.map((m) => m.role)).toEqual(['assistant', 'visitor', 'assistant'])
    expect(messages.filter((m) => m.clientMessageId === 'm-1')).toHaveLength(1)
  })

  it('stores a message once under concurrent retries and gives concurrent messages distinct, gap-free seqs', async () => {
    const { body } = await start()
    const path = `/api/widget/conversations/${body.conversation.id}/messages`
    const post = (clientMessageId: string, text: string) => widget(path, { method: 'POST', token: body.visitorToken, json: { clientMessageId, text } })
    const retries = await Promise.all(Array.from({ length: 20 }, () => post('same-id', 'sent twenty times')))
    const ids = new Set(await Promise.all(retries.map(async (r) => ((await r.json()) as { message: { id: string } }).message.id)))
    expect(ids.size).toBe(1)
    expect(retries.filter((r) => r.status === 201)).toHaveLength(1)
    await Promise.all(Array.from({ length: 10 }, (_, i) => post(`distinct-${i}`, `message number ${i}`)))
    const list = await widget(`${path}?after=0`, { token: body.visitorToken })
    const { messages } = (await list.json()) as { messages: { seq: number; clientMessageId: string | null }[] }
    expect(messages.filter((m) => m.clientMessageId === 'same-id')).toHaveLength(1)
    expect(messages.filter((m) => m.clientMessageId?.startsWith('distinct-'))).toHaveLength(10)
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1))
  })

  it('falls back honestly when the knowledge has no answer', async () => {
    const { body } = await start()
    const res = await widget(`/api/widget/conversations/${body.conversation.id}/messages`, {
      method: 'POST',
      token: body.visitorToken,
      json: { clientMessageId: 'q', text: 'Can I bring my pet giraffe to the quantum lab?' },
    })
    const sent = (await res.json()) as { replies: { text: string }[] }
    expect(sent.replies[0]?.text).toMatch(/email/i)
  })

  it('resumes a conversation with the visitor secret and refuses a wrong secret', async () => {
    const { body } = await start()
    const resumed = await start({ visitorId: body.visitorId, visitorSecret: body.visitorSecret, conversationId: body.conversation.id })
    expect(resumed.res.status).toBe(200)
    expect(resumed.body.conversation.id).toBe(body.conversation.id)
    expect(resumed.body.visitorSecret).toBeUndefined()
    const wrong = await start({ visitorId: body.visitorId, visitorSecret: 'x'.repeat(32), conversationId: body.conversation.id })
    expect(wrong.res.status).toBe(401)
  })

  it("hides one visitor's conversation from another visitor and from another license", async () => {
    const a = await start()
    const b = await start()
    const path = `/api/widget/conversations/${a.body.conversation.id}/messages`
    const asB = await widget(path, { token: b.body.visitorToken })
    expect(asB.status).toBe(404)
    const otherLicense = await start({}, otherKey)
    const crossLicense = await widget(path, { token: otherLicense.body.visitorToken, productKey: otherKey })
    expect(crossLicense.status).toBe(404)
    const noToken = await widget(path)
    expect(noToken.status).toBe(401)
    const stolen = await start({ visitorId: a.body.visitorId, visitorSecret: a.body.visitorSecret, conversationId: a.body.conversation.id }, otherKey)
    expect(stolen.res.status).toBe(401)
  })

  it('streams stored and live messages over SSE and resumes after Last-Event-ID', async () => {
    const { body } = await start()
    const path = `/api/widget/conversations/${body.conversation.id}`
    await widget(`${path}/messages`, { method: 'POST', token: body.visitorToken, json: { clientMessageId: 'a', text: 'hello there' } })
    const controller = new AbortController()
    const res = await widget(`${path}/events?token=${body.visitorToken}`, { headers: { 'last-event-id': '1' }, signal: controller.signal })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const stream = new StreamReader(res)
    const replayed = await stream.until((t) => (t.match(/event: message/g) ?? []).length >= 2)
    expect(replayed).not.toContain('id: 1\n')
    expect(replayed).toContain('id: 2\n')
    await app.request(`/api/conversations/${body.conversation.id}/messages`, { method: 'POST', token: owner.token, json: { text: 'A human here, hello!' } })
    expect(await stream.until((t) => t.includes('A human here'))).toContain('"role":"agent"')
    controller.abort()
  })

  it('stores a lead only with consent and lists it for the owner alone', async () => {
    const { body } = await start()
    const noConsent = await widget('/api/widget/leads', { method: 'POST', json: { name: 'Ann', email: 'ann@example.com', consent: false } })
    expect(noConsent.status).toBe(422)
    const ok = await widget('/api/widget/leads', {
      method: 'POST',
      token: body.visitorToken,
      json: { conversationId: body.conversation.id, name: 'Ann', email: 'ann@example.com', company: 'Acme', message: 'Call me', consent: true },
    })
    expect(ok.status).toBe(201)
    const mine = (await (await app.request('/api/products/chatbot/leads', { token: owner.token })).json()) as { leads: { email: string }[] }
    expect(mine.leads.map((l) => l.email)).toContain('ann@example.com')
    const theirs = (await (await app.request('/api/products/chatbot/leads', { token: other.token })).json()) as { leads: unknown[] }
    expect(theirs.leads).toHaveLength(0)
  })

  it('lists conversations for the owner, and another license sees none of them', async () => {
    const mine = (await (await app.request('/api/products/chatbot/conversations?limit=2', { token: owner.token })).json()) as {
      conversations: { id: string; messageCount: number }[]
      nextCursor: string | null
    }
    expect(mine.conversations).toHaveLength(2)
    expect(mine.nextCursor).toBeTruthy()
    const next = (await (await app.request(`/api/products/chatbot/conversations?limit=2&cursor=${mine.nextCursor}`, { token: owner.token })).json()) as {
      conversations: { id: string }[]
    }
    expect(next.conversations.map((c) => c.id)).not.toContain(mine.conversations[0]?.id)
    const id = mine.conversations[0]?.id as string
    expect((await app.request(`/api/conversations/${id}`, { token: other.token })).status).toBe(404)
    expect((await app.request(`/api/conversations/${id}/messages`, { method: 'POST', token: other.token, json: { text: 'hi' } })).status).toBe(404)
    expect((await app.request(`/api/conversations/${id}`, { token: owner.token })).status).toBe(200)
  })

  it('rejects bad message input with 4xx envelopes', async () => {
    const { body } = await start()
    const path = `/api/widget/conversations/${body.conversation.id}/messages`
    for (const json of [
      { text: 'no id' },
      { clientMessageId: 'x', text: '' },
      { clientMessageId: 'bad id!', text: 'x' },
      { clientMessageId: 'x', text: 'x', extra: 1 },
    ]) {
      const res = await widget(path, { method: 'POST', token: body.visitorToken, json })
      expect(res.status).toBe(422)
    }
    const broken = await widget(path, { method: 'POST', token: body.visitorToken, body: '{"text":', headers: { 'content-type': 'application/json' } })
    expect(broken.status).toBe(400)
    expect((await widget('/api/widget/conversations/not-a-uuid/messages', { token: body.visitorToken })).status).toBe(422)
  })
})
