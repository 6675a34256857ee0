// The widget's share of the conversation lifecycle in a real Chromium: rating a bot answer (helpful / not helpful,
// accessible names, pressed state, stored on the server) and "Talk to a person" (the conversation waits for a person
// and the widget asks for an email). axe-core (WCAG 2.1 AA and best practices) finds nothing with the widget closed,
// open with rating buttons, and after the hand-off, on a desktop and a 390 px phone.
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import {
  attribute,
  axe,
  bubbles,
  composer,
  ensureBuilt,
  launchChromium,
  launcher,
  OUT,
  panel,
  type Served,
  SOON,
  serveApp,
  visible,
  WIDGET,
  watchedPage,
} from './browser.js'

const CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:">`

const audit = (p: Page) => axe(p)

describe('widget: ratings and talk to a person, in a browser', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let owner: Customer
  let key: string
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    served = await serveApp()
    app = served.app
    base = served.base
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [base] })).key
    const added = await app.request('/api/products/chatbot/knowledge', {
      method: 'POST',
      token: owner.token,
      json: { kind: 'qa', title: 'What are your opening hours?', body: 'We are open 9am to 5pm, Monday to Friday.' },
    })
    expect(added.status).toBe(201)
    browser = await launchChromium()
  }, 180_000)

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await browser?.close()
    await served?.close()
  })

  const html = () => `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Host shop</title>${CSP}</head><body><main><h1>Host shop</h1><p>Things for sale.</p></main>
    <script src="/widget.js" data-product-key="${key}" async></script></body></html>`

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`rates an answer and hands off to a person, with no axe violations (${name})`, async () => {
      const context = await browser.newContext({ viewport, bypassCSP: true, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      contexts.push(context)
      await context.route(`${base}/shop`, (route) => route.fulfill({ contentType: 'text/html', body: html() }))
      const { page, problems } = await watchedPage(context)
      await page.goto(`${base}/shop`)
      await launcher(page).hover()
      await expect.poll(() => page.evaluate(() => performance.getEntriesByType('resource').some((e) => /\/widget\/chat-/.test(e.name))), SOON).toBe(true)
      await page.waitForLoadState('networkidle')
      expect(await audit(page)).toEqual([])

      await launcher(page).click()
      await visible(panel(page), true)
      await composer(page).fill('What are your opening hours?')
      await composer(page).press('Enter')
      const answer = bubbles(page, '9am to 5pm')
      await visible(answer, true)
      // The greeting has no rating buttons; the answer has both, named, not pressed.
      const helpful = answer.getByRole('button', { name: 'Helpful', exact: true })
      const notHelpful = answer.getByRole('button', { name: 'Not helpful' })
      await attribute(helpful, 'aria-pressed', 'false')
      await attribute(notHelpful, 'aria-pressed', 'false')
      expect(await bubbles(page, 'Hi!').getByRole('button').count()).toBe(0)
      await page.waitForLoadState('networkidle')
      expect(await audit(page)).toEqual([])

      await helpful.click()
      await attribute(helpful, 'aria-pressed', 'true')
      const rating = () =>
        app.deps.db
          .selectFrom('messages')
          .select('rating')
          .where('license_id', '=', owner.licenseId)
          .where('role', '=', 'assistant')
          .where('text', 'like', '%9am to 5pm%')
          .orderBy('created_at', 'desc')
          .executeTakeFirst()
      await expect.poll(async () => (await rating())?.rating, SOON).toBe('helpful')
      await notHelpful.click()
      await attribute(notHelpful, 'aria-pressed', 'true')
      await attribute(helpful, 'aria-pressed', 'false')
      await expect.poll(async () => (await rating())?.rating, SOON).toBe('not_helpful')
      await page.screenshot({ path: join(OUT, `widget-rating-${name}.png`), animations: 'disabled' })

      // Talk to a person: the conversation waits for one, and the widget asks for an email.
      await page.locator(WIDGET).getByRole('button', { name: 'Talk to a person' }).click()
      await visible(page.locator(`${WIDGET} form.lead`), true)
      const conversationId = await page.evaluate(
        (k) => (JSON.parse(localStorage.getItem(`intelagent:${k}`) ?? '{}') as { conversationId?: string }).conversationId,
        key,
      )
      const status = () =>
        app.deps.db
          .selectFrom('conversations')
          .select(['status', 'waiting_reason'])
          .where('id', '=', conversationId ?? '')
          .executeTakeFirst()
      await expect.poll(status, SOON).toEqual({ status: 'waiting', waiting_reason: 'visitor_request' })
      expect(await page.locator(WIDGET).getByRole('button', { name: 'Talk to a person' }).count()).toBe(0)
      await page.waitForLoadState('networkidle')
      expect(await audit(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `widget-handoff-${name}.png`), animations: 'disabled' })
      expect(problems).toEqual([])
    }, 120_000)
  }
})
