// /api/docs in a real Chromium against a real server on 127.0.0.1: the API reference renders from /api/openapi.json
// with everything served locally (no request leaves the server), under its strict CSP with no violation, a clean
// console and an operation listed, and with 0 axe-core violations (WCAG 2.1 AA + best practices: Scalar's faint
// greys and unnamed copy buttons are mended by the page's start script), at desktop and 390 px.
// Screenshots go to packages/server/test-output/.
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { axe, launchChromium, OUT, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 60_000
describe('the API reference at /api/docs', () => {
  let served: Served
  let browser: Browser

  beforeAll(async () => {
    served = await serveApp()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`lists the operations, served locally under a strict CSP (${name})`, { timeout: 180_000 }, async () => {
      const context = await browser.newContext({ viewport, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      const { page, problems } = await watchedPage(context)
      const foreign: string[] = []
      page.on('request', (req) => {
        if (!req.url().startsWith(served.base) && !req.url().startsWith('data:')) foreign.push(req.url())
      })
      const res = await page.goto(`${served.base}/api/docs`, { waitUntil: 'commit', timeout: STEP })
      expect(res?.status()).toBe(200)
      const csp = res?.headers()['content-security-policy'] ?? ''
      expect(csp).toContain("script-src 'self'")
      expect(csp).not.toMatch(/script-src[^;]*unsafe/)

      // An operation of the document, by its summary (the first group opens by itself).
      const operation = page.getByText('Alive: the process answers').first()
      await operation.waitFor({ state: 'attached', timeout: STEP })
      await page.waitForTimeout(2_000)
      await page.screenshot({ path: join(OUT, `docs-${name}.png`) })

      // The one report allowed: zod (inside Scalar) probes whether eval works with `Function('')` in a try, and
      // takes its eval-free path when the CSP refuses it. Any other violation, error or exception fails the test.
      expect(problems.filter((p) => !(p.kind === 'csp' && p.text.startsWith('script-src eval')))).toEqual([])
      expect(foreign).toEqual([])
      await context.close()
    })

    it(`has no axe violations, with a group and an operation opened (${name})`, { timeout: 180_000 }, async () => {
      // axe-core is injected as a script, which the page's own CSP rightly refuses: this context bypasses it.
      const context = await browser.newContext({ viewport, bypassCSP: true })
      const { page } = await watchedPage(context)
      await page.goto(`${served.base}/api/docs`, { timeout: STEP })
      await page.getByText('Alive: the process answers').first().waitFor({ state: 'attached', timeout: STEP })
      // Checked once Scalar has finished laying the page out: on a loaded machine a group still opening is briefly a
      // scrollable region without focus (scrollable-region-focusable), which no reader ever meets. A violation that
      // stays fails after the poll's timeout.
      const settled = () => expect.poll(() => axe(page), { timeout: 20_000, interval: 1_000 }).toEqual([])
      await settled()
      // Further down: another group opened shows more response cards and copy buttons.
      const more = page.getByRole('button', { name: /^Show More/i }).first()
      if (await more.count()) {
        await more.click()
        await settled()
      }
      await context.close()
    })
  }
})
