// Open event streams end when what opened them is revoked (logout, key revocation, suspension), on every instance,
// with a final `revoked` event; and how many may be open at once is capped across instances.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { type AddressInfo, createServer } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer, uniqueEmail } from '../../test/fixtures.js'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import { hashPassword } from '../account/password.js'
import { type Cache, RedisCache } from './cache.js'
import { createCache } from './deps.js'
import { createLogger } from './logger.js'
import { CLOSE_CHANNEL } from './streams.js'

const ORIGIN = 'https://shop.example.com'
const PASSWORD = 'correct horse battery'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Chat {
  conversation: { id: string }
  visitorId: string
  visitorSecret?: string
  visitorToken: string
}

const revoked = (reason: string) => `event: revoked\ndata: {"reason":"${reason}"}\n\n`
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error

async function startChat(app: TestApp, key: string, body: Record<string, unknown> = {}): Promise<Chat> {
  const res = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': key, origin: ORIGIN }, json: body })
  if (res.status !== 201 && res.status !== 200) throw new Error(`start failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as Chat
}

const widgetEvents = (app: TestApp, key: string, chat: Chat) =>
  app.request(`/api/widget/conversations/${chat.conversation.id}/events?token=${chat.visitorToken}`, { headers: { 'x-product-key': key, origin: ORIGIN } })

/** An open stream: the response was 200 and the server has started writing. */
async function open(res: Promise<Response>): Promise<StreamReader> {
  const r = await res
  if (r.status !== 200) throw new Error(`stream refused: ${r.status} ${await r.text()}`)
  const stream = new StreamReader(r)
  await stream.until((t) => t.includes('retry: 2000'))
  return stream
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10)
  expect(condition()).toBe(true)
}

/** Closes a stream from the client side and waits until the instance holding it has freed its slots. */
async function hangUp(app: TestApp, stream: StreamReader): Promise<void> {
  const before = app.streams.size
  await stream.close()
  await waitFor(() => app.streams.size < before)
  await app.deps.tasks.idle()
}

describe('event streams', () => {
  let store: TestStore
  let one: TestApp
  let two: TestApp
  let adminToken: string

  beforeAll(async () => {
    store = await createStore()
    // Streams are opened by the hundred here: the per-minute request budgets are not what is tested.
    const env = { JWT_SECRET: randomBytes(32).toString('base64url'), KEY_PEPPER: randomBytes(32).toString('base64url'), RATE_LIMIT_SCALE: '10' }
    one = await createTestApp({ store, env })
    two = await createTestApp({ store, env, sharedDeps: one.deps })
    const admin = uniqueEmail('ops')
    await one.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', one.config.scryptLogN), role: 'admin' })
      .execute()
    const login = await one.request('/api/auth/login', { method: 'POST', json: { email: admin, password: 'operator password' } })
    adminToken = ((await login.json()) as { token: string }).token
  })
  afterAll(async () => {
    await two.shutdown()
    await one.shutdown()
    await store.drop()
  })

  describe('end when what opened them is revoked', () => {
    it('logout ends that session’s dashboard stream with a final event; another session’s stream lives on', async () => {
      const owner = await newCustomer(one)
      const login = await one.request('/api/auth/login', { method: 'POST', json: { email: owner.email, password: PASSWORD } })
      const second: Customer = { ...owner, token: ((await login.json()) as { token: string }).token }
      const mine = await open(one.request('/api/events', { token: owner.token }))
      const theirs = await open(one.request('/api/events', { token: second.token }))

      expect((await one.request('/api/auth/logout', { method: 'POST', token: owner.token })).status).toBe(200)
      const text = await mine.toEnd()
      expect(mine.ended).toBe(true)
      expect(text.endsWith(revoked('session_revoked'))).toBe(true)

      // The other session's stream still hears the license's events.
      const chat = await configure(one, second, 'chatbot', { allowedOrigins: [ORIGIN] })
      await startChat(one, chat.key)
      expect(await theirs.until((t) => t.includes('event: conversation.created'))).toContain('event: conversation.created')
      expect(theirs.text).not.toContain('event: revoked')
      expect(theirs.ended).toBe(false)
      await theirs.close()

      const again = await one.request('/api/events', { token: owner.token })
      expect(again.status).toBe(401)
      expect((await codeOf(again)).code).toBe('session_revoked')
    })

    it('a logout on one instance ends the stream held open on another', async () => {
      const owner = await newCustomer(one)
      const stream = await open(two.request('/api/events', { token: owner.token }))
      expect((await one.request('/api/auth/logout', { method: 'POST', token: owner.token })).status).toBe(200)
      expect(await stream.toEnd()).toContain(revoked('session_revoked'))
      expect(stream.ended).toBe(true)
      expect((await two.request('/api/events', { token: owner.token })).status).toBe(401)
    })

    it('revoking a chat_ key ends the widget streams opened with it on every instance, and no other stream', async () => {
      const owner = await newCustomer(one)
      const chat = await configure(one, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
      const sale = await configure(one, owner, 'sales-agent', { allowedOrigins: [ORIGIN] })
      const visitor = await startChat(one, chat.key)
      const buyer = await startChat(one, sale.key)
      const onOne = await open(widgetEvents(one, chat.key, visitor))
      const onTwo = await open(widgetEvents(two, chat.key, visitor))
      const sales = await open(widgetEvents(two, sale.key, buyer))
      const dashboard = await open(one.request('/api/events', { token: owner.token }))

      expect((await one.request(`/api/products/keys/${chat.id}/revoke`, { method: 'POST', token: owner.token })).status).toBe(200)
      for (const stream of [onOne, onTwo]) {
        expect(await stream.toEnd()).toContain(revoked('key_revoked'))
        expect(stream.ended).toBe(true)
        expect(stream.text.endsWith(revoked('key_revoked'))).toBe(true)
      }
      // The sales agent's key and the owner's session were not revoked: their streams still deliver.
      await one.request(`/api/conversations/${buyer.conversation.id}/messages`, { method: 'POST', token: owner.token, json: { text: 'still here' } })
      expect(await sales.until((t) => t.includes('still here'))).toContain('still here')
      expect(await dashboard.until((t) => t.includes('event: message.created'))).toContain('event: message.created')
      expect(sales.ended || dashboard.ended).toBe(false)
      await sales.close()
      await dashboard.close()

      const again = await widgetEvents(one, chat.key, visitor)
      expect(again.status).toBe(401)
      expect((await codeOf(again)).code).toBe('key_revoked')
    })

    it('revoking an intl_sk_ API key ends the dashboard stream opened with it', async () => {
      const owner = await newCustomer(one)
      const created = await one.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'live', scopes: ['conversations:read'] } })
      const apiKey = (await created.json()) as { id: string; key: string }
      const stream = await open(two.request('/api/events', { token: apiKey.key }))
      expect((await one.request(`/api/api-keys/${apiKey.id}/revoke`, { method: 'POST', token: owner.token })).status).toBe(200)
      expect(await stream.toEnd()).toContain(revoked('key_revoked'))
      expect(stream.ended).toBe(true)
      expect((await two.request('/api/events', { token: apiKey.key })).status).toBe(401)
    })

    it('suspending a license ends its dashboard and widget streams on every instance, not another license’s', async () => {
      const owner = await newCustomer(one)
      const neighbour = await newCustomer(one)
      const chat = await configure(one, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
      const visitor = await startChat(one, chat.key)
      const dashboard = await open(one.request('/api/events', { token: owner.token }))
      const widget = await open(widgetEvents(two, chat.key, visitor))
      const untouched = await open(two.request('/api/events', { token: neighbour.token }))

      const suspended = await one.request(`/api/admin/licenses/${owner.licenseId}/status`, { method: 'POST', token: adminToken, json: { status: 'suspended' } })
      expect(suspended.status).toBe(200)
      for (const stream of [dashboard, widget]) {
        expect(await stream.toEnd()).toContain(revoked('license_suspended'))
        expect(stream.ended).toBe(true)
      }
      const theirs = await configure(one, neighbour, 'chatbot', { allowedOrigins: [ORIGIN] })
      await startChat(one, theirs.key)
      expect(await untouched.until((t) => t.includes('event: conversation.created'))).toContain('event: conversation.created')
      expect(untouched.ended).toBe(false)
      await untouched.close()

      const dashAgain = await one.request('/api/events', { token: owner.token })
      expect(dashAgain.status).toBe(403)
      expect((await codeOf(dashAgain)).code).toBe('license_inactive')
      const widgetAgain = await widgetEvents(two, chat.key, visitor)
      expect(widgetAgain.status).toBe(403)
      expect((await codeOf(widgetAgain)).code).toBe('license_inactive')
    })
  })

  describe('are capped', () => {
    it('admits 100 dashboard streams per license across instances; the 101st gets 429 too_many_streams until one closes', async () => {
      const owner = await newCustomer(one)
      const held: { app: TestApp; stream: StreamReader }[] = []
      for (let i = 0; i < 100; i++) {
        const app = i % 2 ? two : one
        held.push({ app, stream: await open(app.request('/api/events', { token: owner.token })) })
      }
      const refused = await one.request('/api/events', { token: owner.token })
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBeTruthy()
      expect((await codeOf(refused)).code).toBe('too_many_streams')
      // Another license has its own cap.
      const neighbour = await newCustomer(one)
      const theirs = await open(two.request('/api/events', { token: neighbour.token }))

      const first = held.shift()
      if (!first) throw new Error('no stream held')
      await hangUp(first.app, first.stream)
      const admitted = await open(one.request('/api/events', { token: owner.token }))
      expect((await two.request('/api/events', { token: owner.token })).status).toBe(429)
      for (const h of held) await h.stream.close()
      await admitted.close()
      await theirs.close()
    })

    it('admits 5 streams per visitor (across conversations and instances); the 6th gets 429 until one closes', async () => {
      const owner = await newCustomer(one)
      const chat = await configure(one, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
      const visitor = await startChat(one, chat.key)
      const held: { app: TestApp; stream: StreamReader }[] = []
      for (let i = 0; i < 5; i++) {
        const app = i % 2 ? two : one
        held.push({ app, stream: await open(widgetEvents(app, chat.key, visitor)) })
      }
      const refused = await widgetEvents(two, chat.key, visitor)
      expect(refused.status).toBe(429)
      const error = await codeOf(refused)
      expect(error.code).toBe('too_many_streams')
      expect(error.message).toContain('visitor')
      // The same visitor's second conversation counts against the same cap; another visitor does not.
      const sameVisitor = await startChat(one, chat.key, { visitorId: visitor.visitorId, visitorSecret: visitor.visitorSecret })
      expect(sameVisitor.conversation.id).not.toBe(visitor.conversation.id)
      expect((await widgetEvents(one, chat.key, sameVisitor)).status).toBe(429)
      const stranger = await open(widgetEvents(one, chat.key, await startChat(one, chat.key)))

      const last = held.pop()
      if (!last) throw new Error('no stream held')
      await hangUp(last.app, last.stream)
      const admitted = await open(widgetEvents(one, chat.key, sameVisitor))
      expect((await widgetEvents(two, chat.key, visitor)).status).toBe(429)
      for (const h of held) await h.stream.close()
      await admitted.close()
      await stranger.close()
    })

    it('caps the streams of one publishable key by plan: a starter key holds 200', async () => {
      const owner = await newCustomer(one, { tier: 'starter', products: ['chatbot'] })
      const chat = await configure(one, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
      const held: StreamReader[] = []
      for (let v = 0; v < 40; v++) {
        const visitor = await startChat(one, chat.key)
        for (let i = 0; i < 5; i++) held.push(await open(widgetEvents(one, chat.key, visitor)))
      }
      const late = await startChat(one, chat.key)
      const refused = await widgetEvents(two, chat.key, late)
      expect(refused.status).toBe(429)
      const error = await codeOf(refused)
      expect(error.code).toBe('too_many_streams')
      expect(error.message).toContain('key')
      const first = held.shift()
      if (!first) throw new Error('no stream held')
      await hangUp(one, first)
      const admitted = await open(widgetEvents(two, chat.key, late))
      for (const s of held) await s.close()
      await admitted.close()
    })
  })
})

describe('event streams with Redis unreachable', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await createTestApp({
      cache: (config, clock) =>
        new RedisCache({ url: 'redis://127.0.0.1:1', prefix: config.redisPrefix, clock, logger: createLogger('silent'), instanceCount: 1 }),
    })
  })
  afterAll(async () => app.shutdown())

  it('opens streams, caps them with the local count, and still ends them on revocation', async () => {
    const owner = await newCustomer(app)
    const chat = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const visitor = await startChat(app, chat.key)
    const held: StreamReader[] = []
    for (let i = 0; i < 5; i++) held.push(await open(widgetEvents(app, chat.key, visitor)))
    const refused = await widgetEvents(app, chat.key, visitor)
    expect(refused.status).toBe(429)
    expect((await codeOf(refused)).code).toBe('too_many_streams')
    await app.streams.renew()

    expect((await app.request(`/api/products/keys/${chat.id}/revoke`, { method: 'POST', token: owner.token })).status).toBe(200)
    for (const stream of held) {
      expect(await stream.toEnd()).toContain(revoked('key_revoked'))
      expect(stream.ended).toBe(true)
    }
    await waitFor(() => app.streams.size === 0)
  })
})

describe('a stream opened while its credential is being revoked', () => {
  let app: TestApp
  let gate: { hold: boolean; reached: () => void; release: Promise<void> } = { hold: false, reached: () => {}, release: Promise.resolve() }

  beforeAll(async () => {
    // Holds the cap check of a stream open, which runs after authentication, so a revocation can land in between.
    app = await createTestApp({
      cache: (config, clock) => {
        const cache = createCache(config, clock, createLogger('silent'))
        return new Proxy(cache, {
          get(target, prop) {
            if (prop === 'acquireSlots')
              return async (...args: Parameters<Cache['acquireSlots']>) => {
                if (gate.hold) {
                  gate.reached()
                  await gate.release
                }
                return target.acquireSlots(...args)
              }
            const value = Reflect.get(target, prop, target)
            return typeof value === 'function' ? value.bind(target) : value
          },
        })
      },
    })
  })
  afterAll(async () => app.shutdown())

  it('is ended too: a revocation heard just before the stream registered still applies to it', async () => {
    const owner = await newCustomer(app)
    let reached = () => {}
    let release = () => {}
    const atCap = new Promise<void>((r) => {
      reached = r
    })
    gate = {
      hold: true,
      reached,
      release: new Promise<void>((r) => {
        release = r
      }),
    }
    const opening = app.request('/api/events', { token: owner.token })
    await atCap
    gate.hold = false
    let heard = () => {}
    const closeHeard = new Promise<void>((r) => {
      heard = r
    })
    const unsubscribe = await app.deps.cache.subscribe(CLOSE_CHANNEL, () => heard())
    expect((await app.request('/api/auth/logout', { method: 'POST', token: owner.token })).status).toBe(200)
    // This instance has heard the revocation before the stream registers.
    await closeHeard
    unsubscribe()
    release()
    const res = await opening
    expect(res.status).toBe(200)
    const stream = new StreamReader(res)
    expect(await stream.toEnd()).toContain(revoked('session_revoked'))
    expect(stream.ended).toBe(true)
  })
})

describe('event streams when Redis goes away mid-stream', () => {
  let redis: ChildProcess
  let app: TestApp

  beforeAll(async () => {
    // A Redis of this test's own, on a free port, so it can be killed without touching anyone else's.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    for (let i = 0; i < 100; i++) {
      if (
        await probe.connect().then(
          () => true,
          () => false,
        )
      )
        break
      await sleep(50)
    }
    probe.disconnect()
    app = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } })
  })
  afterAll(async () => {
    await app.shutdown()
    redis.kill('SIGKILL')
  })

  it('keeps open streams delivering and counts new ones locally, without crashing', async () => {
    expect(app.deps.cache.kind).toBe('redis')
    const owner = await newCustomer(app)
    const chat = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const visitor = await startChat(app, chat.key)
    const first = await open(widgetEvents(app, chat.key, visitor))
    const exited = new Promise((r) => redis.once('exit', r))
    redis.kill('SIGKILL')
    await exited

    const reply = await app.request(`/api/conversations/${visitor.conversation.id}/messages`, {
      method: 'POST',
      token: owner.token,
      json: { text: 'after the outage' },
    })
    expect(reply.status).toBe(201)
    expect(await first.until((t) => t.includes('after the outage'))).toContain('after the outage')
    await app.streams.renew()

    // The cap falls back to this instance's own count (the stream opened before the outage was counted in Redis).
    const held: StreamReader[] = []
    for (let i = 0; i < 5; i++) held.push(await open(widgetEvents(app, chat.key, visitor)))
    const refused = await widgetEvents(app, chat.key, visitor)
    expect(refused.status).toBe(429)
    expect((await codeOf(refused)).code).toBe('too_many_streams')
    const one = held.pop()
    if (!one) throw new Error('no stream held')
    await hangUp(app, one)
    held.push(await open(widgetEvents(app, chat.key, visitor)))
    expect(first.ended).toBe(false)
    for (const s of [first, ...held]) await s.close()
    await waitFor(() => app.streams.size === 0)
  })
})
