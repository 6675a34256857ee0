// Strings Postgres cannot store and integers beyond its integer columns answer a 4xx naming the field, on
// validated routes, raw-body webhooks and hand-read queries alike; none of them reaches the database as a 500.
import { createHmac } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, n8nSigned, newCustomer } from '../../test/fixtures.js'
import { createTestApp, SQUARESPACE_SECRET_HEX, type TestApp } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import { findUnstorable } from './input.js'

const ORIGIN = 'https://shop.example.com'

async function expectError(res: Response, status: number, code: string, mentions?: string) {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  const body = JSON.parse(text) as { error: { code: string; message: string } }
  expect(body.error.code, text).toBe(code)
  if (mentions) expect(body.error.message).toContain(mentions)
}

// One app and one visitor conversation for the whole file: the cases below only read or are refused.
let app: TestApp
let customer: Customer
let chatKey: string
let conversationId: string
let visitorToken: string

beforeAll(async () => {
  app = await createTestApp()
  customer = await newCustomer(app)
  chatKey = (await configure(app, customer, 'chatbot', { allowedOrigins: [ORIGIN] })).key
  // The default greeting is stored as message 1, so a replay from the start has something to send.
  const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': chatKey, origin: ORIGIN }, json: {} })
  const body = (await started.json()) as { conversation: { id: string }; visitorToken: string }
  conversationId = body.conversation.id
  visitorToken = body.visitorToken
})
afterAll(async () => app.shutdown())

describe('findUnstorable', () => {
  it('names the first NUL or unpaired surrogate, in a value or a key, and lets real text through', () => {
    expect(findUnstorable({ a: ['ok', 'x\u0000y'] })).toEqual({ path: 'a.1', reason: 'must not contain NUL characters' })
    expect(findUnstorable({ answers: { 'q\u0000': 'a' } })?.path).toBe('answers.q\\u0000')
    expect(findUnstorable({ greeting: 'hi \ud800' })?.reason).toMatch(/unpaired surrogate/)
    expect(findUnstorable({ text: 'héllo 💥 \u202e', n: 5, deep: [[{ ok: true }]] })).toBeUndefined()
  })
})

describe('strings Postgres cannot store', () => {
  const widget = () => ({ 'x-product-key': chatKey, origin: ORIGIN, authorization: `Bearer ${visitorToken}` })

  it('refuses a NUL in a visitor message on the public widget route with 400 invalid_request naming the field', async () => {
    const res = await app.request(`/api/widget/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: widget(),
      json: { clientMessageId: 'm-nul', text: 'hello\u0000world' },
    })
    await expectError(res, 400, 'invalid_request', 'text')
  })

  it('refuses a NUL in an owner-side text field and in a jsonb record key', async () => {
    await expectError(
      await app.request('/api/products/chatbot/knowledge', { method: 'POST', token: customer.token, json: { kind: 'qa', title: 'a\u0000b', body: 'c' } }),
      400,
      'invalid_request',
      'title',
    )
    await expectError(
      await app.request('/api/widget/leads', {
        method: 'POST',
        headers: widget(),
        json: { name: 'Ada', email: 'ada@example.com', consent: true, answers: { 'budget\u0000': 'big' } },
      }),
      400,
      'invalid_request',
      'answers',
    )
  })

  it('refuses an unpaired surrogate bound for a jsonb column', async () => {
    await expectError(
      await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: customer.token, json: { greeting: 'hi \ud800' } }),
      400,
      'invalid_request',
      'greeting',
    )
  })

  it('refuses a NUL in the query or the path, on routes that read them by hand too', async () => {
    await expectError(await app.request('/api/products/chatbot/conversations?cursor=a%00b', { token: customer.token }), 400, 'invalid_request', 'cursor')
    await expectError(await app.request(`/api/conversations/${conversationId}%00`, { token: customer.token }), 400, 'invalid_request', 'path')
    await expectError(
      await app.request(`/api/widget/conversations/${conversationId}/events?key=${chatKey}&token=%00`, { headers: { origin: ORIGIN } }),
      400,
      'invalid_request',
      'token',
    )
  })

  it('refuses them in signed raw bodies: anywhere in a Squarespace notification (stored as jsonb) and in an n8n reply', async () => {
    const raw = JSON.stringify({ id: 'n-1', topic: 'order.create', data: { orderId: 'o-1' }, extra: 'x\ud800' })
    const signature = createHmac('sha256', Buffer.from(SQUARESPACE_SECRET_HEX, 'hex')).update(raw).digest('hex')
    await expectError(
      await app.request('/api/webhooks/squarespace', {
        method: 'POST',
        headers: { 'squarespace-signature': signature, 'content-type': 'application/json' },
        body: raw,
      }),
      400,
      'invalid_request',
      'extra',
    )
    const reply = n8nSigned({ conversationId, text: 'answer\u0000' })
    await expectError(
      await app.request('/api/webhooks/n8n/replies', {
        method: 'POST',
        headers: { 'x-intelagent-signature': reply.signature, 'content-type': 'application/json' },
        body: reply.raw,
      }),
      400,
      'invalid_request',
      'text',
    )
  })
})

describe('integers beyond the integer columns', () => {
  const messages = (after: string) =>
    app.request(`/api/widget/conversations/${conversationId}/messages?after=${after}`, {
      headers: { 'x-product-key': chatKey, origin: ORIGIN, authorization: `Bearer ${visitorToken}` },
    })
  const events = (query: string, headers: Record<string, string> = {}) =>
    app.request(`/api/widget/conversations/${conversationId}/events?key=${chatKey}&token=${visitorToken}${query}`, { headers: { origin: ORIGIN, ...headers } })

  it('answers ?after= beyond 2^31-1 with 422 and accepts the largest seq there can be', async () => {
    for (const after of ['2147483648', '9007199254740993', '1e308', '-1']) await expectError(await messages(after), 422, 'validation_failed', 'after')
    const top = await messages('2147483647')
    expect(top.status).toBe(200)
    expect(await top.json()).toEqual({ messages: [] })
  })

  it('answers an SSE ?after= beyond 2^31-1 with 422 before the stream opens', async () => {
    await expectError(await events('&after=2147483648'), 422, 'validation_failed', 'after')
  })

  it('ignores a Last-Event-ID that cannot be a seq and replays the stream from the start', async () => {
    const res = await events('', { 'last-event-id': '2147483648' })
    expect(res.status).toBe(200)
    const reader = new StreamReader(res)
    const text = await reader.until((t) => t.includes('event: message'))
    await reader.close()
    expect(text).toMatch(/event: message\ndata: .*\nid: 1\n/)
  })

  it('answers a pagination cursor with a date Postgres cannot hold with 422', async () => {
    for (const t of ['+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z']) {
      const cursor = Buffer.from(JSON.stringify({ t, id: conversationId })).toString('base64url')
      await expectError(
        await app.request(`/api/products/chatbot/conversations?cursor=${cursor}`, { token: customer.token }),
        422,
        'validation_failed',
        'cursor',
      )
      await expectError(await app.request(`/api/products/chatbot/leads?cursor=${cursor}`, { token: customer.token }), 422, 'validation_failed', 'cursor')
    }
  })
})

describe('the NUL check over a real socket', () => {
  it('refuses an encoded NUL in the request line as received, with the error envelope and a request id', async () => {
    const app = await createTestApp()
    const server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' })
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()))
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      for (const path of ['/api/conversations/abc%00', '/healthz?x=%00']) {
        const res = await fetch(`${base}${path}`)
        expect(res.status, path).toBe(400)
        const body = (await res.json()) as { error: { code: string; requestId: string } }
        expect(body.error.code).toBe('invalid_request')
        expect(body.error.requestId).toMatch(/^req_[0-9a-f]{32}$/)
        expect(res.headers.get('x-request-id')).toBe(body.error.requestId)
      }
      expect((await fetch(`${base}/healthz`)).status).toBe(200)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await app.shutdown()
    }
  })
})
