// Account settings through the HTTP API: changing the password ends the other sessions; the sessions list shows
// devices with the current one flagged, and one or all other sessions can be signed out; nobody reaches another's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newCustomer, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { deviceLabel } from './routes.js'

const PASSWORD = 'correct horse battery'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

interface SessionRow {
  id: string
  current: boolean
  device: string
  userAgent: string | null
  createdAt: string
  lastSeenAt: string | null
}
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('account settings', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  const login = async (email: string, userAgent: string, password = PASSWORD) => {
    const res = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp(), 'user-agent': userAgent },
      json: { email, password },
    })
    return { status: res.status, token: res.status === 200 ? ((await res.json()) as { token: string }).token : '' }
  }
  const sessions = async (token: string) => ((await (await app.request('/api/account/sessions', { token })).json()) as { sessions: SessionRow[] }).sessions
  const me = (token: string) => app.request('/api/auth/me', { token })

  it('names devices from the user agent', () => {
    expect(deviceLabel(CHROME)).toBe('Chrome 126 on Windows')
    expect(deviceLabel(IPHONE)).toBe('Safari 17 on iOS')
    expect(deviceLabel(null)).toBe('Unknown device')
  })

  it('lists live sessions with devices, the current one first and flagged', async () => {
    const customer = await newCustomer(app)
    const laptop = await login(customer.email, CHROME)
    const phone = await login(customer.email, IPHONE)
    const list = await sessions(phone.token)
    expect(list).toHaveLength(3)
    expect(list[0]).toMatchObject({ current: true, device: 'Safari 17 on iOS', userAgent: IPHONE })
    expect(list.filter((s) => s.current)).toHaveLength(1)
    expect(list.map((s) => s.device)).toContain('Chrome 126 on Windows')
    // The laptop's first request was read from Postgres: its last-seen time is recorded.
    await me(laptop.token)
    const fromLaptop = await sessions(laptop.token)
    expect(fromLaptop[0]?.device).toBe('Chrome 126 on Windows')
    expect(fromLaptop[0]?.lastSeenAt).not.toBeNull()
  })

  it('signs one session out, and all others, at once', async () => {
    const customer = await newCustomer(app)
    const a = await login(customer.email, CHROME)
    const b = await login(customer.email, IPHONE)
    const other = (await sessions(a.token)).find((s) => s.device.startsWith('Safari'))
    expect(other).toBeDefined()
    await me(b.token)
    const res = await app.request(`/api/account/sessions/${other?.id}`, { method: 'DELETE', token: a.token })
    expect(res.status).toBe(204)
    const after = await me(b.token)
    expect([after.status, await codeOf(after)]).toEqual([401, 'session_revoked'])
    expect((await me(a.token)).status).toBe(200)

    const ended = await app.request('/api/account/sessions/revoke-others', { method: 'POST', token: a.token })
    expect(await ended.json()).toEqual({ sessionsEnded: 1 })
    expect((await me(customer.token)).status).toBe(401)
    expect((await sessions(a.token)).map((s) => s.current)).toEqual([true])
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select('action')
      .where('license_id', '=', customer.licenseId)
      .where('action', 'like', 'account.%session%')
      .execute()
    expect(audit.map((r) => r.action).sort()).toEqual(['account.other_sessions_revoked', 'account.session_revoked'])

    // Signing the current session out is logging out: the cookie is cleared too.
    const self = (await sessions(a.token))[0]
    const out = await app.request(`/api/account/sessions/${self?.id}`, { method: 'DELETE', token: a.token })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toMatch(/intl_session=;/)
    expect((await me(a.token)).status).toBe(401)
  })

  it('changes the password only with the current one, and ends every other session', async () => {
    const customer = await newCustomer(app)
    const other = await login(customer.email, IPHONE)
    const wrong = await app.request('/api/account/password', {
      method: 'POST',
      token: customer.token,
      json: { currentPassword: 'not my password', newPassword: 'a brand new password' },
    })
    expect([wrong.status, await codeOf(wrong)]).toEqual([403, 'password_incorrect'])
    const weak = await app.request('/api/account/password', {
      method: 'POST',
      token: customer.token,
      json: { currentPassword: PASSWORD, newPassword: 'short' },
    })
    expect([weak.status, await codeOf(weak)]).toEqual([422, 'validation_failed'])
    expect((await me(other.token)).status).toBe(200)

    const res = await app.request('/api/account/password', {
      method: 'POST',
      token: customer.token,
      json: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ changed: true, sessionsEnded: 1 })
    expect((await me(customer.token)).status).toBe(200)
    expect((await me(other.token)).status).toBe(401)
    expect((await login(customer.email, CHROME)).status).toBe(401)
    expect((await login(customer.email, CHROME, 'a brand new password')).status).toBe(200)
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select('actor')
      .where('license_id', '=', customer.licenseId)
      .where('action', '=', 'account.password_changed')
      .execute()
    expect(audit).toEqual([{ actor: customer.email }])
  })

  it('throttles guesses of the current password', async () => {
    const customer = await newCustomer(app)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const res = await app.request('/api/account/password', {
        method: 'POST',
        token: customer.token,
        json: { currentPassword: `guess ${i}`, newPassword: 'a brand new password' },
      })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429])
  })

  it('never reaches another person’s session, and refuses keys and strangers', async () => {
    const alice = await newCustomer(app)
    const bob = await newCustomer(app)
    const bobSession = (await sessions(bob.token))[0]
    const res = await app.request(`/api/account/sessions/${bobSession?.id}`, { method: 'DELETE', token: alice.token })
    expect([res.status, await codeOf(res)]).toEqual([404, 'not_found'])
    expect((await me(bob.token)).status).toBe(200)
    expect((await app.request('/api/account/sessions')).status).toBe(401)
    const key = await app.request('/api/api-keys', { method: 'POST', token: alice.token, json: { name: 'k', scopes: ['keys:read'] } })
    const apiKey = ((await key.json()) as { key: string }).key
    const byKey = await app.request('/api/account/sessions', { token: apiKey })
    expect([byKey.status, await codeOf(byKey)]).toEqual([403, 'forbidden'])
  })
})
