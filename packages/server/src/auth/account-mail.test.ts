import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newCustomer, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { type FakeSmtp, fakeSmtp } from '../../test/smtp.js'

const linkToken = (text: string, page: string) => {
  const m = new RegExp(`/dashboard/${page}\\?token=([A-Za-z0-9_-]+)`).exec(text)
  if (!m?.[1]) throw new Error(`no ${page} link in: ${text}`)
  return m[1]
}

describe('password reset and email change by email', () => {
  let smtp: FakeSmtp
  let app: TestApp

  const post = (path: string, json: unknown, init: { token?: string; ip?: string } = {}) =>
    app.request(path, { method: 'POST', json, headers: { 'x-forwarded-for': init.ip ?? uniqueIp() }, ...(init.token ? { token: init.token } : {}) })
  const login = (email: string, password: string) => post('/api/auth/login', { email, password })
  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

  beforeAll(async () => {
    smtp = await fakeSmtp()
    app = await createTestApp({ env: { SMTP_URL: smtp.url, TRUST_PROXY: '1' } })
  })
  afterAll(async () => {
    await app.shutdown()
    await smtp.close()
  })

  it('resets a password with the emailed link, once, and ends every session', async () => {
    const owner = await newCustomer(app)
    const res = await post('/api/auth/password-reset', { email: owner.email.toUpperCase() })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ accepted: true })
    await app.jobs.idle()
    const mail = smtp.to(owner.email).find((m) => m.subject.includes('Reset'))
    expect(mail).toBeDefined()
    const token = linkToken(mail!.text, 'reset-password')
    expect(mail!.html).toContain(`/dashboard/reset-password?token=${token}`)
    // Stored hashed.
    const rows = await app.deps.db.selectFrom('account_tokens').select('token_hash').execute()
    expect(rows.some((r) => r.token_hash.includes(token))).toBe(false)

    expect((await post('/api/auth/password-reset/confirm', { token, password: 'short' })).status).toBe(422)
    const ok = await post('/api/auth/password-reset/confirm', { token, password: 'a brand new passphrase' })
    expect(ok.status).toBe(200)
    expect((await app.request('/api/auth/me', { token: owner.token })).status).toBe(401)
    expect((await login(owner.email, 'correct horse battery')).status).toBe(401)
    expect((await login(owner.email, 'a brand new passphrase')).status).toBe(200)

    const again = await post('/api/auth/password-reset/confirm', { token, password: 'yet another passphrase' })
    expect(again.status).toBe(400)
    expect(await code(again)).toBe('link_invalid')
    const audit = await app.deps.db.selectFrom('audit_log').select('action').where('license_id', '=', owner.licenseId).execute()
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['auth.password_reset_requested', 'auth.password_reset']))
  })

  it('answers 202 for an unknown address and sends nothing: no account enumeration', async () => {
    const nobody = uniqueEmail('nobody')
    const res = await post('/api/auth/password-reset', { email: nobody })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ accepted: true })
    await app.jobs.idle()
    expect(smtp.to(nobody)).toHaveLength(0)
    expect((await post('/api/auth/password-reset', { email: 'not-an-email' })).status).toBe(422)
  })

  it('refuses an expired link and a superseded one', async () => {
    const owner = await newCustomer(app)
    // Each mail delivered before the next is asked for: two mail jobs running at once may reach the SMTP server in
    // either order, and which link is superseded is the order they were asked for in.
    await post('/api/auth/password-reset', { email: owner.email })
    await app.jobs.idle()
    await post('/api/auth/password-reset', { email: owner.email })
    await app.jobs.idle()
    const [first, second] = smtp.to(owner.email).filter((m) => m.subject.includes('Reset'))
    const superseded = await post('/api/auth/password-reset/confirm', { token: linkToken(first!.text, 'reset-password'), password: 'a brand new passphrase' })
    expect(await code(superseded)).toBe('link_invalid')
    await app.deps.db
      .updateTable('account_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute()
    const expired = await post('/api/auth/password-reset/confirm', { token: linkToken(second!.text, 'reset-password'), password: 'a brand new passphrase' })
    expect(await code(expired)).toBe('link_invalid')
    expect((await login(owner.email, 'correct horse battery')).status).toBe(200)
  })

  it('throttles: at most 3 emails per address an hour (still 202), and 429 past 10 requests per IP', async () => {
    const owner = await newCustomer(app)
    const ip = uniqueIp()
    for (let i = 0; i < 5; i++) expect((await post('/api/auth/password-reset', { email: owner.email }, { ip })).status).toBe(202)
    await app.jobs.idle()
    expect(smtp.to(owner.email).filter((m) => m.subject.includes('Reset'))).toHaveLength(3)
    for (let i = 0; i < 5; i++) await post('/api/auth/password-reset', { email: uniqueEmail() }, { ip })
    const limited = await post('/api/auth/password-reset', { email: owner.email }, { ip })
    expect(limited.status).toBe(429)
    expect(await code(limited)).toBe('rate_limited')
  })

  it('changes the email only once the new address confirms, and tells the old one', async () => {
    const owner = await newCustomer(app)
    const other = await newCustomer(app)
    const newEmail = uniqueEmail('moved')
    expect((await app.request('/api/auth/email', { method: 'POST', json: { newEmail, password: 'correct horse battery' } })).status).toBe(401)
    const wrong = await post('/api/auth/email', { newEmail, password: 'not my password' }, { token: owner.token })
    expect(wrong.status).toBe(403)
    expect(await code(wrong)).toBe('wrong_password')
    const taken = await post('/api/auth/email', { newEmail: other.email.toUpperCase(), password: 'correct horse battery' }, { token: owner.token })
    expect(taken.status).toBe(409)

    const res = await post('/api/auth/email', { newEmail, password: 'correct horse battery' }, { token: owner.token })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ pending: true, newEmail })
    await app.jobs.idle()
    const mail = await smtp.waitFor(newEmail)
    const token = linkToken(mail.text, 'confirm-email')
    // Nothing changes before the confirmation.
    expect((await login(owner.email, 'correct horse battery')).status).toBe(200)

    const confirmed = await post('/api/auth/email/confirm', { token })
    expect(confirmed.status).toBe(200)
    expect(await confirmed.json()).toEqual({ email: newEmail })
    const me = (await (await app.request('/api/auth/me', { token: owner.token })).json()) as { user: { email: string } }
    expect(me.user.email).toBe(newEmail)
    expect((await login(newEmail, 'correct horse battery')).status).toBe(200)
    expect((await login(owner.email, 'correct horse battery')).status).toBe(401)
    const license = await app.deps.db.selectFrom('licenses').select('email').where('id', '=', owner.licenseId).executeTakeFirstOrThrow()
    expect(license.email).toBe(newEmail)
    await app.jobs.idle()
    expect(smtp.to(owner.email).some((m) => m.subject.includes('was changed') && m.text.includes(newEmail))).toBe(true)
    expect(await code(await post('/api/auth/email/confirm', { token }))).toBe('link_invalid')
  })
})
