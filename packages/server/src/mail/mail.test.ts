import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { n8nSigned, newLicense, uniqueEmail } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { type FakeSmtp, fakeSmtp } from '../../test/smtp.js'
import { hashPassword } from '../account/password.js'
import { MAIL_ATTEMPTS, sendMail } from './mailer.js'
import { escapeHtml, render } from './templates.js'

interface MailBody {
  mail: {
    id: string
    to: string
    template: string
    status: string
    attempts: number
    providerMessageId: string | null
    text: string | null
    licenseId: string | null
  }[]
}

async function operatorToken(app: TestApp): Promise<string> {
  const email = uniqueEmail('ops')
  await app.deps.db
    .insertInto('users')
    .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
    .execute()
  const login = await app.request('/api/auth/login', { method: 'POST', json: { email, password: 'operator password' } })
  return ((await login.json()) as { token: string }).token
}

const issueByN8n = (app: TestApp, email: string, products = ['chatbot']) => {
  const { raw, signature } = n8nSigned({ orderId: `n8n-${randomBytes(6).toString('hex')}`, email, products, tier: 'professional' })
  return app.request('/api/webhooks/n8n/licenses', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-intelagent-signature': signature },
    body: raw,
  })
}

describe('mail over SMTP (a real SMTP server on loopback)', () => {
  let smtp: FakeSmtp
  let app: TestApp
  let admin: string

  beforeAll(async () => {
    smtp = await fakeSmtp()
    app = await createTestApp({
      env: { SMTP_URL: smtp.url, MAIL_FROM: 'Intelagent <licenses@intelagent.test>', JOBS_RETRY_BASE_MS: '10', JOBS_RETRY_MAX_MS: '40' },
    })
    admin = await operatorToken(app)
  })
  afterAll(async () => {
    await app.shutdown()
    await smtp.close()
  })

  it('delivers the license email (key, products, register link) when a license is issued', async () => {
    const email = uniqueEmail('buyer')
    const res = await issueByN8n(app, email, ['chatbot', 'sales-agent'])
    expect(res.status).toBe(201)
    const { license } = (await res.json()) as { license: { key: string } }
    await app.jobs.idle()
    const mail = await smtp.waitFor(email)
    expect(mail.from).toBe('licenses@intelagent.test')
    expect(mail.subject).toBe('Your Intelagent license key')
    expect(mail.text).toContain(license.key)
    expect(mail.text).toContain('Chatbot, Sales Agent')
    expect(mail.text).toContain(`http://intelagent.test/dashboard/register?license=${license.key}`)
    expect(mail.html).toContain(license.key)
    const list = (await (await app.request(`/api/admin/mail?email=${encodeURIComponent(email.toUpperCase())}`, { token: admin })).json()) as MailBody
    expect(list.mail).toHaveLength(1)
    expect(list.mail[0]).toMatchObject({ to: email, template: 'license-issued', status: 'sent', attempts: 1, text: null })
    expect(list.mail[0]?.providerMessageId).toBe(mail.messageId)
    // The body is encrypted at rest: the key is not readable in the table.
    const row = await app.deps.db
      .selectFrom('mail_outbox')
      .selectAll()
      .where('id', '=', list.mail[0]?.id as string)
      .executeTakeFirstOrThrow()
    expect(row.body_text).not.toContain(license.key)
    expect(row.body_html).not.toContain(license.key)
  })

  it('retries a send the server refuses, and delivers it once the server accepts', async () => {
    const email = uniqueEmail('retry')
    smtp.refuseNext(2)
    const before = smtp.attempts
    const license = await newLicense(app, { email })
    await app.jobs.idle()
    const mail = await smtp.waitFor(email)
    expect(mail.text).toContain(license.key)
    expect(smtp.attempts - before).toBe(3)
    expect(smtp.to(email)).toHaveLength(1)
    const row = await app.deps.db.selectFrom('mail_outbox').selectAll().where('license_id', '=', license.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ status: 'sent', attempts: 3, last_error: null })
  })

  it(`marks a message failed after ${MAIL_ATTEMPTS} refused attempts`, async () => {
    const email = uniqueEmail('bounce')
    smtp.rejectRecipient(email)
    const license = await newLicense(app, { email })
    await app.jobs.idle()
    const row = await app.deps.db.selectFrom('mail_outbox').selectAll().where('license_id', '=', license.id).executeTakeFirstOrThrow()
    expect(row.status).toBe('failed')
    expect(row.attempts).toBe(MAIL_ATTEMPTS)
    expect(row.last_error).toMatch(/550|No such mailbox/)
    const list = (await (await app.request(`/api/admin/mail?license=${license.id}&status=failed`, { token: admin })).json()) as MailBody
    expect(list.mail.map((m) => m.licenseId)).toEqual([license.id])
  })

  it('lets an operator resend the license email', async () => {
    const email = uniqueEmail('resend')
    const license = await newLicense(app, { email })
    await app.jobs.idle()
    await smtp.waitFor(email)
    const res = await app.request(`/api/admin/licenses/${license.id}/resend-license`, { method: 'POST', token: admin })
    expect(res.status).toBe(202)
    await app.jobs.idle()
    expect(smtp.to(email)).toHaveLength(2)
    expect(smtp.to(email)[1]?.text).toContain(license.key)
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .selectAll()
      .where('license_id', '=', license.id)
      .where('action', '=', 'license.mail_resent')
      .execute()
    expect(audit).toHaveLength(1)
    expect((await app.request(`/api/admin/licenses/${crypto.randomUUID()}/resend-license`, { method: 'POST', token: admin })).status).toBe(404)
  })

  it('is for operators only', async () => {
    expect((await app.request('/api/admin/mail')).status).toBe(401)
    const license = await newLicense(app)
    expect((await app.request(`/api/admin/licenses/${license.id}/resend-license`, { method: 'POST' })).status).toBe(401)
  })

  it('sends a message once per dedupe key, in the caller’s transaction', async () => {
    const email = uniqueEmail('dedupe')
    const data = { resetUrl: 'http://intelagent.test/x', expiresMinutes: 60 }
    const first = await sendMail(app.deps.db, app.config, { to: email, template: 'password-reset', data, dedupeKey: `t:${email}` })
    const second = await sendMail(app.deps.db, app.config, { to: email, template: 'password-reset', data, dedupeKey: `t:${email}` })
    expect(first).toMatch(/^mail_/)
    expect(second).toBeNull()
    // Rolled back with its transaction: no message, no job.
    await app.deps.db
      .transaction()
      .execute(async (trx) => {
        await sendMail(trx, app.config, { to: 'rolled-back@example.com', template: 'password-reset', data })
        throw new Error('rollback')
      })
      .catch(() => undefined)
    await app.jobs.idle()
    expect(smtp.to(email)).toHaveLength(1)
    expect(smtp.to('rolled-back@example.com')).toHaveLength(0)
  })
})

describe('mail without SMTP_URL (the local outbox)', () => {
  let app: TestApp
  const lines: string[] = []

  beforeAll(async () => {
    app = await createTestApp({ env: { LOG_LEVEL: 'info' }, log: (line) => lines.push(line) })
  })
  afterAll(async () => app.shutdown())

  it('keeps every message in the outbox, readable by the operator, and the log says where', async () => {
    expect(lines.some((l) => l.includes('SMTP_URL is not set') && l.includes('/api/admin/mail'))).toBe(true)
    const email = uniqueEmail('outbox')
    const license = await newLicense(app, { email })
    await app.jobs.idle()
    const admin = await operatorToken(app)
    const list = (await (await app.request(`/api/admin/mail?license=${license.id}`, { token: admin })).json()) as MailBody
    expect(list.mail).toHaveLength(1)
    expect(list.mail[0]).toMatchObject({ to: email, status: 'kept', template: 'license-issued' })
    expect(list.mail[0]?.text).toContain(license.key)
    expect(lines.some((l) => l.includes('mail kept in the outbox') && !l.includes(license.key))).toBe(true)
  })

  it('tells the buyer of a usage warning and of a failed renewal (dunning), once per event', async () => {
    const { emit } = await import('../platform/events.js')
    const email = uniqueEmail('warned')
    const license = await newLicense(app, { email })
    await emit(app.deps.db, {
      type: 'usage.warning',
      licenseId: license.id,
      data: {
        quota: 'conversations',
        level: 'forecast',
        used: 400,
        limit: 500,
        forecast: 620,
        periodStart: '2026-11-01T00:00:00.000Z',
        periodEnd: '2026-12-01T00:00:00.000Z',
        runsOutAt: '2026-11-23T00:00:00.000Z',
        message: 'Conversations run out around the 23rd',
      },
    })
    await emit(app.deps.db, {
      type: 'billing.payment_failed',
      licenseId: license.id,
      data: {
        licenseId: license.id,
        email,
        invoiceId: 'in_test_1',
        amountDue: 4900,
        currency: 'eur',
        attempt: 1,
        hostedInvoiceUrl: 'https://invoice.stripe.test/in_test_1',
        graceEndsAt: '2026-12-07T00:00:00.000Z',
      },
    })
    await app.jobs.idle()
    const admin = await operatorToken(app)
    const list = (await (await app.request(`/api/admin/mail?license=${license.id}`, { token: admin })).json()) as MailBody
    const byTemplate = new Map(list.mail.map((m) => [m.template, m]))
    expect(byTemplate.get('usage-warning')).toMatchObject({ to: email })
    expect(byTemplate.get('usage-warning')?.text).toContain('Conversations run out around the 23rd')
    expect(byTemplate.get('usage-warning')?.text).toContain('/dashboard/billing')
    expect(byTemplate.get('payment-failed')).toMatchObject({ to: email })
    expect(byTemplate.get('payment-failed')?.text).toContain('49.00 EUR')
    expect(byTemplate.get('payment-failed')?.text).toContain('https://invoice.stripe.test/in_test_1')
  })

  it('tells the owner once when an outbound webhook endpoint is switched off', async () => {
    const { emit } = await import('../platform/events.js')
    const email = uniqueEmail('hooked')
    const license = await newLicense(app, { email })
    const event = {
      type: 'webhook_endpoint.disabled' as const,
      licenseId: license.id,
      data: {
        endpointId: 'we_test_1',
        url: 'https://hooks.example.com/in',
        failingSince: '2026-11-20T08:30:00.000Z',
        reason: 'Every delivery failed for 72 hours',
      },
    }
    await emit(app.deps.db, event)
    await app.jobs.idle()
    const admin = await operatorToken(app)
    const read = async () =>
      ((await (await app.request(`/api/admin/mail?license=${license.id}`, { token: admin })).json()) as MailBody).mail.filter(
        (m) => m.template === 'webhook-disabled',
      )
    const sent = await read()
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ to: email, status: 'kept' })
    expect(sent[0]?.text).toContain('https://hooks.example.com/in')
    expect(sent[0]?.text).toContain('2026-11-20 08:30 UTC')
    expect(sent[0]?.text).toContain('Every delivery failed for 72 hours')
    expect(sent[0]?.text).toContain('http://intelagent.test/dashboard/webhooks')
    // The consumer running again for the same event (a retry after a crash) sends nothing more.
    const row = await app.deps.db
      .selectFrom('events')
      .select('id')
      .where('license_id', '=', license.id)
      .where('type', '=', 'webhook_endpoint.disabled')
      .executeTakeFirstOrThrow()
    const { sendMail: send } = await import('./mailer.js')
    expect(
      await send(app.deps.db, app.config, {
        to: email,
        template: 'webhook-disabled',
        licenseId: license.id,
        dedupeKey: `webhook-disabled:${row.id}`,
        data: { url: 'x', reason: 'x', failingSince: 'x', webhooksUrl: 'x' },
      }),
    ).toBeNull()
    // A second disabling (a new event) is a new message.
    await emit(app.deps.db, event)
    await app.jobs.idle()
    expect(await read()).toHaveLength(2)
  })

  it('sends nothing for the demo license', async () => {
    const { issueLicense } = await import('../licenses/queries.js')
    const { license } = await issueLicense(app.deps.db, { source: 'demo', orderId: null, email: uniqueEmail('demo'), products: ['chatbot'], tier: 'starter' })
    await app.jobs.idle()
    const rows = await app.deps.db.selectFrom('mail_outbox').select('id').where('license_id', '=', license.id).execute()
    expect(rows).toHaveLength(0)
  })
})

describe('templates', () => {
  it('escape every value in the HTML part', () => {
    const evil = '<script>alert(1)</script>"&'
    const out = render('email-change', { confirmUrl: 'http://x.test/?a=1&b="2"', newEmail: evil, expiresMinutes: 60 })
    expect(out.html).not.toContain('<script>')
    expect(out.html).toContain(escapeHtml(evil))
    expect(out.html).toContain('href="http://x.test/?a=1&amp;b=&quot;2&quot;"')
    expect(out.text).toContain(evil)
  })
})
