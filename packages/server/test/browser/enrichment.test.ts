// The enrichment pages in a real Chromium against a real server on 127.0.0.1: a CSV with quotes, commas, CRLF line
// ends and a bad row is uploaded, enriched through the batch endpoint, shown in a table whose scores open to their
// reasons, and downloaded enriched; a lead left through the widget shows enriched on the leads page. Every form
// control has a label, the progress is announced, strict CSP holds and the console stays clean.
// Screenshots go to packages/server/test-output/.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newLicense } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const SOON = { timeout: STEP }
const PASSWORD = 'correct horse battery staple'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'

const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const textOf = (loc: Locator) => expect.poll(async () => (await loc.allTextContents()).join('\n'), SOON)

/** Form controls without an accessible name (label, aria-label or aria-labelledby). */
function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, textarea, select, button, a[href], summary')]
      .filter((el) => {
        const e = el as HTMLInputElement
        const named = (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || (e.textContent ?? '').trim()
        return !named
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  )
}

describe('enrichment in the dashboard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    app = served.app
    base = served.base
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })

  it('enriches an uploaded CSV, explains each score and downloads the enriched CSV; leads show enriched', { timeout: 240_000 }, async () => {
    const license = await newLicense(app, { products: ['sales-agent', 'data-enrichment'] })
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
    const { page, problems } = await watchedPage(context)
    const shot = (name: string) => page.screenshot({ path: join(OUT, `enrichment-${name}.png`), fullPage: true })
    const h1 = (name: string) => page.getByRole('heading', { level: 1, name, exact: true })

    await page.goto(`${base}/dashboard#register`)
    await visible(h1('Create your Intelagent account'))
    await page.getByLabel('Email').fill(license.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByLabel('License key').fill(license.key)
    await page.getByRole('button', { name: 'Create account' }).click()
    await visible(h1('Products'))

    // ── 1. Upload a CSV: quoted commas and quotes, CRLF line ends, an extra column, a row the API refuses. ──
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Enrichment' }).click()
    await visible(h1('Enrichment'))
    expect(await unlabelled(page)).toEqual([])
    const csv =
      'name,email,userAgent,pageUrl\r\n' +
      `"Doe, Jane",jane@stripe.com,"${CHROME}","https://shop.example.com/?utm_source=newsletter&utm_medium=email"\r\n` +
      '"Bob ""The Builder""",info@mailinator.com,,\r\n' +
      'Broken,not-an-email,,\r\n'
    await page.getByLabel('CSV file').setInputFiles({ name: 'leads.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
    await expect.poll(() => page.getByLabel('CSV rows').inputValue(), SOON).toBe(csv.replace(/\r\n/g, '\n'))
    await page.getByRole('button', { name: 'Enrich rows' }).click()
    await textOf(page.locator('output')).toBe('Enriched 2 of 3 rows; 1 could not be enriched (see the error column).')

    const table = page.getByRole('table', { name: 'Enriched rows, in the order of the CSV' })
    const rows = table.locator('tbody tr')
    await expect.poll(() => rows.count(), SOON).toBe(3)
    const cells = async (i: number) => (await rows.nth(i).locator('th, td').allTextContents()).map((t) => t.trim())
    const jane = await cells(0)
    expect(jane.slice(0, 3)).toEqual(['1', 'jane@stripe.com', 'Stripe (known company)'])
    expect(jane[4]).toBe('desktop · Chrome 126 · Windows')
    expect(jane[5]).toBe('Email · newsletter')
    expect((await rows.nth(0).locator('summary').textContent())?.trim()).toBe('95 out of 100; why')
    const bob = await cells(1)
    expect(bob[1]).toBe('info@mailinator.comDisposableRole address')
    expect((await cells(2)).slice(0, 3)).toEqual(['3', 'not-an-email', 'email: Invalid email address'])

    // The reasons behind a score: a tooltip, and a disclosure that opens from the keyboard.
    const summary = rows.nth(0).locator('summary')
    expect(await summary.getAttribute('title')).toContain('Known company: Stripe (+15)')
    expect(await rows.nth(0).getByText('Known company: Stripe (+15)').isVisible()).toBe(false)
    await summary.focus()
    await page.keyboard.press('Enter')
    await visible(rows.nth(0).getByText('Known company: Stripe (+15)'))
    await shot('csv-results')

    // ── 2. Download: the input columns as given, the enrichment appended, the refused row with its error. ──
    const [download] = await Promise.all([page.waitForEvent('download', SOON), page.getByRole('link', { name: 'Download enriched CSV' }).click()])
    expect(download.suggestedFilename()).toBe('leads-enriched.csv')
    const text = await readFile(await download.path(), 'utf8')
    const lines = text.split('\r\n')
    expect(lines[0]?.startsWith('name,email,userAgent,pageUrl,company_domain,company,company_basis,')).toBe(true)
    expect(lines[1]).toContain('"Doe, Jane",jane@stripe.com,')
    expect(lines[1]).toContain(',stripe.com,Stripe,known,no,no,no,')
    expect(lines[2]).toContain('"Bob ""The Builder""",info@mailinator.com,')
    expect(lines[3]?.endsWith(',email: Invalid email address')).toBe(true)

    // ── 3. A CSV without an input column is refused before any request, with a sentence saying why. ──
    await page.getByLabel('CSV rows').fill('name,phone\nAnn,123\n')
    await page.getByRole('button', { name: 'Enrich rows' }).click()
    await textOf(page.getByRole('alert')).toContain('the header row needs at least one of email, domain')

    // ── 4. A lead left through the widget appears enriched on the leads page. ──
    const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ')
    const configured = await fetch(`${base}/api/products/sales-agent/configure`, {
      method: 'POST',
      headers: { cookie, origin: base, 'content-type': 'application/json' },
      body: JSON.stringify({ allowedOrigins: ['https://shop.example.com'] }),
    })
    expect(configured.status).toBe(201)
    const productKey = ((await configured.json()) as { key: string }).key
    const lead = await fetch(`${base}/api/widget/leads`, {
      method: 'POST',
      headers: { 'x-product-key': productKey, origin: 'https://shop.example.com', 'content-type': 'application/json', 'user-agent': CHROME },
      body: JSON.stringify({ name: 'Sam', email: 'sales@umbrella-labs.com', consent: true, pageUrl: 'https://shop.example.com/?gclid=abc' }),
    })
    expect(lead.status).toBe(201)
    await app.jobs.idle()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Leads' }).click()
    await visible(h1('Leads'))
    const leadRow = page.getByRole('row').filter({ hasText: 'sales@umbrella-labs.com' })
    await visible(leadRow)
    const leadCells = (await leadRow.locator('td').allTextContents()).map((t) => t.trim())
    expect(leadCells).toContain('sales@umbrella-labs.comRole address')
    expect(leadCells).toContain('Umbrella Labs (guessed from the domain)')
    expect(leadCells).toContain('Paid · gclid')
    expect((await leadRow.locator('summary').textContent())?.trim()).toMatch(/^\d+ out of 100; why$/)
    expect(await unlabelled(page)).toEqual([])
    await shot('leads')

    // No CSP violation; the only console error is the browser's note on /api/auth/me while signed out (401).
    const expected = (p: Problem) => p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`
    expect(problems.filter((p) => !expected(p))).toEqual([])
    await context.close()
  })
})
