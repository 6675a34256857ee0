// The Analytics page in a real Chromium against a real server on 127.0.0.1: a license whose chatbot had a few
// conversations today sees the range's totals, the daily uPlot charts with their table, the top questions and the top
// unanswered ones; the product and range pickers reload the figures; the CSV button downloads the same days. axe-core
// (WCAG 2.1 AA and best practices) finds nothing at desktop and 390 px; strict CSP holds and the console stays clean.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, signInDashboard } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery'
const ORIGIN = 'https://shop.example.com'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
describe('analytics in the dashboard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let owner: Customer

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    app = served.app
    base = served.base
    browser = await launchChromium()
    owner = await newCustomer(app, { products: ['chatbot', 'sales-agent'] })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const headers = { 'x-product-key': key, origin: ORIGIN }
    // The bot knows the opening hours; "Do you ship to Canada?" gets its honest "I don't know": the conversation
    // waits for a person and the question is collected (conversation.waiting, question.unanswered).
    const known = await app.request('/api/products/chatbot/knowledge', {
      method: 'POST',
      token: owner.token,
      json: { kind: 'qa', title: 'What are your opening hours?', body: 'We are open 9am to 5pm, Monday to Friday.' },
    })
    expect(known.status).toBe(201)
    for (const text of ['What are your opening hours?', 'What are your opening hours', 'Do you ship to Canada?']) {
      const started = await app.request('/api/widget/conversations', { method: 'POST', headers, json: {} })
      const conv = (await started.json()) as { conversation: { id: string }; visitorToken: string }
      const said = await app.request(`/api/widget/conversations/${conv.conversation.id}/messages`, {
        method: 'POST',
        headers,
        token: conv.visitorToken,
        json: { clientMessageId: 'q1', text },
      })
      expect(said.status).toBe(201)
    }
    await app.jobs.idle()
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
  }, 60_000)

  const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true })

  async function signIn(context: BrowserContext) {
    return signInDashboard(context, base, owner, PASSWORD)
  }

  const fact = (page: Page, term: string) => page.locator('.facts dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]')

  it('shows the totals, the charts, the top questions and downloads the CSV', { timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
    const { page, problems } = await signIn(context)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Analytics' }).click()
    await visible(h1(page, 'Analytics'))
    await visible(page.locator('.chart canvas').first())
    await expect.poll(() => fact(page, 'Conversations').textContent()).toBe('3')
    expect(await fact(page, 'Answered by the bot').textContent()).toBe('2')
    expect(await fact(page, 'Not answered').textContent()).toBe('1')
    expect(await page.locator('.chart canvas').count()).toBe(2)

    const top = page.getByRole('region', { name: 'Top questions' })
    expect(await top.getByRole('listitem').first().textContent()).toMatch(/^What are your opening hours\??\s*\(2 times\)$/)
    const unanswered = page.getByRole('region', { name: 'Top unanswered questions' })
    expect(await unanswered.getByRole('listitem').first().textContent()).toContain('Do you ship to Canada?')

    const today = new Date().toISOString().slice(0, 10)
    const todayRow = page.getByRole('row', { name: new RegExp(`^${today}`) })
    await visible(todayRow)
    expect(await todayRow.locator('td').first().textContent()).toBe('3')

    // The CSV button downloads the same days.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()])
    expect(download.suggestedFilename()).toMatch(/^intelagent-analytics-all-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/)
    const csv = readFileSync(await download.path(), 'utf8').split('\r\n')
    expect(csv[0]).toMatch(/^day,conversations,messages,/)
    expect(csv).toHaveLength(32)
    expect(csv[30]).toMatch(new RegExp(`^${today},3,`))

    // The sales agent had no conversations; a one-day range gives one row.
    await page.getByLabel('Product').selectOption('sales-agent')
    await expect.poll(() => fact(page, 'Conversations').textContent()).toBe('0')
    await page.getByLabel('Product').selectOption('')
    await page.getByLabel('From (UTC)').fill(today)
    await expect
      .poll(() =>
        page
          .getByRole('region', { name: /^Figures per day/ })
          .locator('tbody tr')
          .count(),
      )
      .toBe(1)
    await expect.poll(() => fact(page, 'Conversations').textContent()).toBe('3')
    await page.screenshot({ path: join(OUT, 'analytics-desktop.png'), fullPage: true })
    // The signed-out check before signing in answers 401: the only console line expected.
    const expected = (p: Problem) => p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`
    expect(problems.filter((p) => !expected(p))).toEqual([])
    await context.close()
  })

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`has no accessibility violations on the Analytics page (${name})`, { timeout: 240_000 }, async () => {
      // The dashboard's CSP forbids inline scripts; only the test's own axe injection bypasses it.
      const context = await browser.newContext({ viewport, bypassCSP: true, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      const { page } = await signIn(context)
      await page.goto(`${base}/dashboard/analytics`)
      await visible(h1(page, 'Analytics'))
      await visible(page.locator('.chart canvas').first())
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `analytics-${name}.png`), fullPage: true })
      await context.close()
    })
  }
})
