// A person uploads PDFs on the dashboard's knowledge sources: a manual is indexed (its scanned page named), a scan is
// skipped with the reason, a locked file is refused with a sentence; the widget answers from the manual's page 2.
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { lockedPdf, makePdf, prose } from '../pdfs.js'
import { axe, ensureBuilt, launchChromium, OUT, type Served, serveApp, signInDashboard, watchedPage } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery'
const WIDGET = 'intelagent-widget'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })

describe('PDF knowledge sources in the dashboard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let owner: Customer
  let key: string

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    served = await serveApp()
    app = served.app
    base = served.base
    owner = await newCustomer(app, { products: ['chatbot'] })
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [base] })).key
    browser = await launchChromium()
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
  }, 60_000)

  async function signIn(context: BrowserContext) {
    return signInDashboard(context, base, owner, PASSWORD)
  }

  it('uploads a manual, a scan and a locked PDF; no axe violations at desktop and 390 px', { timeout: 240_000 }, async () => {
    const manual = await makePdf(
      [
        { lines: ['Getting started', ...prose('Unpacking')] },
        { lines: ['Descaling', 'Descale the kettle every four weeks with one sachet of citric acid.', ...prose('Limescale')] },
        { image: true },
      ],
      { title: 'Kettle Manual' },
    )
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await signIn(context)
    await visible(page.getByRole('heading', { level: 3, name: 'Knowledge sources' }))
    const upload = async (name: string, bytes: Uint8Array) => {
      await page.getByLabel('Add a source').selectOption('file')
      await page.getByLabel('File', { exact: true }).setInputFiles({ name, mimeType: 'application/pdf', buffer: Buffer.from(bytes) })
      await page.getByRole('button', { name: 'Add source' }).click()
    }

    await upload('Manual.pdf', manual)
    const item = page.locator('li.source', { hasText: 'Manual.pdf' })
    await visible(item)
    await expect.poll(() => item.textContent(), { timeout: STEP }).toMatch(/Ready.*1 pages indexed, 0 skipped of 1 found/)
    await item.getByRole('button', { name: 'Show pages' }).click()
    const row = item.getByRole('row', { name: /Kettle Manual/ })
    await visible(row)
    expect(await row.textContent()).toMatch(/Indexed \(2\).*no text layer on page 3 \(scanned or blank\)/)

    await upload('Scanned leaflet.pdf', await makePdf([{ image: true }, { image: true }]))
    const scan = page.locator('li.source', { hasText: 'Scanned leaflet.pdf' })
    await expect.poll(() => scan.textContent(), { timeout: STEP }).toMatch(/Ready.*0 pages indexed, 1 skipped/)
    await scan.getByRole('button', { name: 'Show pages' }).click()
    await expect.poll(() => scan.getByRole('row', { name: /Scanned leaflet/ }).textContent(), { timeout: STEP }).toMatch(/no text layer on any of its 2 pages/)

    await upload('Prices.pdf', await lockedPdf())
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: STEP }).toMatch(/protected by a password/)
    expect(await page.locator('li.source', { hasText: 'Prices.pdf' }).count()).toBe(0)

    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'knowledge-pdf-desktop.png'), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'knowledge-pdf-390.png'), fullPage: true })
    // The only console notes allowed: /api/auth/me answering 401 before signing in, and the refused upload's 422.
    const allowed = (p: (typeof problems)[number]) =>
      p.kind === 'console' &&
      ((/status of 401/.test(p.text) && p.url === `${base}/api/auth/me`) || (/status of 422/.test(p.text) && p.url === `${base}/api/knowledge/sources`))
    expect(problems.filter((p) => !allowed(p))).toEqual([])
    await context.close()
  })

  it('the widget answers from the manual’s page 2 and names it as the source', { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.route(`${base}/host/shop`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><main><h1>Shop</h1><p>Kettles.</p></main><script src="/widget.js" data-product-key="${key}" async></script></body></html>`,
      }),
    )
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/host/shop`)
    await page.locator(`${WIDGET} button.l`).click()
    await visible(page.locator(`${WIDGET} textarea#ia-in`))
    await page.locator(`${WIDGET} textarea#ia-in`).fill('How often should I descale the kettle?')
    await page.locator(`${WIDGET} textarea#ia-in`).press('Enter')
    const answer = page.locator(`${WIDGET} .m .b`, { hasText: 'Sources:' })
    await visible(answer)
    expect(await answer.textContent()).toMatch(/every four weeks with one sachet of citric acid.*Sources:.*Kettle Manual/s)
    expect(problems).toEqual([])
    await context.close()
  })
})
