// The owner's suggested questions in the widget, in a real Chromium against a real server: buttons in a labelled
// group under the greeting; clicking one sends it as the visitor's message and the bot answers; they are gone
// after the first message (and for a returning visitor). Keyboard only, right to left, a panel opened at load
// (nothing stored until a button is used), and axe-core (WCAG 2.1 AA + best practices) with 0 violations with the
// widget open and the buttons showing, on a desktop and a 390 px phone. The owner edits them on the dashboard's
// Products page (axe-clean too).
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveSettings } from '../../src/settings/settings.js'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import {
  axe,
  bubbles,
  composer,
  count,
  ensureBuilt,
  launchChromium,
  launcher,
  OUT,
  panel,
  type Served,
  SOON,
  serveApp,
  stored,
  visible,
  WIDGET,
  watchedPage,
} from './browser.js'

const CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:">`
const SUGGESTIONS = ['What are your opening hours?', 'Do you ship abroad?', 'Can I book a workshop class for a group of twelve people on a Saturday morning?']

const group = (page: Page, name = 'Suggested questions') => page.locator(WIDGET).getByRole('group', { name })

/** The id (or class) of the focused element inside the widget's shadow root ('' if focus is elsewhere). */
const focusedInWidget = (page: Page) =>
  page.evaluate((tag) => {
    const host = document.activeElement
    if (host?.tagName.toLowerCase() !== tag) return ''
    const el = host.shadowRoot?.activeElement
    return el ? el.id || el.textContent || el.tagName.toLowerCase() : ''
  }, WIDGET)

describe('widget: suggested questions, in a browser', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let owner: Customer
  let key: string
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
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
    await saveSettings(app.deps, owner.licenseId, 'chatbot', { suggestions: SUGGESTIONS })
    browser = await launchChromium()
  }, 180_000)

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await browser?.close()
    await served?.close()
  })

  const html = (script = `<script src="/widget.js" data-product-key="${key}" async></script>`) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Host shop</title>${CSP}</head><body><main><h1>Host shop</h1><p>Things for sale.</p></main>${script}</body></html>`

  const open = async (viewport: { width: number; height: number }, body = html(), phone = false) => {
    // The host page's CSP forbids inline scripts; only the test's own axe injection bypasses it.
    const context = await browser.newContext({ viewport, bypassCSP: true, ...(phone ? { isMobile: true, hasTouch: true } : {}) })
    contexts.push(context)
    await context.route(`${base}/shop`, (route) => route.fulfill({ contentType: 'text/html', body }))
    const watched = await watchedPage(context)
    await watched.page.goto(`${base}/shop`)
    await expect.poll(() => watched.page.evaluate(() => typeof (window as { Intelagent?: unknown }).Intelagent), SOON).toBe('function')
    return watched
  }

  const visitorMessages = async (conversationId: string | undefined) =>
    (
      await app.deps.db
        .selectFrom('messages')
        .select('text')
        .where('conversation_id', '=', conversationId ?? '00000000-0000-4000-8000-000000000000')
        .where('role', '=', 'visitor')
        .orderBy('seq')
        .execute()
    ).map((m) => m.text)
  const conversationOf = async (page: Page) => ((await stored(page))[`intelagent:${key}`] as { conversationId?: string } | undefined)?.conversationId

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`shows the questions under the greeting, sends the one clicked and gets the answer, then hides them; axe-clean (${name})`, async () => {
      const { page, problems } = await open(viewport, html(), name === 'phone')
      await launcher(page).click()
      await visible(panel(page), true)
      await count(bubbles(page, 'Hi!'), 1)
      const chips = group(page).getByRole('button')
      await count(chips, 3)
      expect(await chips.allTextContents()).toEqual(SUGGESTIONS)
      // Under the greeting, inside the panel, none wider than the message area (the long one wraps on a phone).
      const greeting = (await bubbles(page, 'Hi!').boundingBox())!
      const log = (await page.locator(`${WIDGET} .m`).boundingBox())!
      for (const box of await chips.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect))) {
        expect(box.top).toBeGreaterThanOrEqual(greeting.y + greeting.height)
        expect(box.left).toBeGreaterThanOrEqual(log.x)
        expect(box.right).toBeLessThanOrEqual(log.x + log.width)
        expect(box.height).toBeGreaterThanOrEqual(44)
      }
      expect(await page.locator(`${WIDGET} .m`).evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `widget-suggestions-${name}.png`), animations: 'disabled' })

      if (name === 'phone') await chips.first().tap()
      else await chips.first().click()
      await count(bubbles(page, 'What are your opening hours?'), 1)
      await count(bubbles(page, '9am to 5pm'), 1)
      await count(group(page), 0)
      await expect.poll(() => focusedInWidget(page), SOON).toBe('ia-in')
      await expect.poll(async () => visitorMessages(await conversationOf(page)), SOON).toEqual(['What are your opening hours?'])
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])

      // A returning visitor who has already asked something is not offered them again.
      await page.reload()
      await launcher(page).click()
      await count(bubbles(page, '9am to 5pm'), 1)
      await count(group(page), 0)
      expect(problems).toEqual([])
    }, 120_000)
  }

  it('works with the keyboard alone: Shift+Tab from the composer reaches the questions, Enter sends one', async () => {
    const { page, problems } = await open({ width: 1280, height: 800 })
    await launcher(page).focus()
    await page.keyboard.press('Enter')
    await visible(panel(page), true)
    await expect.poll(() => focusedInWidget(page), SOON).toBe('ia-in')
    await count(group(page).getByRole('button'), 3)
    await page.keyboard.press('Shift+Tab')
    expect(await focusedInWidget(page)).toBe(SUGGESTIONS[2])
    await page.keyboard.press('Shift+Tab')
    expect(await focusedInWidget(page)).toBe(SUGGESTIONS[1])
    await page.keyboard.press('Enter')
    await count(bubbles(page, 'Do you ship abroad?'), 1)
    await count(group(page), 0)
    await expect.poll(() => focusedInWidget(page), SOON).toBe('ia-in')
    await expect.poll(async () => visitorMessages(await conversationOf(page)), SOON).toEqual(['Do you ship abroad?'])
    expect(problems).toEqual([])
  })

  it('typing a message instead hides them too', async () => {
    const { page, problems } = await open({ width: 1280, height: 800 })
    await launcher(page).click()
    await count(group(page).getByRole('button'), 3)
    await composer(page).fill('Hello there')
    await composer(page).press('Enter')
    await count(bubbles(page, 'Hello there'), 1)
    await count(group(page), 0)
    expect(problems).toEqual([])
  })

  it('are edited by the owner on the Products page (clear errors from the server), and the widget shows what was saved; axe-clean at desktop and 390 px', async () => {
    const shop = await newCustomer(app, { products: ['chatbot'] })
    const shopKey = (await configure(app, shop, 'chatbot', { allowedOrigins: [base] })).key
    // The dashboard's CSP forbids inline scripts; only the test's own axe injection bypasses it.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    contexts.push(context)
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/dashboard`)
    await page.getByLabel('Email').fill(shop.email)
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const card = page.getByRole('region', { name: 'Chatbot', exact: true })
    const fields = card.getByRole('group', { name: 'Suggested questions' })
    await visible(fields, true)
    const question = (n: number) => fields.getByLabel(`Suggested question ${n}`, { exact: true })
    await count(fields.getByRole('textbox'), 5)
    expect(await question(1).getAttribute('maxlength')).toBe('120')
    expect(await axe(page)).toEqual([])

    // The same question twice: the server's message, shown as an alert; nothing saved.
    await question(1).fill('Do you ship abroad?')
    await question(3).fill('do you ship abroad?')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => card.getByRole('alert').textContent(), SOON).toContain('suggestions: the same suggested question is there twice')
    expect(await axe(page)).toEqual([])
    expect((await (await fetch(`${base}/api/widget/config`, { headers: { 'X-Product-Key': shopKey, Origin: base } })).json()) as object).toMatchObject({
      suggestions: [],
    })

    await question(3).fill('  How long does delivery take?  ')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => card.getByText('Saved', { exact: true }).count(), SOON).toBe(1)
    expect(await card.getByRole('alert').count()).toBe(0)
    const config = await fetch(`${base}/api/widget/config`, { headers: { 'X-Product-Key': shopKey, Origin: base } })
    expect(((await config.json()) as { suggestions: string[] }).suggestions).toEqual(['Do you ship abroad?', 'How long does delivery take?'])
    // The form shows them as saved: trimmed, the gap closed.
    expect(await question(2).inputValue()).toBe('How long does delivery take?')
    expect(await question(3).inputValue()).toBe('')
    await fields.scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(OUT, 'dashboard-suggestions-desktop.png') })
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'dashboard-suggestions-390.png') })

    // After a reload the form shows what was saved, in order.
    await page.reload()
    await visible(fields, true)
    await expect.poll(() => question(1).inputValue(), SOON).toBe('Do you ship abroad?')
    expect(await question(2).inputValue()).toBe('How long does delivery take?')
    expect(await question(3).inputValue()).toBe('')
    // The only console notes allowed: /api/auth/me answering 401 before signing in, the refused save's 422.
    expect(problems.filter((p) => !(p.kind === 'console' && /status of (401|422)/.test(p.text)))).toEqual([])
  })

  it('are not offered while the sales agent asks its own qualification questions', async () => {
    const salesKey = (await configure(app, owner, 'sales-agent', { allowedOrigins: [base] })).key
    await saveSettings(app.deps, owner.licenseId, 'sales-agent', { suggestions: ['Which plan fits a team of 30?'] })
    const { page, problems } = await open({ width: 1280, height: 800 }, html(`<script src="/widget.js" data-product-key="${salesKey}" async></script>`))
    await launcher(page).click()
    await count(bubbles(page, 'What are you looking to achieve?'), 1)
    await page.waitForLoadState('networkidle')
    expect(await group(page).count()).toBe(0)
    await composer(page).fill('Tableware for a new restaurant')
    await composer(page).press('Enter')
    await count(bubbles(page, 'How large is your team?'), 1)
    expect(await group(page).count()).toBe(0)
    expect(problems).toEqual([])
  })

  it('offers them in a panel opened at load without storing anything, in the page’s language and right to left', async () => {
    const { page, problems } = await open(
      { width: 390, height: 844 },
      html(`<script src="/widget.js" data-product-key="${key}" data-open="true" async></script>`),
      true,
    )
    await visible(panel(page), true)
    await page.evaluate(() => (window as unknown as { Intelagent(n: string, a: string): void }).Intelagent('setLocale', 'ar'))
    const arabic = group(page, 'أسئلة مقترحة')
    await count(arabic.getByRole('button'), 3)
    await expect.poll(() => page.locator(`${WIDGET} div.w`).getAttribute('dir'), SOON).toBe('rtl')
    await page.waitForLoadState('networkidle')
    expect(await stored(page)).toEqual({})
    // Right to left: the buttons line up on the right of the message area.
    const log = (await page.locator(`${WIDGET} .m`).boundingBox())!
    const first = (await arabic.getByRole('button').first().boundingBox())!
    expect(log.x + log.width - (first.x + first.width)).toBeLessThan(40)
    expect(first.x - log.x).toBeGreaterThan(40)
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'widget-suggestions-rtl.png'), animations: 'disabled' })

    await arabic.getByRole('button', { name: 'What are your opening hours?' }).tap()
    await count(bubbles(page, '9am to 5pm'), 1)
    await count(arabic, 0)
    await expect.poll(async () => visitorMessages(await conversationOf(page)), SOON).toEqual(['What are your opening hours?'])
    expect(problems).toEqual([])
  })
})
