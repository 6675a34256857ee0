import { randomBytes } from 'node:crypto'
import { decodeJwt, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, heldWrites, newCustomer, newLicense, recordedWrites, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createStore, createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { dropCachedSessions, sessionCacheKey } from '../account/sessions.js'
import { generateLicenseKey } from '../licenses/license-key.js'

const PASSWORD = 'correct horse battery'

interface ErrorBody {
  error: { code: string; message: string; requestId: string }
}
interface SessionBody {
  token: string
  user: { id: string; email: string; role: string; licenseKey: string; products: string[] }
}

const code = async (res: Response) => ((await res.json()) as ErrorBody).error.code

describe('accounts', () => {
  let app: TestApp

  const register = (json: Record<string, unknown>, target = app) =>
    target.request('/api/auth/register', { method: 'POST', headers: { 'x-forwarded-for': uniqueIp() }, json })
  const login = (email: string, password = PASSWORD, target = app, ip = uniqueIp()) =>
    target.request('/api/auth/login', { method: 'POST', headers: { 'x-forwarded-for': ip }, json: { email, password } })
  const me = (init: { token?: string; cookie?: string } = {}, target = app) =>
    target.request('/api/auth/me', { ...(init.token ? { token: init.token } : {}), headers: init.cookie ? { cookie: `intl_session=${init.cookie}` } : {} })

  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  describe('register', () => {
    it('creates the account, logs in and sets an HttpOnly SameSite session cookie', async () => {
      const license = await newLicense(app, { products: ['chatbot', 'data-enrichment'], tier: 'starter' })
      const res = await register({ email: license.email.toUpperCase(), password: PASSWORD, license_key: license.key.toLowerCase() })
      expect(res.status).toBe(201)
      const body = (await res.json()) as SessionBody
      expect(body.token.split('.')).toHaveLength(3)
      expect(body.user).toMatchObject({ role: 'customer', licenseKey: license.key, products: ['chatbot', 'data-enrichment'] })
      const cookie = res.headers.get('set-cookie') ?? ''
      expect(cookie).toMatch(/^intl_session=[^;]+/)
      expect(cookie).toMatch(/;\s*HttpOnly/i)
      expect(cookie).toMatch(/;\s*SameSite=(Lax|Strict)/i)
      expect(cookie).toMatch(/;\s*Path=\//)
      const row = await app.deps.db.selectFrom('licenses').select('claimed_at').where('id', '=', license.id).executeTakeFirstOrThrow()
      expect(row.claimed_at).not.toBeNull()
      const user = await app.deps.db.selectFrom('users').selectAll().where('license_id', '=', license.id).executeTakeFirstOrThrow()
      expect(user.password_hash).toMatch(/^scrypt\$/)
      expect(user.password_hash).not.toContain(PASSWORD)
    })

    it('answers each reason for refusal with its own code', async () => {
      const license = await newLicense(app)
      const checkFree = generateLicenseKey()
      const badCheck = `${license.key.slice(0, -1)}${license.key.endsWith('0') ? '1' : '0'}`
      const malformed = await register({ email: license.email, password: PASSWORD, license_key: badCheck })
      expect(malformed.status).toBe(400)
      expect(await code(malformed)).toBe('malformed_key')
      const garbage = await register({ email: license.email, password: PASSWORD, license_key: 'hello' })
      expect(garbage.status).toBe(400)
      expect(await code(garbage)).toBe('malformed_key')

      const unknown = await register({ email: license.email, password: PASSWORD, license_key: checkFree })
      expect(unknown.status).toBe(404)
      expect(await code(unknown)).toBe('license_not_found')

      const mismatch = await register({ email: 'somebody-else@example.com', password: PASSWORD, license_key: license.key })
      expect(mismatch.status).toBe(403)
      expect(await code(mismatch)).toBe('email_mismatch')

      const weak = await register({ email: license.email, password: 'short', license_key: license.key })
      expect(weak.status).toBe(422)
      expect(await code(weak)).toBe('validation_failed')

      const suspended = await newLicense(app)
      await app.deps.db.updateTable('licenses').set({ status: 'suspended' }).where('id', '=', suspended.id).execute()
      const inactive = await register({ email: suspended.email, password: PASSWORD, license_key: suspended.key })
      expect(inactive.status).toBe(403)
      expect(await code(inactive)).toBe('license_inactive')

      expect((await register({ email: license.email, password: PASSWORD, license_key: license.key })).status).toBe(201)
      const again = await register({ email: license.email, password: 'another password', license_key: license.key })
      expect(again.status).toBe(409)
      expect(await code(again)).toBe('license_already_claimed')
      // None of the refusals created a user.
      const users = await app.deps.db.selectFrom('users').select('id').where('license_id', 'in', [license.id, suspended.id]).execute()
      expect(users).toHaveLength(1)
    })

    it('lets exactly one of two concurrent registrations on one license through', async () => {
      const license = await newLicense(app)
      const results = await Promise.all([
        register({ email: license.email, password: PASSWORD, license_key: license.key }),
        register({ email: license.email, password: 'a different password', license_key: license.key }),
      ])
      expect(results.map((r) => r.status).sort()).toEqual([201, 409])
      const loser = results.find((r) => r.status === 409)!
      expect(await code(loser)).toBe('license_already_claimed')
      const users = await app.deps.db.selectFrom('users').select('id').where('license_id', '=', license.id).execute()
      expect(users).toHaveLength(1)
    })

    it('marks a refusal that will not change as permanent: x-should-retry: false', async () => {
      const license = await newLicense(app)
      const json = { email: license.email, password: PASSWORD, license_key: license.key }
      expect((await register(json)).status).toBe(201)
      const again = await register(json)
      expect(again.status).toBe(409)
      expect(await code(again)).toBe('license_already_claimed')
      expect(again.headers.get('x-should-retry')).toBe('false')
      const mismatch = await register({ ...json, email: uniqueEmail() })
      expect(mismatch.headers.get('x-should-retry')).toBe('false')
    })

    it('answers a retried registration (same Idempotency-Key and body) with the first answer, kept sealed at rest', async () => {
      const license = await newLicense(app)
      const json = { email: license.email, password: PASSWORD, license_key: license.key }
      const send = (body: Record<string, unknown>, idem = 'register-1') =>
        app.request('/api/auth/register', { method: 'POST', headers: { 'x-forwarded-for': uniqueIp(), 'idempotency-key': idem }, json: body })
      const realCache = app.deps.cache
      const recorded = recordedWrites(realCache)
      app.deps.cache = recorded.cache
      let first: SessionBody
      try {
        const res = await send(json)
        expect(res.status).toBe(201)
        first = (await res.json()) as SessionBody
      } finally {
        app.deps.cache = realCache
      }
      const sealed = recorded.writes.filter((w) => w.key.includes('idem:'))
      expect(sealed.length).toBeGreaterThan(0)
      const secret = decodeJwt(first.token).sst as string
      for (const { key, value } of sealed) {
        const atRest = (await realCache.get(key)) ?? ''
        for (const v of [value, atRest]) {
          for (const part of [...first.token.split('.'), secret, PASSWORD]) expect(v).not.toContain(part)
        }
      }

      // The first answer was lost; the client sends the same request again.
      const retry = await send(json)
      expect(retry.status).toBe(201)
      expect(retry.headers.get('idempotent-replayed')).toBe('true')
      expect(retry.headers.get('set-cookie')).toContain(`intl_session=${first.token}`)
      const again = (await retry.json()) as SessionBody
      expect(again.user.id).toBe(first.user.id)
      expect(again.token).toBe(first.token)
      expect((await me({ token: again.token })).status).toBe(200)

      // The same key with another body (another password) is refused; no key at all meets the claimed license.
      const changed = await send({ ...json, password: 'another long password' })
      expect(changed.status).toBe(409)
      expect(await code(changed)).toBe('idempotency_conflict')
      expect(changed.headers.get('x-should-retry')).toBe('false')
      const fresh = await send(json, 'register-2')
      expect(fresh.status).toBe(409)
      expect(await code(fresh)).toBe('license_already_claimed')
      const users = await app.deps.db.selectFrom('users').select('id').where('license_id', '=', license.id).execute()
      expect(users).toHaveLength(1)
    })
  })

  describe('login and sessions', () => {
    let customer: Customer

    beforeAll(async () => {
      customer = await newCustomer(app, { products: ['chatbot', 'sales-agent'] })
    })

    it('answers 200 with a JWT carrying sub, email, licenseKey, role, products and sid, plus the cookie', async () => {
      const res = await login(customer.email.toUpperCase())
      expect(res.status).toBe(200)
      const body = (await res.json()) as SessionBody
      const claims = decodeJwt(body.token)
      expect(claims).toMatchObject({
        sub: body.user.id,
        email: customer.email,
        licenseKey: customer.licenseKey,
        role: 'customer',
        products: ['chatbot', 'sales-agent'],
      })
      expect(typeof claims.sid).toBe('string')
      expect((claims.sid as string).length).toBeGreaterThanOrEqual(16)
      expect(claims.exp).toBeGreaterThan(claims.iat!)
      expect(res.headers.get('set-cookie')).toMatch(/intl_session=.+HttpOnly/i)
      const session = await app.deps.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', claims.sid as string)
        .executeTakeFirstOrThrow()
      expect(session.user_id).toBe(body.user.id)
      expect(session.revoked_at).toBeNull()
      const audit = await app.deps.db.selectFrom('audit_log').select('action').where('license_id', '=', customer.licenseId).execute()
      expect(audit.map((a) => a.action)).toContain('auth.login')
    })

    it('refuses a wrong password or an unknown email with 401 invalid_credentials and audits the failure', async () => {
      const wrong = await login(customer.email, 'not the password')
      expect(wrong.status).toBe(401)
      expect(await code(wrong)).toBe('invalid_credentials')
      const nobody = await login(`nobody-${randomBytes(4).toString('hex')}@example.com`)
      expect(nobody.status).toBe(401)
      expect(await code(nobody)).toBe('invalid_credentials')
      const failures = await app.deps.db
        .selectFrom('audit_log')
        .selectAll()
        .where('license_id', '=', customer.licenseId)
        .where('action', '=', 'auth.login_failed')
        .execute()
      expect(failures.length).toBeGreaterThanOrEqual(1)
      expect(failures[0]?.actor).toBe(customer.email)
      expect(failures[0]?.ip).toBeTruthy()
    })

    it('answers /me via Bearer and via the cookie', async () => {
      const { token } = (await (await login(customer.email)).json()) as SessionBody
      for (const res of [await me({ token }), await me({ cookie: token })]) {
        expect(res.status).toBe(200)
        const body = (await res.json()) as { user: { email: string; licenseKey: string; role: string }; via: string }
        expect(body.user).toMatchObject({ email: customer.email, licenseKey: customer.licenseKey, role: 'customer' })
        expect(body.via).toBe('session')
      }
      const none = await me()
      expect(none.status).toBe(401)
      expect(await code(none)).toBe('unauthorized')
    })

    it('refuses a tampered, foreign-signed or garbage token with 401 token_invalid', async () => {
      const { token } = (await (await login(customer.email)).json()) as SessionBody
      const [h, p, s] = token.split('.') as [string, string, string]
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString())
      const forged = Buffer.from(JSON.stringify({ ...payload, role: 'admin' })).toString('base64url')
      const foreign = await new SignJWT({ ...payload }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(randomBytes(32).toString('hex')))
      const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`
      for (const bad of [`${h}.${forged}.${s}`, foreign, flipped, 'not.a.jwt', `${h}.${p}.`]) {
        const res = await me({ token: bad })
        expect(res.status, bad).toBe(401)
        expect(await code(res)).toBe('token_invalid')
      }
    })

    it('stores only a hash of the session secret: nothing in Postgres or the cache opens a session', async () => {
      const res = await login(customer.email)
      const { token } = (await res.json()) as SessionBody
      const claims = decodeJwt(token)
      const sid = claims.sid as string
      // Twice: the second answer comes from this instance's copy of the session, which then remembers the verified
      // secret and compares later tokens with it (the forged ones below must fail there too).
      expect((await me({ token })).status).toBe(200)
      expect((await me({ token })).status).toBe(200)
      const row = await app.deps.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow()
      const cached = await app.deps.cache.get(sessionCacheKey(customer.licenseKey, sid))
      expect(cached).not.toBeNull()
      const stored = [...Object.values(row), ...Object.values(JSON.parse(cached!) as Record<string, unknown>)].filter((v): v is string => typeof v === 'string')
      expect(JSON.stringify(row)).not.toContain(claims.sst as string)
      expect(cached).not.toContain(claims.sst as string)
      // Whoever read the stores, even holding JWT_SECRET as well, can sign a token naming the session, but cannot
      // supply its secret: every stored string, as the secret, as the sid, as a Bearer token or as the cookie, fails.
      const { sst: _, ...withoutSecret } = claims
      const sign = (extra: Record<string, unknown>) =>
        new SignJWT({ ...withoutSecret, ...extra }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(app.config.jwtSecret)
      const forged = [
        await sign({}),
        ...(await Promise.all(stored.map((v) => sign({ sst: v })))),
        ...(await Promise.all(stored.map((v) => sign({ sid: v, sst: v })))),
      ]
      for (const candidate of [...stored, ...forged]) {
        for (const res of [await me({ token: candidate }), await me({ cookie: candidate })]) {
          expect(res.status, candidate).toBe(401)
        }
      }
      // A session from before hashed sessions (no hash stored) opens for nobody, not even its own token.
      await app.deps.db.updateTable('sessions').set({ secret_hash: null }).where('id', '=', sid).execute()
      // Every cached copy (Redis and this instance's memory) is forgotten, as after any change to a session.
      await dropCachedSessions(app.deps, customer.licenseKey, [sid])
      expect((await me({ token })).status).toBe(401)
    })

    it('refuses a cookie-authenticated write from a foreign origin with 403 csrf_rejected', async () => {
      const { token } = (await (await login(customer.email)).json()) as SessionBody
      const foreign = await app.request('/api/auth/logout', { method: 'POST', headers: { cookie: `intl_session=${token}`, origin: 'https://evil.example' } })
      expect(foreign.status).toBe(403)
      expect(await code(foreign)).toBe('csrf_rejected')
      const crossSite = await app.request('/api/products/chatbot/configure', {
        method: 'POST',
        headers: { cookie: `intl_session=${token}`, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' },
        body: '{}',
      })
      expect(crossSite.status).toBe(403)
      expect(await code(crossSite)).toBe('csrf_rejected')
      // The session survived, and the dashboard's own origin may write.
      expect((await me({ cookie: token })).status).toBe(200)
      const own = await app.request('/api/auth/logout', { method: 'POST', headers: { cookie: `intl_session=${token}`, origin: 'http://intelagent.test' } })
      expect(own.status).toBe(200)
    })

    it('refuses login for a suspended license with 403 license_inactive', async () => {
      const other = await newCustomer(app)
      await app.deps.db.updateTable('licenses').set({ status: 'suspended' }).where('id', '=', other.licenseId).execute()
      const res = await login(other.email)
      expect(res.status).toBe(403)
      expect(await code(res)).toBe('license_inactive')
    })
  })

  describe('logout and expiry', () => {
    it('revokes the session on every instance sharing the store: 401 session_revoked', async () => {
      const store = await createStore()
      const env = { JWT_SECRET: randomBytes(32).toString('base64url'), KEY_PEPPER: randomBytes(32).toString('base64url') }
      const one = await createTestApp({ store, env })
      const two = await createTestApp({ store, env, sharedDeps: one.deps })
      try {
        const customer = await newCustomer(one)
        expect((await me({ token: customer.token }, two)).status).toBe(200)
        const out = await one.request('/api/auth/logout', { method: 'POST', token: customer.token })
        expect(out.status).toBe(200)
        expect(out.headers.get('set-cookie')).toMatch(/intl_session=;/)
        for (const target of [one, two]) {
          const res = await me({ token: customer.token }, target)
          expect(res.status).toBe(401)
          expect(await code(res)).toBe('session_revoked')
        }
        const cookie = await me({ cookie: customer.token }, two)
        expect(await code(cookie)).toBe('session_revoked')
        // Another session of the same user is untouched.
        const fresh = (await (await login(customer.email, PASSWORD, two)).json()) as SessionBody
        expect((await me({ token: fresh.token }, one)).status).toBe(200)
      } finally {
        await two.shutdown()
        await one.shutdown()
        await store.drop()
      }
    })

    it('does not let a request that raced the logout cache the session again', async () => {
      const customer = await newCustomer(app)
      const sid = decodeJwt(customer.token).sid as string
      // A cold cache sends /me to Postgres; its cache write is held until the logout is done.
      await app.deps.cache.del(sessionCacheKey(customer.licenseKey, sid))
      const realCache = app.deps.cache
      const held = heldWrites(realCache, `:session:${sid}`)
      app.deps.cache = held.cache
      try {
        const racing = me({ token: customer.token })
        await held.reached
        app.deps.cache = realCache
        expect((await app.request('/api/auth/logout', { method: 'POST', token: customer.token })).status).toBe(200)
        held.release()
        expect((await racing).status).toBe(200)
      } finally {
        app.deps.cache = realCache
      }
      await app.deps.tasks.idle()
      const after = await me({ token: customer.token })
      expect(after.status).toBe(401)
      expect(await code(after)).toBe('session_revoked')
    })

    it('refuses a token past SESSION_TTL with 401 token_expired', async () => {
      const clock = new ManualClock(Date.now())
      const timed = await createTestApp({ clock, env: { SESSION_TTL_HOURS: '1' }, sharedDeps: app.deps })
      try {
        const customer = await newCustomer(timed)
        expect((await me({ token: customer.token }, timed)).status).toBe(200)
        clock.advance(3600_000 - 5_000)
        expect((await me({ token: customer.token }, timed)).status).toBe(200)
        clock.advance(10_000)
        const res = await me({ token: customer.token }, timed)
        expect(res.status).toBe(401)
        expect(await code(res)).toBe('token_expired')
      } finally {
        await timed.shutdown()
      }
    })
  })
})
