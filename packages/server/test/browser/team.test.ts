import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../src/account/password.js'
import { newLicense, uniqueEmail } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const SOON = { timeout: STEP }
const PASSWORD = 'correct horse battery staple'
const MATE_PASSWORD = 'teammate password 42'
const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }

const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true })
/** One "Sign out" button per session row (not "Sign out all other sessions"). */
const sessionButtons = (page: Page) => page.getByRole('button', { name: /^Sign out (this device|.+, signed in )/ })
const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' })

/** axe at this size and at the other one (desktop ⇄ phone), then back. */
async function accessible(page: Page, name: string): Promise<void> {
  const original = page.viewportSize() ?? DESKTOP
  for (const size of [original, original.width === PHONE.width ? DESKTOP : PHONE]) {
    await page.setViewportSize(size)
    await page.waitForLoadState('networkidle')
    await page.screenshot({ path: join(OUT, `team-${name}-${size.width}.png`), fullPage: true })
    expect({ page: name, width: size.width, violations: await axe(page) }).toEqual({ page: name, width: size.width, violations: [] })
  }
  await page.setViewportSize(original)
}

async function signIn(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/dashboard`)
  await visible(h1(page, 'Sign in to Intelagent'))
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

// Signed out (or removed), the shell's /api/auth/me answers 401 and the browser logs that; nothing else may appear.
const expected401 = (base: string) => (p: Problem) => p.kind === 'console' && /status of 401/.test(p.text) && p.url.startsWith(`${base}/api/`)

describe('teams, account settings and the operator console in a browser', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    app = served.app
    base = served.base
    browser = await launchChromium()
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await served?.close()
  })

  const context = async (viewport: { width: number; height: number }) => {
    // axe is injected as an inline script, which the dashboard's CSP rightly forbids; dashboard.test.ts checks the CSP.
    const c = await browser.newContext({ viewport, bypassCSP: true, ...(viewport.width === PHONE.width ? { isMobile: true, hasTouch: true } : {}) })
    contexts.push(c)
    return c
  }

  it('invites, accepts in a second browser, keeps the member from keys, and ends the member’s session on removal', { timeout: 300_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot', 'setup-agent'], tier: 'professional' })
    const registered = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: license.email, password: PASSWORD, license_key: license.key }),
    })
    expect(registered.status).toBe(201)

    // ── The owner invites a teammate and sees the link once. ──
    const ownerContext = await context(DESKTOP)
    const { page: owner, problems: ownerProblems } = await watchedPage(ownerContext)
    await signIn(owner, base, license.email, PASSWORD)
    await visible(h1(owner, 'Products'))
    await nav(owner).getByRole('link', { name: 'Team' }).click()
    // Professional's seats: the plan table's default (src/plans).
    await visible(h1(owner, 'Team'))
    await visible(owner.getByText('1 of 5'))
    const mate = uniqueEmail('mate')
    await owner.getByLabel('Email').fill(mate)
    await owner.getByLabel('Role').selectOption('member')
    await owner.getByRole('button', { name: 'Create invitation' }).click()
    const link = owner.getByTestId('accept-url')
    await visible(link)
    const acceptUrl = (await link.textContent()) ?? ''
    expect(acceptUrl).toMatch(new RegExp(`^${base.replace(/[.]/g, '\\.')}/dashboard/invite\\?token=[A-Za-z0-9_-]{32}$`))
    await visible(owner.getByRole('rowheader', { name: mate }))
    await accessible(owner, 'team-owner')

    // ── The teammate accepts on a phone, in a browser that never saw the owner's session. ──
    const mateContext = await context(PHONE)
    const { page: member, problems: memberProblems } = await watchedPage(mateContext)
    await member.goto(acceptUrl)
    await visible(h1(member, 'Join your team on Intelagent'))
    await accessible(member, 'invite')
    await member.getByLabel('Your name (optional)').fill('Mara Mate')
    await member.getByLabel('Password').fill(MATE_PASSWORD)
    await member.getByRole('button', { name: 'Join the team' }).click()
    await visible(h1(member, 'Products'))
    expect(new URL(member.url()).search).toBe('')

    // ── The member signs out and in again with the new password, and sees no key management. ──
    await member.getByRole('button', { name: 'Log out' }).click()
    await signIn(member, base, mate, MATE_PASSWORD)
    await visible(h1(member, 'Products'))
    await visible(member.getByText('You are a member of this team'))
    expect(await nav(member).getByRole('link', { name: 'API keys' }).count()).toBe(0)
    expect(await member.getByRole('button', { name: /Set up|Rotate|Revoke|Create a key/ }).count()).toBe(0)
    await accessible(member, 'products-member')
    await member.goto(`${base}/dashboard/api-keys`)
    await visible(h1(member, 'Page not found'))
    expect(await member.evaluate(() => fetch('/api/api-keys').then((r) => r.status))).toBe(403)
    await nav(member).getByRole('link', { name: 'Team' }).click()
    await visible(h1(member, 'Team'))
    expect(await member.getByRole('button', { name: 'Create invitation' }).count()).toBe(0)
    expect(await member.getByRole('button', { name: /^Remove/ }).count()).toBe(0)

    // ── The owner sees the member, then removes them; the member's very next request is refused. ──
    await owner.reload()
    await visible(owner.getByRole('rowheader', { name: mate }))
    await visible(owner.getByText('2 of 5'))
    owner.once('dialog', (d) => void d.accept())
    await owner.getByRole('button', { name: `Remove ${mate}` }).click()
    await expect.poll(() => owner.getByRole('rowheader', { name: mate }).count(), SOON).toBe(0)
    expect(await member.evaluate(() => fetch('/api/auth/me').then((r) => r.status))).toBe(401)
    await member.reload()
    await visible(h1(member, 'Sign in to Intelagent'))

    // ── A withdrawn invitation disappears from the list. ──
    const other = uniqueEmail('later')
    await owner.getByLabel('Email').fill(other)
    await owner.getByRole('button', { name: 'Create invitation' }).click()
    await visible(owner.getByRole('rowheader', { name: other }))
    owner.once('dialog', (d) => void d.accept())
    await owner.getByRole('button', { name: `Withdraw the invitation for ${other}` }).click()
    await expect.poll(() => owner.getByRole('rowheader', { name: other }).count(), SOON).toBe(0)

    expect(ownerProblems.filter((p) => !expected401(base)(p))).toEqual([])
    // Besides the 401s, the one 403 is this test's own request for the API keys above.
    expect(memberProblems.filter((p) => !expected401(base)(p) && !(p.url === `${base}/api/api-keys` && /status of 403/.test(p.text)))).toEqual([])
  })

  it('lists sessions on the account page and signs another one out', { timeout: 200_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot'] })
    await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: license.email, password: PASSWORD, license_key: license.key }),
    })
    const phone = await context(PHONE)
    const { page: other } = await watchedPage(phone)
    await signIn(other, base, license.email, PASSWORD)
    await visible(h1(other, 'Products'))

    const desk = await context(DESKTOP)
    const { page, problems } = await watchedPage(desk)
    await signIn(page, base, license.email, PASSWORD)
    await visible(h1(page, 'Products'))
    await nav(page).getByRole('link', { name: 'Account' }).click()
    await visible(h1(page, 'Account settings'))
    await visible(page.getByText('this device'))
    // The registration's session, the phone's and this one.
    await expect.poll(() => sessionButtons(page).count(), SOON).toBe(3)
    await accessible(page, 'account')
    page.once('dialog', (d) => void d.accept())
    await page.getByRole('button', { name: 'Sign out all other sessions' }).click()
    await expect.poll(() => sessionButtons(page).count(), SOON).toBe(1)
    expect(await other.evaluate(() => fetch('/api/auth/me').then((r) => r.status))).toBe(401)

    await page.getByLabel('Current password').fill('not the password')
    await page.getByLabel('New password').fill('a new password 123')
    await page.getByRole('button', { name: 'Change password' }).click()
    await visible(page.getByRole('alert').filter({ hasText: 'current password is wrong' }))
    await page.getByLabel('Current password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Change password' }).click()
    await visible(page.getByText('Password changed'))
    // The wrong current password answers 403, which the browser logs.
    expect(problems.filter((p) => !expected401(base)(p) && !(p.kind === 'console' && /status of 403/.test(p.text)))).toEqual([])
  })

  it('lets an operator find a license, change its plan, suspend and reactivate it', { timeout: 200_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot'], tier: 'starter' })
    const opsEmail = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: opsEmail, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const desk = await context(DESKTOP)
    const { page, problems } = await watchedPage(desk)
    await signIn(page, base, opsEmail, 'operator password')
    await visible(h1(page, 'Licenses'))
    await page.getByLabel('Key, email or order id').fill(license.email)
    await page.getByRole('button', { name: 'Search' }).click()
    const open = page.getByRole('button', { name: `Open ${license.key}` })
    await visible(open)
    await expect.poll(() => page.getByRole('button', { name: /^Open / }).count(), SOON).toBe(1)
    await open.click()
    const detail = page.getByRole('region', { name: `License ${license.key}` })
    await visible(detail)
    await accessible(page, 'operator-licenses')

    await detail.getByLabel('Tier').selectOption('business')
    await detail.getByLabel('Sales agent').check()
    await detail.getByRole('button', { name: 'Save plan' }).click()
    await visible(detail.getByText('Saved', { exact: true }))
    const row = await app.deps.db.selectFrom('licenses').select(['tier', 'products', 'status']).where('id', '=', license.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ tier: 'business', products: ['chatbot', 'sales-agent'], status: 'active' })
    await visible(detail.getByText('license.updated'))

    page.once('dialog', (d) => void d.accept())
    await detail.getByRole('button', { name: 'Suspend license' }).click()
    await visible(detail.getByRole('button', { name: 'Reactivate license' }))
    expect((await app.deps.db.selectFrom('licenses').select('status').where('id', '=', license.id).executeTakeFirstOrThrow()).status).toBe('suspended')
    await detail.getByRole('button', { name: 'Reactivate license' }).click()
    await visible(detail.getByRole('button', { name: 'Suspend license' }))
    expect((await app.deps.db.selectFrom('licenses').select('status').where('id', '=', license.id).executeTakeFirstOrThrow()).status).toBe('active')
    expect(problems.filter((p) => !expected401(base)(p))).toEqual([])
  })
})
