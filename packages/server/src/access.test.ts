// The guard enforces each declaration: who may call (every access kind), the budget charged once, idempotent POSTs
// replayed; a route without declared access does not mount, and an undeclared /api route stops the app's start.
import { z } from '@hono/zod-openapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer, uniqueEmail } from '../test/fixtures.js'
import { createTestApp, type TestApp } from '../test/harness.js'
import { hashPassword } from './account/password.js'
import { createRouter } from './platform/http.js'
import { type Access, access, assertDeclared, type Declaration, declareRoute, json } from './platform/route.js'

const ORIGIN = 'https://shop.example.com'
const Who = z.object({ kind: z.string().nullable(), widget: z.string().nullable(), visitor: z.string().nullable() })

/** A GET answering who the guard let in. */
function probe(path: string, a: Access, extra: Partial<Declaration> = {}) {
  return declareRoute({
    method: 'get',
    path,
    operationId: `probe${path.replaceAll('/', '_')}`,
    summary: 'probe',
    tag: 'test',
    access: a,
    responses: { 200: json(Who, 'who') },
    ...extra,
  } as Declaration)
}

/** `{policy, remaining}` from a RateLimit header such as `"license";r=12;t=40`. */
const remaining = (res: Response): number => Number(/;r=(\d+);/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? Number.NaN)

describe('the guard', () => {
  let app: TestApp
  let owner: Customer
  let adminToken: string
  let publishable: string
  let calls = 0

  beforeAll(async () => {
    app = await createTestApp()
    const routes = createRouter()
    const who = (c: Parameters<Parameters<typeof routes.openapi>[1]>[0]) =>
      c.json({ kind: c.get('principal')?.kind ?? null, widget: c.get('widget')?.keyId ?? null, visitor: c.get('visitorId') ?? null }, 200)
    routes.openapi(probe('/api/test/public', access.public), who)
    routes.openapi(probe('/api/test/session', access.session), who)
    routes.openapi(probe('/api/test/customer', access.customer('audit:read')), who)
    routes.openapi(probe('/api/test/caller', access.caller), who)
    routes.openapi(probe('/api/test/operator', access.operator), who)
    routes.openapi(probe('/api/test/widget', access.widget), who)
    routes.openapi(probe('/api/test/visitor', access.visitor), who)
    // Under a prefix the old middleware still guards: a declared route there must be authenticated and charged once.
    routes.openapi(probe('/api/products/declared-probe', access.customer('audit:read')), who)
    routes.openapi(
      declareRoute({
        method: 'post',
        path: '/api/test/create',
        operationId: 'probeCreate',
        summary: 'probe',
        tag: 'test',
        access: access.customer('audit:read'),
        responses: { 201: json(z.object({ n: z.number() }), 'created') },
      }),
      (c) => c.json({ n: ++calls }, 201),
    )
    app.app.route('/', routes)

    owner = await newCustomer(app, { tier: 'starter' })
    publishable = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const email = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const login = await app.request('/api/auth/login', { method: 'POST', json: { email, password: 'operator password' } })
    adminToken = ((await login.json()) as { token: string }).token
  })
  afterAll(async () => app?.shutdown())

  async function apiKey(scopes: string[]): Promise<string> {
    const res = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'probe', scopes } })
    expect(res.status).toBe(201)
    return ((await res.json()) as { key: string }).key
  }
  const code = async (res: Response) => ((await res.json()) as { error?: { code: string } }).error?.code

  it('public: anyone, nobody charged', async () => {
    const res = await app.request('/api/test/public')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ kind: null, widget: null, visitor: null })
    expect(res.headers.get('ratelimit')).toBeNull()
  })

  it('session: a logged-in person, not a key', async () => {
    expect(await code(await app.request('/api/test/session'))).toBe('unauthorized')
    const ok = await app.request('/api/test/session', { token: owner.token })
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { kind: string }).kind).toBe('session')
    const key = await apiKey(['audit:read'])
    const refused = await app.request('/api/test/session', { token: key })
    expect(refused.status).toBe(403)
    expect(await code(refused)).toBe('forbidden')
  })

  it('customer(scope): sessions hold every scope, keys need the declared one', async () => {
    expect((await app.request('/api/test/customer', { token: owner.token })).status).toBe(200)
    const withScope = await app.request('/api/test/customer', { token: await apiKey(['audit:read']) })
    expect(withScope.status).toBe(200)
    expect(((await withScope.json()) as { kind: string }).kind).toBe('api_key')
    const without = await app.request('/api/test/customer', { token: await apiKey(['leads:read']) })
    expect(without.status).toBe(403)
    expect(await code(without)).toBe('insufficient_scope')
    expect(await code(await app.request('/api/test/customer', { token: 'intl_sk_nope' }))).toMatch(/key/)
    expect((await app.request('/api/test/customer')).status).toBe(401)
    // Any key may ask who it is.
    expect((await app.request('/api/test/caller', { token: await apiKey(['leads:read']) })).status).toBe(200)
  })

  it('operator: an admin session only', async () => {
    expect((await app.request('/api/test/operator', { token: adminToken })).status).toBe(200)
    const customer = await app.request('/api/test/operator', { token: owner.token })
    expect(customer.status).toBe(403)
    expect(await code(customer)).toBe('forbidden')
    expect((await app.request('/api/test/operator')).status).toBe(401)
  })

  it('widget: a publishable key from an allowed origin; visitor: plus the visitor token', async () => {
    const headers = (origin: string, extra: Record<string, string> = {}) => ({ 'x-product-key': publishable, origin, ...extra })
    const ok = await app.request('/api/test/widget', { headers: headers(ORIGIN) })
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { widget: string | null }).widget).toBeTruthy()
    expect(remaining(ok)).toBeGreaterThan(0)
    const foreign = await app.request('/api/test/widget', { headers: headers('https://evil.example.net') })
    expect(foreign.status).toBe(403)
    expect(await code(foreign)).toBe('origin_not_allowed')
    expect((await app.request('/api/test/widget', { headers: { origin: ORIGIN } })).status).toBe(401)
    // A secret key is never accepted in a page.
    const secret = await app.request('/api/test/widget', { headers: { 'x-product-key': await apiKey(['audit:read']), origin: ORIGIN } })
    expect(await code(secret)).toBe('invalid_key')

    expect(await code(await app.request('/api/test/visitor', { headers: headers(ORIGIN) }))).toBe('visitor_token_invalid')
    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: headers(ORIGIN) })
    expect(started.status).toBe(201)
    const { visitorToken: token } = (await started.json()) as { visitorToken: string }
    const visitor = await app.request('/api/test/visitor', { headers: headers(ORIGIN, { authorization: `Bearer ${token}` }) })
    expect(visitor.status).toBe(200)
    expect(((await visitor.json()) as { visitor: string | null }).visitor).toBeTruthy()
  })

  it('charges a declared route under an old auth prefix exactly once', async () => {
    const first = await app.request('/api/products/declared-probe', { token: owner.token })
    expect(first.status).toBe(200)
    const second = await app.request('/api/products/declared-probe', { token: owner.token })
    expect(remaining(first) - remaining(second)).toBe(1)
    // The old prefix would also refuse a key lacking keys:read there; the declaration says audit:read.
    expect((await app.request('/api/products/declared-probe', { token: await apiKey(['audit:read']) })).status).toBe(200)
  })

  it('a refused request charges nothing', async () => {
    const before = remaining(await app.request('/api/test/customer', { token: owner.token }))
    await app.request('/api/test/customer', { token: await apiKey(['leads:read']) })
    const after = remaining(await app.request('/api/test/customer', { token: owner.token }))
    // Between the two probes: creating the key spent one, the second probe one; the refused call spent nothing.
    expect(before - after).toBe(2)
  })

  it('replays an idempotent POST to its retries, once per Idempotency-Key', async () => {
    const send = (key: string) => app.request('/api/test/create', { method: 'POST', token: owner.token, headers: { 'idempotency-key': key } })
    const a = await send('probe-key-1')
    const b = await send('probe-key-1')
    expect(a.status).toBe(201)
    expect(await b.json()).toEqual(await a.json())
    expect(b.headers.get('idempotent-replayed')).toBe('true')
    expect(((await (await send('probe-key-2')).json()) as { n: number }).n).toBe(calls)
    expect(calls).toBe(2)
  })

  it('documents every declared route with its security and error answers', async () => {
    const doc = (await (await app.request('/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>
    }
    const enrich = doc.paths['/api/enrich']?.post
    expect(enrich?.security).toEqual([{ session: [] }, { sessionCookie: [] }, { secretKey: [] }])
    expect(Object.keys(enrich?.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '403', '429']))
  })
})

describe('declarations', () => {
  it('a route with no declared access does not mount', () => {
    expect(() => declareRoute({ method: 'get', path: '/api/x', operationId: 'x', summary: 'x', tag: 'x', responses: {} } as unknown as Declaration)).toThrow(
      /declares no access/,
    )
  })

  it('an /api route registered without a declaration stops the start, unless allow-listed', () => {
    const router = createRouter()
    router.openapi(probe('/api/declared', access.public), (c) => c.json({ kind: null, widget: null, visitor: null }, 200))
    expect(assertDeclared(router.routes).map((d) => d.path)).toEqual(['/api/declared'])
    router.use('/api/*', async (_c, next) => next())
    router.get('/api/bare/:id', (c) => c.text('open to anyone'))
    router.get('/elsewhere', (c) => c.text('not under /api'))
    expect(() => assertDeclared(router.routes)).toThrow(/GET \/api\/bare\/:id/)
    expect(() => assertDeclared(router.routes, ['GET /api/bare/:id'])).not.toThrow()
  })

  it('every /api route of the app declares its access: nothing is left to a prefix list', async () => {
    const app = await createTestApp()
    try {
      const declared = assertDeclared(app.app.routes)
      const kinds = new Set(declared.map((d) => d.access.kind))
      expect(kinds).toEqual(new Set(['public', 'widget', 'session', 'customer', 'operator', 'signature']))
      expect(declared.length).toBeGreaterThan(80)
    } finally {
      await app.shutdown()
    }
  })
})
