// Two real server processes (src/main.ts) on one Postgres database and one Redis, as docs/deploy.md runs them
// behind a load balancer: a person, a key, a budget and a live stream mean the same on either process.
// With DATABASE_URL / REDIS_URL (CI) they share those services in a schema and key prefix of their own; without
// them the test starts its own Postgres cluster and Redis server (PGlite cannot be shared by two processes).
import { createHmac, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './browser/browser.js'
import { type PostgresServer, type RedisServer, type ServerProcess, startPostgres, startRedis, startServer, waitFor } from './services.js'
import { StreamReader } from './sse.js'

const PASSWORD = 'correct horse battery staple 42'
const SQUARESPACE_SECRET = randomBytes(32).toString('hex')

interface Session {
  token: string
}

describe('two server processes on one Postgres and one Redis', () => {
  let ownPostgres: PostgresServer | undefined
  let ownRedis: RedisServer | undefined
  let databaseUrl: string
  let schema: string
  let a: ServerProcess
  let b: ServerProcess
  let owner: Session
  let origin: string
  let orders: Server
  const orderFetches: string[] = []

  beforeAll(async () => {
    if (!process.env.DATABASE_URL) ownPostgres = await startPostgres()
    if (!process.env.REDIS_URL) ownRedis = await startRedis()
    const base = process.env.DATABASE_URL ?? (ownPostgres as PostgresServer).url
    schema = `mp_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: base })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    await admin.end()
    const url = new URL(base)
    url.searchParams.set('options', `-c search_path=${schema}`)
    databaseUrl = url.toString()
    // The Squarespace Orders API (outside the machine): every order is one chatbot for its own buyer.
    orders = createServer((req, res) => {
      orderFetches.push(req.url ?? '')
      const id = (req.url ?? '').split('/').pop()
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id, customerEmail: `${id}@example.com`, lineItems: [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot', quantity: 1 }] }))
    })
    await new Promise<void>((r) => orders.listen(0, '127.0.0.1', r))
    // One public URL for both, as behind a load balancer: the demo keys allow that origin.
    const portA = await freePort()
    origin = `http://127.0.0.1:${portA}`
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL ?? (ownRedis as RedisServer).url,
      REDIS_PREFIX: `test:${schema}:`,
      PUBLIC_URL: origin,
      SQUARESPACE_WEBHOOK_SECRET: SQUARESPACE_SECRET,
      SQUARESPACE_API_URL: `http://127.0.0.1:${(orders.address() as AddressInfo).port}`,
      SQUARESPACE_API_KEY: 'sq-test-key',
    }
    // One after the other: the first migrates and seeds the demo, the second finds both done.
    a = await startServer({ ...env, PORT: String(portA) })
    b = await startServer(env)
    const license = /Demo license\s+(INTL-[A-Z0-9-]+)/.exec(a.output())?.[1]
    const email = /\(email ([^;]+);/.exec(a.output())?.[1]
    expect(license, a.output()).toBeTruthy()
    expect(b.chatbotKey).toBe(a.chatbotKey)
    const registered = await fetch(`${a.base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD, license_key: license }),
    })
    expect(registered.status, await registered.clone().text()).toBe(201)
    owner = (await registered.json()) as Session
  }, 240_000)

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()])
    orders?.closeAllConnections()
    await new Promise((r) => (orders ? orders.close(r) : r(undefined)))
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL ?? ownPostgres?.url })
    await admin.connect().then(
      () => admin.query(`drop schema if exists ${schema} cascade`).finally(() => admin.end()),
      () => undefined,
    )
    await ownRedis?.stop()
    await ownPostgres?.destroy()
  }, 60_000)

  const call = (server: ServerProcess, path: string, init: RequestInit & { token?: string; json?: unknown } = {}) => {
    const headers = new Headers(init.headers)
    if (init.token) headers.set('authorization', `Bearer ${init.token}`)
    if (init.json !== undefined) headers.set('content-type', 'application/json')
    return fetch(`${server.base}${path}`, { ...init, headers, body: init.json === undefined ? init.body : JSON.stringify(init.json) })
  }

  it('a session made on one process works on the other, and logging out on one ends it on both', async () => {
    const login = await call(b, '/api/auth/login', { method: 'POST', json: { email: 'demo@intelagent.local', password: PASSWORD } })
    expect(login.status).toBe(200)
    const { token } = (await login.json()) as Session
    expect((await call(a, '/api/auth/me', { token })).status).toBe(200)
    expect((await call(b, '/api/auth/me', { token })).status).toBe(200)
    expect((await call(a, '/api/auth/logout', { method: 'POST', token })).status).toBeLessThan(300)
    const after = await call(b, '/api/auth/me', { token })
    expect(after.status).toBe(401)
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('session_revoked')
  })

  it('a secret key revoked on one process is refused at once by the other', async () => {
    const created = await call(a, '/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'two processes', scopes: ['audit:read'] } })
    expect(created.status).toBe(201)
    const { id, key } = (await created.json()) as { id: string; key: string }
    // Warm the other process's key cache first, so the refusal must come from the revocation reaching it.
    expect((await call(b, '/api/audit', { token: key })).status).toBe(200)
    expect((await call(a, `/api/api-keys/${id}/revoke`, { method: 'POST', token: owner.token })).status).toBe(200)
    const refused = await call(b, '/api/audit', { token: key })
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('key_revoked')
  })

  it('a message sent through one process reaches a dashboard stream held open on the other', async () => {
    const stream = await call(b, '/api/events', { token: owner.token })
    expect(stream.status).toBe(200)
    const reader = new StreamReader(stream)
    await reader.until((t) => t.includes('event: ready'))
    const started = await call(a, '/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': b.chatbotKey, origin }, json: {} })
    expect(started.status).toBe(201)
    const { conversation } = (await started.json()) as { conversation: { id: string } }
    const sent = await call(a, `/api/conversations/${conversation.id}/messages`, { method: 'POST', token: owner.token, json: { text: 'hello from process A' } })
    expect(sent.status).toBe(201)
    const text = await reader.until((t) => t.includes('hello from process A'), 10_000)
    await reader.close()
    expect(text).toContain('event: message.created')
    expect(text).toContain('hello from process A')
  })

  it('the per-license API budget is one budget across both processes: exactly what is left is admitted', async () => {
    const left = async () => {
      const res = await call(a, '/api/auth/me', { token: owner.token })
      expect(res.status).toBe(200)
      const m = /^"license";r=(\d+);t=(\d+)$/.exec(res.headers.get('ratelimit') ?? '')
      expect(m, String(res.headers.get('ratelimit'))).toBeTruthy()
      return { remaining: Number(m?.[1]), resetS: Number(m?.[2]) }
    }
    let now = await left()
    // Too close to the window's end, the burst could straddle two windows: start in a fresh one.
    if (now.resetS < 15) {
      await new Promise((r) => setTimeout(r, (now.resetS + 1) * 1000))
      now = await left()
    }
    // Everything that is left and five more, alternating processes, in waves of 100 at once.
    const statuses: number[] = []
    const total = now.remaining + 5
    for (let sent = 0; sent < total; sent += 100) {
      const wave = Array.from({ length: Math.min(100, total - sent) }, (_, i) => call((sent + i) % 2 ? a : b, '/api/auth/me', { token: owner.token }))
      for (const res of await Promise.all(wave)) statuses.push(res.status)
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(now.remaining)
    expect(statuses.filter((s) => s === 429)).toHaveLength(5)
  })

  it('one Squarespace order delivered to both processes at once is fetched once and makes one license', async () => {
    const orderId = randomBytes(12).toString('hex')
    const note = JSON.stringify({ id: `ntf_${randomBytes(8).toString('hex')}`, topic: 'order.create', createdOn: new Date().toISOString(), data: { orderId } })
    const signature = createHmac('sha256', Buffer.from(SQUARESPACE_SECRET, 'hex')).update(note).digest('hex')
    const deliveries = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(i % 2 ? a : b, '/api/webhooks/squarespace', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'squarespace-signature': signature },
          body: note,
        }),
      ),
    )
    expect(deliveries.map((r) => r.status)).toEqual(Array(10).fill(200))
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      const jobDone = async () => (await db.query(`select status from jobs where name = 'squarespace.order' and payload::text like $1`, [`%${orderId}%`])).rows
      await waitFor('the order job to finish', async () => (await jobDone()).some((j) => j.status === 'done'))
      expect(await jobDone()).toEqual([{ status: 'done' }])
      const licenses = await db.query('select email, products from licenses where external_order_id = $1', [orderId])
      expect(licenses.rows).toEqual([{ email: `${orderId}@example.com`, products: ['chatbot'] }])
      expect(orderFetches.filter((u) => u.endsWith(orderId))).toHaveLength(1)
    } finally {
      await db.end()
    }
  })
})
