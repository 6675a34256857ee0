import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../src/account/password.js'
import { newLicense, uniqueEmail } from '../fixtures.js'
import { createStripeFake, eventObject, invoiceObject, PRICES, stripeEnv } from '../stripe-fake.js'
import { axe, ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const SOON = { timeout: STEP }
const PASSWORD = 'correct horse battery staple'
const VIEWPORTS = [
  ['desktop', { width: 1280, height: 900 }],
  ['phone', { width: 390, height: 844 }],
] as const

const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
describe('billing in the dashboard', () => {
  const fake = createStripeFake()
  let served: Served
  let browser: Browser
  let base: string
  const problems: Problem[] = []
  /** The buyer who upgrades to Business in the first test; the operator opens their license later. */
  let buyer: { id: string; email: string; key: string } | undefined

  const deliver = async (event: ReturnType<typeof eventObject>) => {
    const raw = JSON.stringify(event)
    const res = await served.app.request('/api/webhooks/stripe', { method: 'POST', headers: { 'stripe-signature': fake.sign(raw) }, body: raw })
    expect(res.status).toBe(200)
  }
  /** A context whose Stripe-hosted pages (Checkout, Portal, invoices) answer locally: nothing leaves the machine. */
  const contextAt = async (viewport: { width: number; height: number }, phone: boolean): Promise<BrowserContext> => {
    // axe is injected by the test itself; the page's own CSP is still checked by the watched page's listener.
    const context = await browser.newContext({ viewport, bypassCSP: true, ...(phone ? { isMobile: true, hasTouch: true } : {}) })
    await context.route(/https:\/\/(checkout|billing|invoice)\.stripe\.test\/.*/, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><html lang="en"><title>Stripe</title><h1>Stripe hosted page</h1></html>' }),
    )
    return context
  }
  /** Signs in on the page at `path`, which then shows (an operator has no license: the products page is not theirs). */
  const signIn = async (page: Page, email: string, password: string, path: string) => {
    await page.goto(`${base}/dashboard${path}`)
    await visible(page.getByRole('heading', { level: 1, name: 'Sign in to Intelagent' }))
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await visible(page.getByRole('navigation', { name: 'Main' }))
  }
  /** The signed-out check before signing in answers 401: expected, not a problem. */
  const unexpected = (list: Problem[]) => list.filter((p) => !(p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`))

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    fake.server.listen({ onUnhandledRequest: 'bypass' })
    served = await serveApp({ env: stripeEnv() })
    base = served.base
    browser = await launchChromium()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    fake.server.close()
  })

  it('upgrades through Checkout, shows the plan the webhook set, the period-end notice, the Portal and invoices', { timeout: 240_000 }, async () => {
    const license = await newLicense(served.app, { tier: 'starter', products: ['chatbot'] })
    buyer = { id: license.id, email: license.email, key: license.key }
    const register = await served.app.request('/api/auth/register', {
      method: 'POST',
      headers: { 'x-forwarded-for': '198.51.100.77' },
      json: { email: license.email, password: PASSWORD, license_key: license.key },
    })
    expect(register.status).toBe(201)

    const context = await contextAt(VIEWPORTS[0][1], false)
    const watched = await watchedPage(context)
    const page = watched.page
    const h1 = (name: string) => page.getByRole('heading', { level: 1, name, exact: true })
    await signIn(page, license.email, PASSWORD, '/audit')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click()
    await visible(h1('Billing'))
    await visible(page.getByText('None (free Starter plan)'))
    expect(await page.getByRole('button', { name: /^Upgrade to / }).allTextContents()).toEqual([
      'Upgrade to Professional',
      'Upgrade to Business',
      'Upgrade to Enterprise',
    ])
    expect(await axe(page)).toEqual([])

    // Upgrade opens Stripe Checkout for the license; the plan does not change on the way back.
    await page.getByRole('button', { name: 'Upgrade to Business' }).click()
    await page.waitForURL(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/, SOON)
    const checkout = fake.requests.find((r) => r.path === '/v1/checkout/sessions')
    expect(checkout?.body).toMatchObject({ client_reference_id: license.id, line_items: { 0: { price: PRICES.business } } })
    await page.goto(`${base}/dashboard/billing?checkout=done`)
    await visible(page.getByText('Your plan changes as soon as Stripe confirms the payment'))
    await visible(page.getByText('None (free Starter plan)'))

    // Stripe confirms: a subscription on Business, set to end at the period's end, with a paid invoice.
    const customer = [...fake.customers.values()].find((c) => c.metadata.license_id === license.id)
    if (!customer) throw new Error('no Stripe customer was created')
    const sub = fake.subscribe({ customer: customer.id, priceId: PRICES.business, licenseId: license.id, cancelAtPeriodEnd: true })
    fake.invoices.push(invoiceObject(sub, 'paid'))
    await deliver(eventObject('customer.subscription.updated', sub))
    await page.getByRole('button', { name: 'Refresh' }).click()
    await visible(page.getByText('Your subscription ends at the end of the period'))
    await expect.poll(() => page.locator('.facts dd strong').textContent(), SOON).toBe('Business')
    // The header's tier badge follows without signing in again.
    await expect.poll(() => page.locator('.who .badge').textContent(), SOON).toBe('business')
    await visible(page.getByRole('link', { name: /^View invoice / }))
    expect(await page.getByRole('table').getByRole('cell', { name: /149/ }).count()).toBe(1)
    await page.screenshot({ path: join(OUT, 'billing-desktop.png'), fullPage: true })

    for (const [name, viewport] of VIEWPORTS) {
      await page.setViewportSize(viewport)
      await page.waitForLoadState('networkidle')
      expect(await axe(page), name).toEqual([])
    }
    await page.screenshot({ path: join(OUT, 'billing-phone.png'), fullPage: true })

    await page.setViewportSize(VIEWPORTS[0][1])
    await page.getByRole('button', { name: 'Manage billing or change plan' }).click()
    await page.waitForURL(/^https:\/\/billing\.stripe\.test\/p\/session\//, SOON)
    problems.push(...watched.problems)
    await context.close()
  })

  it('shows operators MRR, ARR and the monthly charts, with no accessibility violation at desktop and 390 px', { timeout: 240_000 }, async () => {
    const admin = uniqueEmail('ops')
    await served.app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', served.app.config.scryptLogN), role: 'admin' })
      .execute()
    for (const [name, viewport] of VIEWPORTS) {
      const context = await contextAt(viewport, name === 'phone')
      const watched = await watchedPage(context)
      const page = watched.page
      await signIn(page, admin, 'operator password', '/figures')
      await visible(page.getByRole('heading', { level: 1, name: 'Figures' }))
      // The Business subscription of the first test: €149.00 a month, €1,788.00 a year.
      await visible(page.locator('.facts').getByText('MRR (EUR)'))
      expect(await page.locator('.facts').textContent()).toMatch(/149\.00/)
      expect(await page.locator('.facts').textContent()).toMatch(/1,?788\.00/)
      // MRR history, new and churned, net gained.
      await expect.poll(() => page.locator('.chart canvas').count(), SOON).toBe(3)
      await visible(page.getByRole('table', { name: 'Subscriptions per month' }))
      const mrrTable = page.getByRole('table', { name: 'MRR per month' })
      await visible(mrrTable)
      expect(await mrrTable.locator('tbody tr').last().textContent()).toMatch(/149\.00/)
      await page.waitForLoadState('networkidle')
      await page.screenshot({ path: join(OUT, `figures-${name}.png`), fullPage: true })
      expect(await axe(page), name).toEqual([])
      problems.push(...watched.problems)
      await context.close()
    }
    expect(unexpected(problems).map((p) => `${p.kind} ${p.url} ${p.text}`)).toEqual([])
  })

  it('shows operators a license’s usage, subscription, emails and actions, with no accessibility violation at desktop and 390 px', {
    timeout: 240_000,
  }, async () => {
    if (!buyer) throw new Error('the first test did not run')
    const { email, key } = buyer
    const admin = uniqueEmail('ops')
    await served.app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', served.app.config.scryptLogN), role: 'admin' })
      .execute()
    const sub = await served.app.deps.db
      .selectFrom('billing_accounts')
      .select(['stripe_customer_id', 'stripe_subscription_id'])
      .where('license_id', '=', buyer.id)
      .executeTakeFirstOrThrow()
    for (const [name, viewport] of VIEWPORTS) {
      const context = await contextAt(viewport, name === 'phone')
      const watched = await watchedPage(context)
      const page = watched.page
      await signIn(page, admin, 'operator password', '/')
      await visible(page.getByRole('heading', { level: 1, name: 'Licenses' }))
      await page.getByLabel('Key, email or order id').fill(email)
      await page.getByRole('button', { name: 'Search' }).click()
      await page.getByRole('button', { name: `Open ${key}` }).click()
      await visible(page.getByRole('heading', { level: 2, name: `License ${key}` }))
      // Usage this period, per quota.
      const usage = page.getByRole('region', { name: 'Usage of each quota this period' })
      await visible(usage)
      expect(await usage.locator('tbody tr').count()).toBe(8)
      // The subscription as Stripe last told the server: Business, ending at the period's end, with its Stripe ids.
      const detail = page.locator('section[aria-labelledby="license-detail"]')
      const text = async () => (await detail.textContent()) ?? ''
      await expect.poll(text, SOON).toContain(sub.stripe_customer_id)
      expect(await text()).toContain(sub.stripe_subscription_id ?? 'no subscription id')
      expect(await text()).toMatch(/Yes: back to starter when the period ends/)
      expect(await text()).toMatch(/149\.00/)
      // Emails sent about the license, and resending its license email adds one.
      await visible(page.getByRole('heading', { level: 3, name: /^Emails sent \(\d+/ }))
      const before = Number((await page.getByRole('heading', { level: 3, name: /^Emails sent/ }).textContent())?.match(/\d+/)?.[0])
      await page.getByRole('button', { name: 'Resend license email' }).click()
      await visible(page.getByText(`License email queued to ${email}`))
      await expect
        .poll(async () => Number((await page.getByRole('heading', { level: 3, name: /^Emails sent/ }).textContent())?.match(/\d+/)?.[0]), SOON)
        .toBe(before + 1)
      await visible(page.getByRole('button', { name: 'Suspend license' }))
      await visible(page.getByRole('button', { name: 'Save plan' }))
      await page.waitForLoadState('networkidle')
      await page.screenshot({ path: join(OUT, `operator-license-${name}.png`), fullPage: true })
      expect(await axe(page), name).toEqual([])
      problems.push(...watched.problems)
      await context.close()
    }
    expect(unexpected(problems).map((p) => `${p.kind} ${p.url} ${p.text}`)).toEqual([])
  })
})

describe('plan features in the dashboard', () => {
  let served: Served
  let browser: Browser

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    browser = await launchChromium()
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })

  it('disables what the plan lacks with an upgrade link, and opens it once the tier changes', { timeout: 240_000 }, async () => {
    const license = await newLicense(served.app, { tier: 'starter', products: ['chatbot'] })
    const register = await served.app.request('/api/auth/register', {
      method: 'POST',
      headers: { 'x-forwarded-for': '198.51.100.79' },
      json: { email: license.email, password: PASSWORD, license_key: license.key },
    })
    expect(register.status).toBe(201)
    const { token } = (await register.json()) as { token: string }
    expect((await served.app.request('/api/products/chatbot/configure', { method: 'POST', token })).status).toBe(201)

    for (const [name, viewport] of VIEWPORTS) {
      const context = await browser.newContext({ viewport, bypassCSP: true })
      const page = (await watchedPage(context)).page
      await page.goto(`${served.base}/dashboard/`)
      await page.getByLabel('Email').fill(license.email)
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in' }).click()
      const card = page.getByRole('region', { name: 'Chatbot', exact: true })
      await visible(card.getByLabel('Reply engine'))
      // Starter: no AI engines, no branding removal, no identity verification; each says which plan has it.
      await expect.poll(() => card.locator('option[value="openai"]').isDisabled(), SOON).toBe(true)
      expect(await card.locator('option[value="webhook"]').isDisabled()).toBe(true)
      await visible(card.getByText('AI reply engines (OpenAI-compatible and webhook): needs the professional plan or higher.'))
      expect(await card.getByLabel('Show “Powered by Intelagent” in the widget').isDisabled()).toBe(true)
      await visible(card.getByText(/Removing the “Powered by Intelagent” line: needs the business plan/))
      expect(await card.getByRole('button', { name: 'Generate an identity secret' }).isDisabled()).toBe(true)
      expect(await card.getByRole('link', { name: 'Upgrade your plan' }).count()).toBe(3)
      expect(await card.getByRole('link', { name: 'Upgrade your plan' }).first().getAttribute('href')).toBe('/dashboard/billing')
      await page.waitForLoadState('networkidle')
      await page.screenshot({ path: join(OUT, `plan-features-${name}.png`), fullPage: true })
      expect(await axe(page), name).toEqual([])
      await context.close()
    }

    // The tier changes (an operator here; Stripe or n8n alike): the same session sees the features at once.
    await served.app.deps.db.updateTable('licenses').set({ tier: 'business' }).where('id', '=', license.id).execute()
    const { dropCachedSessions } = await import('../../src/account/sessions.js')
    const sessions = await served.app.deps.db.selectFrom('sessions').select('id').where('license_id', '=', license.id).execute()
    await dropCachedSessions(
      served.app.deps,
      license.key,
      sessions.map((x) => x.id),
    )
    const context = await browser.newContext({ viewport: VIEWPORTS[0][1], bypassCSP: true })
    const page = (await watchedPage(context)).page
    await page.goto(`${served.base}/dashboard/`)
    await page.getByLabel('Email').fill(license.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const card = page.getByRole('region', { name: 'Chatbot', exact: true })
    await visible(card.getByLabel('Reply engine'))
    await expect.poll(() => card.getByRole('link', { name: 'Upgrade your plan' }).count(), SOON).toBe(0)
    expect(await card.locator('option[value="openai"]').isDisabled()).toBe(false)
    expect(await card.getByLabel('Show “Powered by Intelagent” in the widget').isDisabled()).toBe(false)
    expect(await card.getByRole('button', { name: 'Generate an identity secret' }).isDisabled()).toBe(false)
    await context.close()
  })
})

describe('billing off in the dashboard', () => {
  let served: Served
  let browser: Browser

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    browser = await launchChromium()
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })

  it('has no Billing link when the server has no STRIPE_SECRET_KEY', { timeout: 120_000 }, async () => {
    const license = await newLicense(served.app, { tier: 'starter', products: ['chatbot'] })
    const register = await served.app.request('/api/auth/register', {
      method: 'POST',
      headers: { 'x-forwarded-for': '198.51.100.78' },
      json: { email: license.email, password: PASSWORD, license_key: license.key },
    })
    expect(register.status).toBe(201)
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await page.goto(`${served.base}/dashboard`)
    await page.getByLabel('Email').fill(license.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const nav = page.getByRole('navigation', { name: 'Main' })
    await visible(nav.getByRole('link', { name: 'Audit log' }))
    // The check for billing has answered (503 not_configured) once the network is quiet.
    await page.waitForLoadState('networkidle')
    expect(await nav.getByRole('link', { name: 'Billing' }).count()).toBe(0)
    await context.close()
  })
})
