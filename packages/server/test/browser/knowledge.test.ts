import { join } from 'node:path'
import type { Browser, BrowserContext, Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../fake-host.js'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Served, serveApp, signInDashboard, watchedPage } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery'
const WIDGET = 'intelagent-widget'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const sitePage = (title: string, main: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title></head><body><nav><a href="/">Home</a> <a href="/shipping">Shipping</a> <a href="/app">App</a></nav><main>${main}</main><footer>© Shop</footer></body></html>`

describe('knowledge sources in the dashboard and the widget', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let site: FakeHost
  let owner: Customer
  let key: string

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    site = await fakeHost()
    const html = (body: string) => () => new Response(body, { headers: { 'content-type': 'text/html' } })
    site.on('GET', '/robots.txt', () => new Response('User-agent: *\nAllow: /\n', { headers: { 'content-type': 'text/plain' } }))
    site.on(
      'GET',
      '/',
      html(
        sitePage(
          'Oak & Clay',
          '<h1>Oak &amp; Clay</h1><p>Handmade oak furniture and stoneware from a small workshop by the sea, sold online across the whole country since 2012 to thousands of happy customers.</p>',
        ),
      ),
    )
    site.on(
      'GET',
      '/shipping',
      html(
        sitePage(
          'Shipping and delivery',
          '<h1>Shipping</h1><h2>UK delivery</h2><p>UK delivery is free on orders over fifty pounds and otherwise costs four pounds ninety five. Parcels arrive in two to three working days.</p>',
        ),
      ),
    )
    site.on(
      'GET',
      '/app',
      html(
        '<!doctype html><html><head><title>App</title><script src="/app.js"></script></head><body><div id="root"></div><noscript>Enable JavaScript.</noscript></body></html>',
      ),
    )
    served = await serveApp({ env: { OUTBOUND_ALLOW_HOSTS: site.hostPort } })
    app = served.app
    base = served.base
    owner = await newCustomer(app, { products: ['chatbot'] })
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [base] })).key
    browser = await launchChromium()
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    await site?.close()
  }, 60_000)

  async function signIn(context: BrowserContext) {
    return signInDashboard(context, base, owner, PASSWORD)
  }

  it('adds a site, shows its progress and why a page was skipped; no axe violations at desktop and 390 px', { timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await signIn(context)
    await visible(page.getByRole('heading', { level: 3, name: 'Knowledge sources' }))
    await visible(page.getByText('No sources yet.'))
    await page.getByLabel('URL').fill(`${site.origin}/`)
    await page.getByRole('button', { name: 'Add source' }).click()
    const item = page.locator('li.source', { hasText: site.origin })
    await visible(item)
    await expect.poll(() => item.textContent(), { timeout: STEP }).toContain('Ready')
    expect(await item.textContent()).toMatch(/2 pages indexed, 1 skipped of 3 found/)
    await item.getByRole('button', { name: 'Show pages' }).click()
    const skipped = item.getByRole('row', { name: /\/app/ })
    await visible(skipped)
    expect(await skipped.textContent()).toMatch(/rendered by JavaScript/)
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'knowledge-sources-desktop.png'), fullPage: true })

    await page.setViewportSize({ width: 390, height: 844 })
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'knowledge-sources-390.png'), fullPage: true })
    // Sync now: queued again, then ready with the same pages; delete (after confirming) removes it.
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/sync')), item.getByRole('button', { name: 'Sync now' }).click()])
    await app.jobs.idle(60_000)
    await expect.poll(() => item.textContent(), { timeout: STEP }).toMatch(/Ready.*2 pages indexed/)
    page.once('dialog', (d) => void d.accept())
    await item.getByRole('button', { name: 'Delete' }).click()
    await visible(page.getByText('No sources yet.'))
    expect(await app.deps.db.selectFrom('knowledge_chunks').select('id').execute()).toEqual([])
    // The only console note allowed: /api/auth/me answering 401 before signing in.
    expect(problems.filter((p) => !(p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`))).toEqual([])
    await context.close()
  })

  it('the widget answers from a crawled page and links to it; no axe violations', { timeout: 240_000 }, async () => {
    await app.knowledge.create(owner.licenseId, { product: 'chatbot', kind: 'site', url: `${site.origin}/` })
    await app.jobs.idle(60_000)
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ viewport })
      await context.route(`${base}/host/shop`, (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head><body><main><h1>Shop</h1><p>Things for sale.</p></main><script src="/widget.js" data-product-key="${key}" async></script></body></html>`,
        }),
      )
      const { page, problems } = await watchedPage(context)
      await page.goto(`${base}/host/shop`)
      await page.locator(`${WIDGET} button.l`).click()
      await visible(page.locator(`${WIDGET} textarea#ia-in`))
      await page.locator(`${WIDGET} textarea#ia-in`).fill('What does UK delivery cost?')
      await page.locator(`${WIDGET} textarea#ia-in`).press('Enter')
      const link = page.locator(`${WIDGET} .m .b a`, { hasText: 'Shipping and delivery' })
      await visible(link)
      expect(await link.getAttribute('href')).toBe(`${site.origin}/shipping`)
      expect(await link.getAttribute('rel')).toBe('noopener noreferrer')
      expect(await page.locator(`${WIDGET} .m .b`, { hasText: 'Sources:' }).textContent()).toMatch(/four pounds ninety five/)
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `knowledge-widget-${viewport.width}.png`) })
      expect(problems).toEqual([])
      await context.close()
    }
  })
})
