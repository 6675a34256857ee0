import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, eventually, heldWrites, newCustomer, uniqueEmail } from '../../test/fixtures.js'
import { createStore, createTestApp, ManualClock, type TestApp, type TestStore } from '../../test/harness.js'
import { runCli } from '../cli.js'
import { generateProductKey, keyLookup } from '../keys/format.js'

interface ErrorBody {
  error: { code: string; message: string; requestId: string }
}
interface KeyView {
  id: string
  product: string
  kind: string
  key: string | null
  start: string
  status: string
  allowedOrigins: string[]
  expiresAt: string | null
  replacedBy: string | null
}

const code = async (res: Response) => ((await res.json()) as ErrorBody).error.code
const expectCode = async (p: Promise<unknown>, expected: string) => expect(p).rejects.toMatchObject({ code: expected })

/** Counts every property read on an object (a method call is one read): zero means it was never touched. */
function counting<T extends object>(target: T, counter: { n: number }): T {
  return new Proxy(target, {
    get(t, prop) {
      counter.n++
      const v = Reflect.get(t, prop, t)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
}

describe('product keys', () => {
  let store: TestStore
  let app: TestApp
  let clock: ManualClock
  let customer: Customer
  const env = { JWT_SECRET: randomBytes(32).toString('base64url'), KEY_PEPPER: randomBytes(32).toString('base64url') }

  const listKeys = async (token: string, target = app) => {
    const res = await target.request('/api/products/keys', { token })
    expect(res.status).toBe(200)
    return ((await res.json()) as { keys: KeyView[] }).keys
  }

  beforeAll(async () => {
    store = await createStore()
    clock = new ManualClock(Date.now())
    app = await createTestApp({ store, env, clock })
    customer = await newCustomer(app)
  })
  afterAll(async () => {
    await app.shutdown()
    await store.drop()
  })

  it('configures the chatbot: a chat_ key and the exact embed code, the same key on a second configure', async () => {
    const res = await app.request('/api/products/chatbot/configure', {
      method: 'POST',
      token: customer.token,
      json: { allowedOrigins: ['https://shop.example.com'] },
    })
    expect(res.status).toBe(201)
    const body = (await res.json()) as KeyView & { key: string; embedCode: string; settings: { engine: string } }
    expect(body.key).toMatch(/^chat_[0-9A-Za-z]{28}$/)
    expect(body.embedCode).toBe(`<script src="http://intelagent.test/widget.js" data-product-key="${body.key}" async></script>`)
    expect(body).toMatchObject({ product: 'chatbot', kind: 'publishable', allowedOrigins: ['https://shop.example.com'], status: 'active' })
    expect(body.settings.engine).toBe('knowledge')
    const resolved = await app.keys.resolve(body.key)
    expect(resolved).toMatchObject({ licenseId: customer.licenseId, product: 'chatbot', kind: 'publishable' })
    // Publishable keys can be shown again: configure answers with the current one.
    const again = await app.request('/api/products/chatbot/configure', { method: 'POST', token: customer.token, json: {} })
    expect(again.status).toBe(200)
    expect(((await again.json()) as { key: string }).key).toBe(body.key)
    const listed = (await listKeys(customer.token)).find((k) => k.id === body.id)
    expect(listed?.key).toBe(body.key)
  })

  it('shows a data_ key once: never listed again, stored only as a peppered HMAC', async () => {
    const res = await app.request('/api/products/data-enrichment/configure', { method: 'POST', token: customer.token })
    expect(res.status).toBe(201)
    const body = (await res.json()) as KeyView & { key: string; embedCode?: string }
    expect(body.key).toMatch(/^data_[0-9A-Za-z]{28}$/)
    expect(body.embedCode).toBeUndefined()
    expect(body.kind).toBe('secret')

    const listed = (await listKeys(customer.token)).find((k) => k.id === body.id)
    expect(listed).toBeDefined()
    expect(listed?.key).toBeNull()
    expect(listed?.start).toBe(`${body.key.slice(0, 9)}…${body.key.slice(-4)}`)
    const raw = await (await app.request('/api/products/keys', { token: customer.token })).text()
    expect(raw).not.toContain(body.key)

    const row = await app.deps.db.selectFrom('product_keys').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow()
    expect(row.plaintext).toBeNull()
    expect(row.lookup).not.toBe(body.key)
    expect(row.lookup).not.toContain(body.key.slice(5, 20))
    expect(row.lookup).toBe(keyLookup(app.config.keyPepper, body.key))
  })

  it('refuses a product the license did not buy with 403 product_not_purchased', async () => {
    const chatOnly = await newCustomer(app, { products: ['chatbot'] })
    for (const product of ['data-enrichment', 'sales-agent', 'setup-agent']) {
      const res = await app.request(`/api/products/${product}/configure`, { method: 'POST', token: chatOnly.token, json: {} })
      expect(res.status).toBe(403)
      expect(await code(res)).toBe('product_not_purchased')
    }
    const settings = await app.request('/api/products/sales-agent/settings', { token: chatOnly.token })
    expect(settings.status).toBe(403)
    expect(await listKeys(chatOnly.token)).toEqual([])
  })

  it('rejects malformed and bad-checksum keys without touching the database or the cache', async () => {
    const good = generateProductKey('data-enrichment')
    const badChecksum = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`
    const realDb = app.deps.db
    const realCache = app.deps.cache
    const counter = { n: 0 }
    app.deps.db = counting(realDb, counter)
    app.deps.cache = counting(realCache, counter)
    try {
      for (const bad of [badChecksum, 'data_short', 'chat_!!!!', `${good}x`]) {
        await expectCode(app.keys.resolve(bad), 'malformed_key')
      }
      const bearer = await app.request('/api/products/keys', { token: badChecksum })
      expect(bearer.status).toBe(400)
      expect(await code(bearer)).toBe('malformed_key')
      const agnt = await app.request('/api/auth/me', { token: 'agnt_nope' })
      expect(agnt.status).toBe(400)
      const widget = await app.request('/api/widget/config', { headers: { 'x-product-key': `chat_${'a'.repeat(28)}`, origin: 'https://shop.example.com' } })
      expect(widget.status).toBe(400)
      expect(await code(widget)).toBe('malformed_key')
    } finally {
      app.deps.db = realDb
      app.deps.cache = realCache
    }
    expect(counter.n).toBe(0)
    // The proxy does count: a well-formed key reaches storage.
    app.deps.cache = counting(realCache, counter)
    try {
      await expectCode(app.keys.resolve(good), 'invalid_key')
    } finally {
      app.deps.cache = realCache
    }
    expect(counter.n).toBeGreaterThan(0)
  })

  it('rotates with a grace period: old and new both resolve, after the grace the old answers key_revoked', async () => {
    const issued = await configure(app, customer, 'setup-agent')
    const res = await app.request(`/api/products/keys/${issued.id}/rotate`, { method: 'POST', token: customer.token, json: { gracePeriodSeconds: 60 } })
    expect(res.status).toBe(201)
    const rotated = (await res.json()) as KeyView & { key: string; previous: { id: string; expiresAt: string } }
    expect(rotated.key).toMatch(/^agnt_/)
    expect(rotated.key).not.toBe(issued.key)
    expect(rotated.previous).toEqual({ id: issued.id, expiresAt: new Date(clock.now() + 60_000).toISOString() })

    expect((await app.keys.resolve(issued.key)).id).toBe(issued.id)
    expect((await app.keys.resolve(rotated.key)).id).toBe(rotated.id)
    expect((await app.request('/api/products/keys', { token: issued.key })).status).toBe(200)

    clock.advance(61_000)
    await expectCode(app.keys.resolve(issued.key), 'key_revoked')
    expect((await app.keys.resolve(rotated.key)).id).toBe(rotated.id)
    const viaOld = await app.request('/api/products/keys', { token: issued.key })
    expect(viaOld.status).toBe(401)
    expect(await code(viaOld)).toBe('key_revoked')
    const listed = await listKeys(customer.token)
    expect(listed.find((k) => k.id === issued.id)).toMatchObject({ status: 'expired', replacedBy: rotated.id })
    // An expired key cannot be rotated again.
    const twice = await app.request(`/api/products/keys/${issued.id}/rotate`, { method: 'POST', token: customer.token, json: {} })
    expect(twice.status).toBe(404)
  })

  it('rotates with no grace: the old key stops at once', async () => {
    const issued = await configure(app, customer, 'chatbot', { newKey: true })
    await app.keys.resolve(issued.key)
    const res = await app.request(`/api/products/keys/${issued.id}/rotate`, { method: 'POST', token: customer.token, json: { gracePeriodSeconds: 0 } })
    expect(res.status).toBe(201)
    const rotated = (await res.json()) as { key: string; embedCode: string }
    expect(rotated.embedCode).toContain(rotated.key)
    await expectCode(app.keys.resolve(issued.key), 'key_revoked')
  })

  it('revokes a key: key_revoked on the next use, and revoking another license’s key is 404', async () => {
    const issued = await configure(app, customer, 'data-enrichment')
    expect((await app.request('/api/auth/me', { token: issued.key })).status).toBe(200)
    const res = await app.request(`/api/products/keys/${issued.id}/revoke`, { method: 'POST', token: customer.token })
    expect(res.status).toBe(200)
    expect(((await res.json()) as KeyView).status).toBe('revoked')
    await expectCode(app.keys.resolve(issued.key), 'key_revoked')
    const me = await app.request('/api/auth/me', { token: issued.key })
    expect(me.status).toBe(401)
    expect(await code(me)).toBe('key_revoked')
    const audit = await app.deps.db.selectFrom('audit_log').select(['action', 'target']).where('license_id', '=', customer.licenseId).execute()
    expect(audit).toContainEqual({ action: 'key.revoked', target: issued.id })
  })

  it('carries a revocation to a second instance within one second', async () => {
    const second = await createTestApp({ store, env, clock, sharedDeps: app.deps })
    try {
      const issued = await configure(app, customer, 'sales-agent', { newKey: true })
      // Warm the second instance's local cache.
      expect((await second.keys.resolve(issued.key)).status).toBe('active')
      expect((await second.keys.resolve(issued.key)).status).toBe('active')
      const started = performance.now()
      const res = await app.request(`/api/products/keys/${issued.id}/revoke`, { method: 'POST', token: customer.token })
      expect(res.status).toBe(200)
      let error: unknown
      while (performance.now() - started < 1500) {
        try {
          await second.keys.resolve(issued.key)
        } catch (err) {
          error = err
          break
        }
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(error).toMatchObject({ code: 'key_revoked' })
      expect(performance.now() - started).toBeLessThan(1000)
    } finally {
      await second.shutdown()
    }
  })

  it('does not let a resolve that raced a revocation bring the old key back', async () => {
    const second = await createTestApp({ store, env, clock, sharedDeps: app.deps })
    const realCache = app.deps.cache
    try {
      const issued = await configure(app, customer, 'data-enrichment')
      // Hold the resolver's cache write until the revocation is done: the worst interleaving.
      const held = heldWrites(realCache, 'keys:')
      app.deps.cache = held.cache
      const racing = app.keys.resolve(issued.key)
      await held.reached
      app.deps.cache = realCache
      expect((await app.request(`/api/products/keys/${issued.id}/revoke`, { method: 'POST', token: customer.token })).status).toBe(200)
      held.release()
      expect((await racing).status).toBe('active')
      await app.deps.tasks.idle()
      await eventually(() => expect(second.keys.resolve(issued.key)).rejects.toMatchObject({ code: 'key_revoked' }))
      await eventually(() => expect(app.keys.resolve(issued.key)).rejects.toMatchObject({ code: 'key_revoked' }))
    } finally {
      app.deps.cache = realCache
      await second.shutdown()
    }
  })

  it('stops a suspended license’s API keys (intl_sk_) and product keys at once on a second instance', async () => {
    const second = await createTestApp({ store, env, clock, sharedDeps: app.deps })
    try {
      const email = uniqueEmail('ops')
      expect(await runCli(['create-admin', '--email', email, '--password', 'operator password'], () => {}, { deps: app.deps })).toBe(0)
      const login = await app.request('/api/auth/login', { method: 'POST', json: { email, password: 'operator password' } })
      const adminToken = ((await login.json()) as { token: string }).token
      const owner = await newCustomer(app)
      const created = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'ci', scopes: ['keys:read'] } })
      const apiKey = ((await created.json()) as { key: string }).key
      const agnt = await configure(app, owner, 'setup-agent')
      const data = await configure(app, owner, 'data-enrichment')
      const calls = [
        { token: apiKey, path: '/api/products/keys' },
        { token: agnt.key, path: '/api/products/keys' },
        { token: data.key, path: '/api/auth/me' },
      ]
      // Both instances have every key cached (local memory and the shared cache) before the suspension.
      for (const { token, path } of calls)
        for (const target of [app, second]) for (let i = 0; i < 2; i++) expect((await target.request(path, { token })).status).toBe(200)

      const suspended = await app.request(`/api/admin/licenses/${owner.licenseId}/status`, { method: 'POST', token: adminToken, json: { status: 'suspended' } })
      expect(suspended.status).toBe(200)
      for (const target of [app, second])
        await eventually(async () => {
          for (const { token, path } of calls) {
            const res = await target.request(path, { token })
            expect(res.status).toBe(403)
            expect(await code(res)).toBe('license_inactive')
          }
        })
      const reactivated = await app.request(`/api/admin/licenses/${owner.licenseId}/status`, { method: 'POST', token: adminToken, json: { status: 'active' } })
      expect(reactivated.status).toBe(200)
      await eventually(async () => expect((await second.request('/api/products/keys', { token: apiKey })).status).toBe(200))
    } finally {
      await second.shutdown()
    }
  })

  it('replaces the allowed origins of a publishable key, and refuses bad origins and secret keys', async () => {
    const chat = await configure(app, customer, 'chatbot')
    await app.keys.resolve(chat.key)
    const origins = ['https://www.example.org', 'https://*.example.net', 'http://localhost:5173']
    const res = await app.request(`/api/products/keys/${chat.id}/origins`, { method: 'PUT', token: customer.token, json: { allowedOrigins: origins } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as KeyView).allowedOrigins).toEqual(origins)
    expect((await app.keys.resolve(chat.key)).allowedOrigins).toEqual(origins)
    const allowed = await app.request('/api/widget/config', { headers: { 'x-product-key': chat.key, origin: 'https://shop.example.net' } })
    expect(allowed.status).toBe(200)
    const refused = await app.request('/api/widget/config', { headers: { 'x-product-key': chat.key, origin: 'https://shop.example.com' } })
    expect(refused.status).toBe(403)

    for (const bad of [['example.org'], ['https://example.org/path'], ['javascript:alert(1)']]) {
      const r = await app.request(`/api/products/keys/${chat.id}/origins`, { method: 'PUT', token: customer.token, json: { allowedOrigins: bad } })
      expect(r.status).toBe(422)
      expect(await code(r)).toBe('validation_failed')
    }
    const secret = await configure(app, customer, 'data-enrichment')
    const onSecret = await app.request(`/api/products/keys/${secret.id}/origins`, { method: 'PUT', token: customer.token, json: { allowedOrigins: origins } })
    expect(onSecret.status).toBe(422)
  })

  it('accepts secret keys (data_, agnt_) as Bearer within their scopes, but never publishable ones', async () => {
    const data = await configure(app, customer, 'data-enrichment')
    const agnt = await configure(app, customer, 'setup-agent')
    expect((await listKeys(agnt.key)).some((k) => k.id === data.id)).toBe(true)
    const byData = await app.request('/api/products/keys', { token: data.key })
    expect(byData.status).toBe(403)
    expect(await code(byData)).toBe('insufficient_scope')
    for (const key of [data.key, agnt.key]) {
      const me = (await (await app.request('/api/auth/me', { token: key })).json()) as { via: string; user: { licenseKey: string } }
      expect(me).toMatchObject({ via: 'product_key', user: { licenseKey: customer.licenseKey } })
    }
    const chat = await configure(app, customer, 'chatbot')
    const res = await app.request('/api/products/keys', { token: chat.key })
    expect(res.status).toBe(401)
  })

  it('updates and reads product settings', async () => {
    const patch = await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: customer.token, json: { botName: 'Ada', color: '#112233' } })
    expect(patch.status).toBe(200)
    const read = (await (await app.request('/api/products/chatbot/settings', { token: customer.token })).json()) as {
      settings: { botName: string; color: string }
    }
    expect(read.settings).toMatchObject({ botName: 'Ada', color: '#112233' })
    const bad = await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: customer.token, json: { color: 'red' } })
    expect(bad.status).toBe(422)
    // A patch changes what it names and nothing else: the fields it leaves out keep their saved values.
    const more = await app.request('/api/products/chatbot/settings', {
      method: 'PATCH',
      token: customer.token,
      json: { greeting: 'Welcome to Ada’s shop', threshold: 0.5, suggestions: ['Do you ship?'] },
    })
    expect(more.status).toBe(200)
    const one = await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: customer.token, json: { position: 'bottom-left' } })
    expect(((await one.json()) as { settings: Record<string, unknown> }).settings).toMatchObject({
      botName: 'Ada',
      color: '#112233',
      greeting: 'Welcome to Ada’s shop',
      threshold: 0.5,
      suggestions: ['Do you ship?'],
      position: 'bottom-left',
    })
  })
})
