// A crawl's progress moves on screen as it runs, from the live event stream and without a reload or polling: on the
// Knowledge sources section and in the wizard's "Reading your site" step. Polling takes over only when the stream
// is down. No axe violations at desktop and 390 px.
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../fake-host.js'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Served, serveApp, signInDashboard } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery'
/** Longer than the dashboard's polling interval (2 s): a poll in this window would show. */
const QUIET_MS = 2_500
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const sitePage = (title: string, main: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title></head><body><nav><a href="/">Home</a></nav><main>${main}</main></body></html>`
const words = (topic: string) => Array.from({ length: 10 }, (_, i) => `${topic} fact ${i} is written down here for the crawler.`).join(' ')

describe('crawl progress, live in the dashboard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let site: FakeHost
  let owner: Customer
  /** The last page of the site answers only once released: each test catches its crawl half way. */
  let release: () => void = () => {}
  let gate: Promise<void> = Promise.resolve()
  const holdLastPage = () => {
    gate = new Promise<void>((resolve) => {
      release = resolve
    })
  }

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    site = await fakeHost()
    const html = (body: string) => new Response(body, { headers: { 'content-type': 'text/html' } })
    site.on('GET', '/robots.txt', () => new Response('User-agent: *\nAllow: /\n', { headers: { 'content-type': 'text/plain' } }))
    site.on('GET', '/', () =>
      html(
        sitePage(
          'Oak & Clay | Home',
          `<h1>Oak &amp; Clay</h1><h2>Our workshop</h2><p>${words('Workshop')}</p><a href="/care">Care</a> <a href="/app">Configurator</a> <a href="/old-sale">Old sale</a> <a href="/shipping">Shipping</a>`,
        ),
      ),
    )
    site.on('GET', '/care', () => html(sitePage('Care | Oak & Clay', `<h1>Care</h1><h2>Oiling oak</h2><p>${words('Oak')}</p>`)))
    site.on('GET', '/app', () =>
      html('<!doctype html><html><head><title>App</title><script src="/app.js"></script></head><body><div id="root"></div></body></html>'),
    )
    site.on('GET', '/shipping', async () => {
      await gate
      return html(sitePage('Shipping | Oak & Clay', `<h1>Shipping</h1><h2>UK delivery</h2><p>${words('Delivery')}</p>`))
    })
    served = await serveApp({ env: { OUTBOUND_ALLOW_HOSTS: site.hostPort } })
    app = served.app
    base = served.base
    owner = await newCustomer(app, { products: ['chatbot', 'setup-agent'] })
    // A configured product shows its Knowledge sources section on the Products page.
    await configure(app, owner, 'chatbot', { allowedOrigins: [base] })
    browser = await launchChromium()
  }, 240_000)

  afterAll(async () => {
    release()
    await browser?.close()
    await served?.close()
    await site?.close()
  }, 60_000)

  async function signIn(context: BrowserContext) {
    const watched = await signInDashboard(context, base, owner, PASSWORD)
    const { page } = watched
    // Survives any reload: the page must move on by itself.
    await page.evaluate(() => {
      ;(window as unknown as { notReloaded: boolean }).notReloaded = true
    })
    return watched
  }

  /** GET requests to `path` the page makes from now on. */
  const countRequests = (page: Page, path: string) => {
    const seen = { n: 0 }
    page.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname === path) seen.n++
    })
    return seen
  }
  const allowedProblems = (problems: { kind: string; text: string; url: string }[]) =>
    problems.filter((p) => !(p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`))

  /** Half way: four of five pages done (the home page and /care indexed, /app and /old-sale skipped), /shipping held. */
  async function expectHalfWay(page: Page, bar: Locator) {
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: STEP }).toBe('4')
    expect(await bar.getAttribute('aria-valuemax')).toBe('5')
    expect(await bar.getAttribute('aria-valuetext')).toBe('4 of 5 pages done: 2 indexed, 2 skipped')
    const skipped = page.locator('.crawl-skipped li')
    await expect.poll(() => skipped.count(), { timeout: STEP }).toBe(2)
    expect(await skipped.filter({ hasText: `${site.origin}/app` }).textContent()).toMatch(/rendered by JavaScript/)
    expect(await skipped.filter({ hasText: `${site.origin}/old-sale` }).textContent()).toMatch(/no longer exists \(404\/410\): HTTP 404/)
  }

  it('Knowledge sources: the bar, the last page and the skipped pages move live; no polling while the stream is up; axe at desktop and 390 px', {
    timeout: 240_000,
  }, async () => {
    holdLastPage()
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await signIn(context)
    const lists = countRequests(page, '/api/knowledge/sources')
    await visible(page.getByRole('heading', { level: 3, name: 'Knowledge sources' }))
    await page.getByLabel('URL').fill(`${site.origin}/`)
    await page.getByRole('button', { name: 'Add source' }).click()
    const item = page.locator('li.source', { hasText: site.origin })
    await visible(item)
    const bar = item.getByRole('progressbar', { name: `Crawl of ${site.origin}/` })
    await visible(bar)
    await expectHalfWay(page, bar)
    expect(await item.textContent()).toContain('Crawling…')
    expect(await item.locator('.crawl-last').textContent()).toMatch(/^Last page: \/(care|app|old-sale)? \((indexed|skipped: .+)\)$/)

    // The crawl is stuck on its last page: a healthy stream means nothing asks for the list meanwhile.
    const listsBefore = lists.n
    await page.waitForTimeout(QUIET_MS)
    expect(lists.n).toBe(listsBefore)

    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'crawl-progress-desktop.png'), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'crawl-progress-390.png'), fullPage: true })

    release()
    await expect.poll(() => item.textContent(), { timeout: STEP }).toMatch(/Ready.*3 pages indexed, 2 skipped of 5 found/)
    expect(await item.getByRole('progressbar').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
    expect(await axe(page)).toEqual([])
    expect(allowedProblems(problems)).toEqual([])
    await context.close()
  })

  it('the wizard’s “Reading your site” step follows the crawl live, then shows the proposal; axe at desktop and 390 px', { timeout: 240_000 }, async () => {
    holdLastPage()
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await signIn(context)
    const setups = { n: 0 }
    page.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname.startsWith('/api/setup/')) setups.n++
    })
    await page.getByRole('link', { name: 'Set up your bot from your website' }).click()
    await visible(page.getByRole('heading', { level: 1, name: 'Set up your bot' }))
    await page.getByLabel('Website address').fill(`${site.origin}/`)
    await page.getByRole('button', { name: 'Read my site' }).click()
    await visible(page.getByRole('heading', { level: 2, name: '2. Reading your site' }))
    const bar = page.getByRole('progressbar', { name: `Crawl of ${site.origin}/` })
    await expectHalfWay(page, bar)
    expect(await page.locator('section[aria-labelledby="step-crawl"]').textContent()).toContain('Crawling your site…')
    await page.waitForTimeout(QUIET_MS)
    expect(setups.n).toBe(0)

    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'setup-crawl-progress-desktop.png'), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'setup-crawl-progress-390.png'), fullPage: true })

    release()
    await visible(page.getByRole('heading', { level: 2, name: '3. The proposal' }))
    expect(await bar.getAttribute('aria-valuenow')).toBe('5')
    expect(await page.getByLabel(/Suggested questions/).inputValue()).toContain('Can you tell me about UK delivery?')
    // The one read: the proposal once the crawl said it was ready.
    expect(setups.n).toBe(1)
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
    expect(await axe(page)).toEqual([])
    expect(allowedProblems(problems)).toEqual([])
    await context.close()
  })

  it('falls back to polling when the stream is down', { timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    await context.route(`${base}/api/events`, (route) => route.abort('connectionrefused'))
    const { page } = await signIn(context)
    const lists = countRequests(page, '/api/knowledge/sources')
    const item = page.locator('li.source', { hasText: site.origin }).first()
    await visible(item)
    holdLastPage()
    const before = lists.n
    await item.getByRole('button', { name: 'Sync now' }).click()
    await visible(item.getByRole('progressbar'))
    // Polled: the list is read again and again while the crawl waits on its last page.
    await expect.poll(() => lists.n - before, { timeout: STEP }).toBeGreaterThanOrEqual(3)
    release()
    await expect.poll(() => item.textContent(), { timeout: STEP }).toMatch(/Ready.*3 pages indexed, 2 skipped of 5 found/)
    await context.close()
  })
})
