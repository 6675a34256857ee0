// Live events cross instances: a message stored through one server reaches streams held open on another
// (Redis pub/sub with REDIS_URL; the shared in-process bus otherwise).
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'

const ORIGIN = 'https://shop.example.com'

async function readUntil(res: Response, done: (text: string) => boolean): Promise<string> {
  const stream = new StreamReader(res)
  const text = await stream.until(done)
  await stream.close()
  return text
}

describe('live events across instances', () => {
  let store: TestStore
  let one: TestApp
  let two: TestApp
  let owner: Customer
  let key: string

  beforeAll(async () => {
    store = await createStore()
    const env = { JWT_SECRET: randomBytes(32).toString('base64url'), KEY_PEPPER: randomBytes(32).toString('base64url') }
    one = await createTestApp({ store, env })
    two = await createTestApp({ store, env, sharedDeps: one.deps })
    owner = await newCustomer(one)
    key = (await configure(one, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
  })
  afterAll(async () => {
    await two.shutdown()
    await one.shutdown()
    await store.drop()
  })

  it('reaches the dashboard stream on one instance and the visitor stream on another', async () => {
    const widget = { 'x-product-key': key, origin: ORIGIN }
    const started = (await (await one.request('/api/widget/conversations', { method: 'POST', headers: widget, json: {} })).json()) as {
      conversation: { id: string }
      visitorToken: string
    }
    const id = started.conversation.id
    const dashboard = await two.request('/api/events', { token: owner.token })
    const visitor = await two.request(`/api/widget/conversations/${id}/events?token=${started.visitorToken}`, { headers: widget })
    const reading = Promise.all([readUntil(dashboard, (t) => t.includes('fan-out works')), readUntil(visitor, (t) => t.includes('a person on instance one'))])
    await new Promise((r) => setTimeout(r, 200))
    await one.request(`/api/widget/conversations/${id}/messages`, {
      method: 'POST',
      headers: widget,
      token: started.visitorToken,
      json: { clientMessageId: 'x1', text: 'fan-out works' },
    })
    await one.request(`/api/conversations/${id}/messages`, { method: 'POST', token: owner.token, json: { text: 'a person on instance one' } })
    const [dash, vis] = await reading
    expect(dash).toContain('event: message.created')
    expect(dash).toContain('fan-out works')
    expect(vis).toContain('"role":"agent"')
    expect(vis).toContain('a person on instance one')
  })
})
