// identify (HMAC identity verification, cross-device conversations, handing over an anonymous conversation),
// update (custom attributes on the conversation, shown to the owner), the identity secret, and per-message page URLs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { userHash } from './identity.js'

const ORIGIN = 'https://shop.example.com'

interface Identified {
  user: { id: string; email: string | null; name: string | null }
  visitorId: string
  visitorToken: string
  conversation: { id: string; user: { id: string; email: string | null; name: string | null } | null } | null
  messages: { role: string; text: string }[]
}
type Envelope = { error: { code: string; message: string } }

describe('widget identity and attributes', () => {
  let app: TestApp
  let owner: Customer
  let key: string
  let secret: string
  let other: Customer
  let otherKey: string

  const widget = (path: string, init: RequestInit & { json?: unknown; token?: string; productKey?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-product-key', init.productKey ?? key)
    headers.set('origin', ORIGIN)
    return app.request(path, { ...init, headers })
  }
  const identify = async (body: Record<string, unknown>, productKey = key) => {
    const res = await widget('/api/widget/identify', { method: 'POST', json: body, productKey })
    return { status: res.status, body: (await res.json()) as Identified & Envelope }
  }
  const rotate = async (customer: Customer, product = 'chatbot') => {
    const res = await app.request(`/api/products/${product}/secrets/identity_secret/rotate`, { method: 'POST', token: customer.token })
    return { status: res.status, body: (await res.json()) as { name: string; secret: string; hint: string } & Envelope }
  }

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    other = await newCustomer(app)
    otherKey = (await configure(app, other, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const made = await rotate(owner)
    expect(made.status).toBe(201)
    secret = made.body.secret
  })
  afterAll(async () => app.shutdown())

  it('generates the identity secret once and afterwards shows only its hint; the owner may set one of at least 32 characters', async () => {
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    const list = await app.request('/api/products/chatbot/secrets', { token: owner.token })
    const { secrets } = (await list.json()) as { secrets: { name: string; hint: string }[] }
    expect(secrets).toContainEqual(expect.objectContaining({ name: 'identity_secret', hint: secret.slice(-4) }))
    expect(JSON.stringify(secrets)).not.toContain(secret)
    const short = await app.request('/api/products/chatbot/secrets/identity_secret', { method: 'PUT', token: owner.token, json: { value: 'too-short-1' } })
    expect(short.status).toBe(422)
    // Nobody else may rotate it: no session, or another license's product it did not buy.
    expect((await app.request('/api/products/chatbot/secrets/identity_secret/rotate', { method: 'POST' })).status).toBe(401)
    const buyer = await newCustomer(app, { products: ['data-enrichment'] })
    expect((await rotate(buyer)).body.error.code).toBe('product_not_purchased')
  })

  it('refuses a bad userHash (identity_invalid) and a product without a secret (identity_not_configured), creating nothing', async () => {
    const bad = await identify({ userId: 'mallory', userHash: userHash('not-the-secret', 'mallory'), start: true })
    expect(bad.status).toBe(401)
    expect(bad.body.error.code).toBe('identity_invalid')
    // Someone else's valid hash does not carry over to another user id.
    const swapped = await identify({ userId: 'mallory', userHash: userHash(secret, 'alice'), start: true })
    expect(swapped.body.error.code).toBe('identity_invalid')
    const visitors = await app.deps.db.selectFrom('visitors').select('id').where('user_id', '=', 'mallory').execute()
    expect(visitors).toEqual([])
    // A hash made with license A's secret means nothing to license B, which has no secret at all.
    const elsewhere = await identify({ userId: 'alice', userHash: userHash(secret, 'alice') }, otherKey)
    expect(elsewhere.status).toBe(409)
    expect(elsewhere.body.error.code).toBe('identity_not_configured')
  })

  it('gives a verified user the same conversation on any device', async () => {
    const hash = userHash(secret, 'user-42')
    const first = await identify({ userId: 'user-42', userHash: hash, email: 'ada@example.com', name: 'Ada' })
    expect(first.status).toBe(200)
    expect(first.body.conversation).toBeNull()
    const started = await identify({ userId: 'user-42', userHash: hash, start: true })
    expect(started.status).toBe(201)
    const conv = started.body.conversation!
    expect(conv.user).toEqual({ id: 'user-42', email: 'ada@example.com', name: 'Ada' })
    const sent = await widget(`/api/widget/conversations/${conv.id}/messages`, {
      method: 'POST',
      token: started.body.visitorToken,
      json: { clientMessageId: 'c1', text: 'Hello from my laptop' },
    })
    expect(sent.status).toBe(201)

    // Another device: no stored credentials at all, only the host site's word for who the user is.
    const phone = await identify({ userId: 'user-42', userHash: hash })
    expect(phone.status).toBe(200)
    expect(phone.body.visitorId).toBe(started.body.visitorId)
    expect(phone.body.conversation?.id).toBe(conv.id)
    expect(phone.body.messages.map((m) => m.text)).toContain('Hello from my laptop')
    const read = await widget(`/api/widget/conversations/${conv.id}/messages?after=0`, { token: phone.body.visitorToken })
    expect(read.status).toBe(200)

    // Another user's token does not open it.
    const bob = await identify({ userId: 'bob', userHash: userHash(secret, 'bob') })
    const denied = await widget(`/api/widget/conversations/${conv.id}/messages?after=0`, { token: bob.body.visitorToken })
    expect(denied.status).toBe(404)
  })

  it("hands this browser's anonymous conversation to the user only with the visitor's own secret", async () => {
    const anon = await widget('/api/widget/conversations', { method: 'POST', json: {} })
    const started = (await anon.json()) as { conversation: { id: string }; visitorId: string; visitorSecret: string }
    const hash = userHash(secret, 'carol')
    // Knowing the conversation id is not enough to claim it.
    const guess = await identify({ userId: 'carol', userHash: hash, conversationId: started.conversation.id })
    expect(guess.body.conversation).toBeNull()
    const claimed = await identify({
      userId: 'carol',
      userHash: hash,
      visitorId: started.visitorId,
      visitorSecret: started.visitorSecret,
      conversationId: started.conversation.id,
    })
    expect(claimed.body.conversation?.id).toBe(started.conversation.id)
    expect(claimed.body.conversation?.user?.id).toBe('carol')
    // Once the user's, the anonymous credentials no longer resume it.
    const again = await widget('/api/widget/conversations', {
      method: 'POST',
      json: { visitorId: started.visitorId, visitorSecret: started.visitorSecret, conversationId: started.conversation.id },
    })
    expect(((await again.json()) as { conversation: { id: string } }).conversation.id).not.toBe(started.conversation.id)
  })

  it('stores custom attributes on the conversation, merges them, and shows them to the owner', async () => {
    const anon = await widget('/api/widget/conversations', { method: 'POST', json: {} })
    const { conversation, visitorToken } = (await anon.json()) as { conversation: { id: string }; visitorToken: string }
    const path = `/api/widget/conversations/${conversation.id}/attributes`
    const first = await widget(path, { method: 'POST', token: visitorToken, json: { attributes: { plan: 'pro', accountId: '42', seats: 5, trial: true } } })
    expect(first.status).toBe(200)
    const second = await widget(path, { method: 'POST', token: visitorToken, json: { attributes: { trial: null, plan: 'enterprise' } } })
    expect(await second.json()).toEqual({ attributes: { plan: 'enterprise', accountId: '42', seats: 5 } })

    const seen = await app.request(`/api/conversations/${conversation.id}`, { token: owner.token })
    const detail = (await seen.json()) as { conversation: { attributes: Record<string, unknown>; user: unknown } }
    expect(detail.conversation.attributes).toEqual({ plan: 'enterprise', accountId: '42', seats: 5 })
    expect(detail.conversation.user).toBeNull()

    // Validation: values are scalars, names are short, and a conversation holds at most 20.
    for (const attributes of [{ nested: { a: 1 } }, { 'bad name!': 'x' }, { long: 'x'.repeat(501) }]) {
      const res = await widget(path, { method: 'POST', token: visitorToken, json: { attributes } })
      expect(res.status).toBe(422)
    }
    const many = Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`k${i}`, i]))
    const over = await widget(path, { method: 'POST', token: visitorToken, json: { attributes: many } })
    expect(over.status).toBe(422)
    expect(((await over.json()) as Envelope).error.message).toContain('at most 20')
  })

  it("refuses attributes without a visitor token, with another visitor's token, and from another license's key", async () => {
    const a = (await (await widget('/api/widget/conversations', { method: 'POST', json: {} })).json()) as { conversation: { id: string }; visitorToken: string }
    const b = (await (await widget('/api/widget/conversations', { method: 'POST', json: {} })).json()) as { visitorToken: string }
    const path = `/api/widget/conversations/${a.conversation.id}/attributes`
    const json = { attributes: { plan: 'free' } }
    expect((await widget(path, { method: 'POST', json })).status).toBe(401)
    expect((await widget(path, { method: 'POST', token: b.visitorToken, json })).status).toBe(404)
    expect((await widget(path, { method: 'POST', token: a.visitorToken, json, productKey: otherKey })).status).toBe(401)
    const row = await app.deps.db.selectFrom('conversations').select('attributes').where('id', '=', a.conversation.id).executeTakeFirstOrThrow()
    expect(row.attributes).toEqual({})
  })

  it('keeps the page URL each message was sent from, and exposes the owner’s widget language in the config', async () => {
    const started = (await (await widget('/api/widget/conversations', { method: 'POST', json: { pageUrl: 'https://shop.example.com/' } })).json()) as {
      conversation: { id: string }
      visitorToken: string
    }
    const res = await widget(`/api/widget/conversations/${started.conversation.id}/messages`, {
      method: 'POST',
      token: started.visitorToken,
      json: { clientMessageId: 'spa-1', text: 'Where is my order?', pageUrl: 'https://shop.example.com/orders/7' },
    })
    expect(res.status).toBe(201)
    const stored = await app.deps.db
      .selectFrom('messages')
      .select('meta')
      .where('conversation_id', '=', started.conversation.id)
      .where('client_message_id', '=', 'spa-1')
      .executeTakeFirstOrThrow()
    expect(stored.meta).toMatchObject({ pageUrl: 'https://shop.example.com/orders/7' })

    expect(((await (await widget('/api/widget/config')).json()) as { locale: string }).locale).toBe('auto')
    const patched = await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: owner.token, json: { locale: 'de' } })
    expect(patched.status).toBe(200)
    expect(((await (await widget('/api/widget/config')).json()) as { locale: string }).locale).toBe('de')
    const bad = await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: owner.token, json: { locale: 'xx' } })
    expect(bad.status).toBe(422)
  })
})
