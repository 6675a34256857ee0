import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_PLANS } from '../../src/platform/plans.js'
import { newLicense } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery staple'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
describe('usage in the dashboard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let license: Awaited<ReturnType<typeof newLicense>>

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    app = served.app
    base = served.base
    browser = await launchChromium()
    license = await newLicense(app, { tier: 'starter', products: ['chatbot'] })
    // 90 % of starter's conversations, and a few messages: the banner's case.
    const subject = { licenseId: license.id, tier: 'starter' }
    await app.usage.count(subject, { metrics: ['conversations'], cost: Math.round(DEFAULT_PLANS.starter.quotas.conversations * 0.9) })
    await app.usage.count(subject, { metrics: ['messages', 'aiReplies'], cost: 40 })
    await app.usage.count(subject, { metrics: ['enrichments'], cost: 7 })
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
  }, 60_000)

  const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true })

  async function signIn(context: BrowserContext, register: boolean) {
    const watched = await watchedPage(context)
    const { page } = watched
    await page.goto(`${base}/dashboard${register ? '#register' : ''}`)
    await visible(h1(page, register ? 'Create your Intelagent account' : 'Sign in to Intelagent'))
    await page.getByLabel('Email').fill(license.email)
    await page.getByLabel('Password').fill(PASSWORD)
    if (register) await page.getByLabel('License key').fill(license.key)
    await page.getByRole('button', { name: register ? 'Create account' : 'Sign in' }).click()
    await visible(h1(page, 'Products'))
    return watched
  }

  it('shows the banner on every page and a bar per quota with the daily chart', { timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const { page, problems } = await signIn(context, true)
    const banner = page.getByRole('status').filter({ hasText: 'Conversations' })
    await visible(banner)
    await expect.poll(() => banner.textContent()).toContain('90 %')
    expect(await banner.getByRole('link', { name: 'Upgrade' }).getAttribute('href')).toBe('/dashboard/billing')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click()
    await visible(h1(page, 'Usage'))
    await visible(page.getByRole('status').filter({ hasText: 'Conversations' }))
    const meters = page.locator('meter')
    await expect.poll(() => meters.count()).toBe(8)
    expect(await page.getByRole('meter', { name: 'Conversations' }).getAttribute('value')).toBe(
      String(Math.round(DEFAULT_PLANS.starter.quotas.conversations * 0.9)),
    )
    expect(await page.getByRole('meter', { name: 'Enrichments' }).getAttribute('value')).toBe('7')
    await visible(page.getByRole('columnheader', { name: 'Enrichments' }))
    await visible(page.locator('.chart canvas'))
    const today = new Date().toLocaleDateString('en', { day: 'numeric', month: 'long', timeZone: 'UTC' })
    const row = page.getByRole('row', { name: new RegExp(`^${today}`) })
    await visible(row)
    expect(await row.textContent()).toContain('450')
    await page.screenshot({ path: join(OUT, 'usage-desktop.png'), fullPage: true })
    // The signed-out check before registering answers 401: the only console line expected.
    const expected = (p: Problem) => p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`
    expect(problems.filter((p) => !expected(p))).toEqual([])
    await context.close()
  })

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`has no accessibility violations on the Usage page (${name})`, { timeout: 240_000 }, async () => {
      // The dashboard's CSP forbids inline scripts; only the test's own axe injection bypasses it.
      const context = await browser.newContext({ viewport, bypassCSP: true, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      const { page } = await signIn(context, false)
      await page.goto(`${base}/dashboard/usage`)
      await visible(h1(page, 'Usage'))
      await visible(page.locator('.chart canvas'))
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `usage-${name}.png`), fullPage: true })
      await context.close()
    })
  }
})
