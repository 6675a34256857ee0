// Password reset, email change and the operators' mail outbox through the SDK against the real server, in process
// (no SMTP_URL: messages are kept in the outbox, which the operator reads).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/src/account/password.js'
import { newCustomer, uniqueEmail } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { AuthenticationError, Intelagent, PermissionError, ValidationError } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (token?: string) => new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0, ...(token ? { token } : {}) })
let ops: Intelagent

const tokenIn = (text: string | null | undefined, page: string) => new RegExp(`/dashboard/${page}\\?token=([A-Za-z0-9_-]+)`).exec(text ?? '')?.[1] ?? ''

beforeAll(async () => {
  app = await createTestApp()
  const email = uniqueEmail('ops')
  await app.deps.db
    .insertInto('users')
    .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
    .execute()
  ops = client()
  await ops.auth.login({ email, password: 'operator password' })
})
afterAll(async () => {
  await app?.shutdown()
})

describe('sdk.auth password reset and email change, sdk.mail', () => {
  it('resets a password from the emailed link', async () => {
    const owner = await newCustomer(app)
    expect(await client().auth.requestPasswordReset({ email: owner.email })).toEqual({ accepted: true })
    expect(await client().auth.requestPasswordReset({ email: uniqueEmail('nobody') })).toEqual({ accepted: true })
    await app.jobs.idle()
    const [mail] = (await ops.mail.list({ email: owner.email })).data.filter((m) => m.template === 'password-reset')
    expect(mail).toMatchObject({ status: 'kept', to: owner.email })
    const token = tokenIn(mail?.text, 'reset-password')
    expect(await client().auth.resetPassword({ token, password: 'a brand new passphrase' })).toEqual({ reset: true })
    await expect(client().auth.resetPassword({ token, password: 'another passphrase!' })).rejects.toBeInstanceOf(ValidationError)
    await expect(client(owner.token).auth.me()).rejects.toBeInstanceOf(AuthenticationError)
    const again = client()
    await again.auth.login({ email: owner.email, password: 'a brand new passphrase' })
    expect((await again.auth.me()).user.email).toBe(owner.email)
  })

  it('changes the email after confirmation', async () => {
    const owner = await newCustomer(app)
    const me = client(owner.token)
    const newEmail = uniqueEmail('moved')
    await expect(me.auth.changeEmail({ newEmail, password: 'wrong password' })).rejects.toBeInstanceOf(PermissionError)
    expect(await me.auth.changeEmail({ newEmail, password: 'correct horse battery' })).toEqual({ pending: true, newEmail })
    await app.jobs.idle()
    const [mail] = (await ops.mail.list({ email: newEmail })).data
    expect(mail?.template).toBe('email-change')
    expect(await client().auth.confirmEmail({ token: tokenIn(mail?.text, 'confirm-email') })).toEqual({ email: newEmail })
    expect((await me.auth.me()).user.email).toBe(newEmail)
  })

  it('lists the outbox and resends a license email (operators only)', async () => {
    const owner = await newCustomer(app)
    await app.jobs.idle()
    const before = (await ops.mail.list({ licenseId: owner.licenseId })).data
    expect(before.map((m) => m.template)).toEqual(['license-issued'])
    const resent = await ops.mail.resendLicense(owner.licenseId)
    expect(resent).toMatchObject({ template: 'license-issued', to: owner.email, licenseId: owner.licenseId })
    await app.jobs.idle()
    const after = (await ops.mail.list({ licenseId: owner.licenseId, status: 'kept' })).data
    expect(after).toHaveLength(2)
    expect(after[0]?.text).toContain(owner.licenseKey)
    await expect(client(owner.token).mail.list()).rejects.toBeInstanceOf(PermissionError)
  })
})
