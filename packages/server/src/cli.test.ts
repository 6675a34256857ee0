import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer, uniqueEmail } from '../test/fixtures.js'
import { createStore, createTestApp, type TestApp, testEnv } from '../test/harness.js'
import { runCli } from './cli.js'

interface Issued {
  created: boolean
  license: { key: string; email: string; products: string[]; tier: string; orderId: string | null; source: string }
}

describe('operator CLI', () => {
  let app: TestApp
  const cli = async (...argv: string[]) => {
    const lines: string[] = []
    const code = await runCli(argv, (s) => lines.push(s), { deps: app.deps })
    return { code, text: lines.join('\n') }
  }

  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  it('issue-license prints the license, and the same order id gives the same license again', async () => {
    const email = uniqueEmail('cli')
    const first = await cli('issue-license', '--email', email, '--products', 'chatbot, data-enrichment', '--tier', 'business', '--order-id', `cli-${email}`)
    expect(first.code).toBe(0)
    const issued = JSON.parse(first.text) as Issued
    expect(issued.created).toBe(true)
    expect(issued.license).toMatchObject({ email, products: ['chatbot', 'data-enrichment'], tier: 'business', source: 'cli', orderId: `cli-${email}` })
    expect(issued.license.key).toMatch(/^INTL-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    const row = await app.deps.db.selectFrom('licenses').selectAll().where('key', '=', issued.license.key).executeTakeFirstOrThrow()
    expect(row.email).toBe(email)

    const again = JSON.parse((await cli('issue-license', '--email', email, '--products', 'chatbot', '--order-id', `cli-${email}`)).text) as Issued
    expect(again).toMatchObject({ created: false, license: { key: issued.license.key } })
    // The printed key registers an account.
    const reg = await app.request('/api/auth/register', { method: 'POST', json: { email, password: 'correct horse battery', license_key: issued.license.key } })
    expect(reg.status).toBe(201)
  })

  it('refuses bad arguments with exit code 2 and a message, and prints usage without a command', async () => {
    for (const argv of [
      ['issue-license', '--email', 'a@b.co'],
      ['issue-license', '--email', 'a@b.co', '--products', 'time-machine'],
      ['issue-license', '--email', 'a@b.co', '--products', 'chatbot', '--tier', 'platinum'],
      ['issue-license', '--email', 'not-an-email', '--products', 'chatbot'],
      ['issue-license', '--email', 'a@b.co', '--products', 'chatbot', '--colour', 'red'],
      ['issue-license', '--email'],
      ['create-admin', '--email', 'ops@example.com', '--password', 'short'],
      ['launch-rockets'],
    ]) {
      const { code, text } = await cli(...argv)
      expect(code, argv.join(' ')).toBe(2)
      expect(text.length).toBeGreaterThan(0)
    }
    const usage = await cli()
    expect(usage.code).toBe(0)
    expect(usage.text).toContain('issue-license')
    const count = await app.deps.db
      .selectFrom('licenses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('email', '=', 'a@b.co')
      .executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  it('create-admin makes an operator who can log in, list licenses and not be created twice', async () => {
    const email = uniqueEmail('ops')
    const created = await cli('create-admin', '--email', email, '--password', 'operator password')
    expect(created).toEqual({ code: 0, text: `Operator ${email} created` })
    const twice = await cli('create-admin', '--email', email.toUpperCase(), '--password', 'operator password')
    expect(twice.code).toBe(1)
    expect(twice.text).toMatch(/already exists/)

    const login = await app.request('/api/auth/login', { method: 'POST', json: { email, password: 'operator password' } })
    expect(login.status).toBe(200)
    const { token, user } = (await login.json()) as { token: string; user: { role: string; licenseKey: string | null } }
    expect(user).toMatchObject({ role: 'admin', licenseKey: null })

    const issued = JSON.parse((await cli('issue-license', '--email', uniqueEmail(), '--products', 'chatbot')).text) as Issued
    const list = await app.request('/api/admin/licenses', { token })
    expect(list.status).toBe(200)
    const { licenses } = (await list.json()) as { licenses: { key: string }[] }
    expect(licenses.map((l) => l.key)).toContain(issued.license.key)

    const customer = await newCustomer(app)
    const refused = await app.request('/api/admin/licenses', { token: customer.token })
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden')
  })

  it('lets an operator suspend a license: its keys fail with license_inactive until reactivated', async () => {
    const email = uniqueEmail('ops')
    await cli('create-admin', '--email', email, '--password', 'operator password')
    const adminToken = (
      (await (await app.request('/api/auth/login', { method: 'POST', json: { email, password: 'operator password' } })).json()) as { token: string }
    ).token
    const customer = await newCustomer(app)
    const chat = await configure(app, customer, 'chatbot')
    const data = await configure(app, customer, 'data-enrichment')
    // Warm the key caches so the change has to reach them.
    await app.keys.resolve(chat.key)
    await app.keys.resolve(data.key)
    expect((await app.request('/api/widget/config', { headers: { 'x-product-key': chat.key, origin: 'https://x.example' } })).status).toBe(200)

    const setStatus = (status: string) =>
      app.request(`/api/admin/licenses/${customer.licenseId}/status`, { method: 'POST', token: adminToken, json: { status } })
    const suspended = await setStatus('suspended')
    expect(suspended.status).toBe(200)
    expect(((await suspended.json()) as { license: { status: string } }).license.status).toBe('suspended')

    await expect(app.keys.resolve(chat.key)).rejects.toMatchObject({ code: 'license_inactive' })
    await expect(app.keys.resolve(data.key)).rejects.toMatchObject({ code: 'license_inactive' })
    const widget = await app.request('/api/widget/config', { headers: { 'x-product-key': chat.key, origin: 'https://x.example' } })
    expect(widget.status).toBe(403)
    expect(((await widget.json()) as { error: { code: string } }).error.code).toBe('license_inactive')
    const api = await app.request('/api/auth/me', { token: data.key })
    expect(api.status).toBe(403)
    // The customer's cached session is dropped too: the dashboard stops working at once.
    const session = await app.request('/api/auth/me', { token: customer.token })
    expect(session.status).toBe(403)
    expect(((await session.json()) as { error: { code: string } }).error.code).toBe('license_inactive')
    const audit = await app.deps.db.selectFrom('audit_log').select(['action', 'actor']).where('license_id', '=', customer.licenseId).execute()
    expect(audit).toContainEqual({ action: 'license.suspended', actor: email })

    expect((await setStatus('active')).status).toBe(200)
    expect((await app.keys.resolve(chat.key)).licenseStatus).toBe('active')
    expect((await app.request('/api/auth/me', { token: data.key })).status).toBe(200)
    expect((await app.request('/api/auth/me', { token: customer.token })).status).toBe(200)
    const missing = await app.request('/api/admin/licenses/00000000-0000-4000-8000-000000000000/status', {
      method: 'POST',
      token: adminToken,
      json: { status: 'active' },
    })
    expect(missing.status).toBe(404)
  })
})

describe('operator CLI from the environment', () => {
  it('migrates and issues a license using only environment variables', async () => {
    const store = await createStore()
    const env = testEnv({ DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-cli-')) })
    // A database URL pinned to the store's own schema, so the real server's tables are never touched.
    if (env.DATABASE_URL)
      env.DATABASE_URL = `${env.DATABASE_URL}${env.DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${store.schema}`)}`
    try {
      const lines: string[] = []
      expect(await runCli(['migrate'], (s) => lines.push(s), { env })).toBe(0)
      expect(lines[0]).toMatch(/^Applied: 2026-11-24T00-00_foundation, /)
      expect(await runCli(['migrate'], (s) => lines.push(s), { env })).toBe(0)
      expect(lines[1]).toBe('Database is up to date')
      expect(await runCli(['issue-license', '--email', 'env@example.com', '--products', 'setup-agent'], (s) => lines.push(s), { env })).toBe(0)
      expect((JSON.parse(lines[2]!) as Issued).license).toMatchObject({ email: 'env@example.com', products: ['setup-agent'], tier: 'starter' })
    } finally {
      await store.drop()
    }
  })
})
