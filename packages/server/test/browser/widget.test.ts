// The embeddable widget in a real Chromium against a real server on 127.0.0.1: chat with the knowledge engine,
// history after reload, live events, the outbox across a network drop, sales leads, strict CSP, keyboard-only
// use, mobile layout, and refusal on an origin the key does not allow. Screenshots go to test-output/.
import { join } from 'node:path'
import type { ServerType } from '@hono/node-server'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendMessage, publishConversation } from '../../src/conversations/service.js'
import { ensureDemo } from '../../src/demo.js'
import { createKey } from '../../src/keys/queries.js'
import type { TestApp } from '../harness.js'
import {
  attribute,
  bubbles,
  composer,
  count,
  ensureBuilt,
  freePort,
  launchChromium,
  launcher,
  listen,
  OUT,
  panel,
  type Served,
  SOON,
  serveApp,
  visible,
  WIDGET,
  watchedPage,
} from './browser.js'

const text = (loc: Locator, value: string) => expect.poll(() => loc.textContent(), SOON).toBe(value)

/** The id of the focused element inside the widget's shadow root ('' if focus is elsewhere). */
const focusedInWidget = (page: Page) =>
  page.evaluate((tag) => {
    const host = document.activeElement
    if (host?.tagName.toLowerCase() !== tag) return ''
    const el = host.shadowRoot?.activeElement
    return el ? el.id || el.className || el.tagName.toLowerCase() : ''
  }, WIDGET)

const saved = (page: Page) =>
  page.evaluate(() => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i)!
      out[k] = JSON.parse(localStorage.getItem(k)!)
    }
    return out
  })

describe('widget in a browser', () => {
  let served: Served
  let app: TestApp
  let foreign: ServerType
  let browser: Browser
  let base: string
  let foreignBase: string
  let demo: Awaited<ReturnType<typeof ensureDemo>>

  beforeAll(async () => {
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    // The demo key only allows PUBLIC_URL's origin (the served address).
    served = await serveApp()
    app = served.app
    base = served.base
    demo = await ensureDemo(app.deps)
    app.setDemo({ chatbotKey: demo.chatbotKey, salesKey: demo.salesKey })

    // Another origin embedding the same key: must be refused.
    const port2 = await freePort()
    foreignBase = `http://127.0.0.1:${port2}`
    // It embeds the demo key (not allowed there) unless ?key= names another one.
    const page = (key: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Someone else's site</title></head>
      <body><h1>Another site</h1><script src="${base}/widget.js" data-product-key="${key}" async></script></body></html>`
    foreign = await listen(
      (req) => new Response(page(new URL(req.url).searchParams.get('key') ?? demo.chatbotKey), { headers: { 'content-type': 'text/html; charset=utf-8' } }),
      port2,
    )
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => foreign?.close(resolve))
    await served?.close()
  })

  it('answers from the knowledge base, keeps history across a reload, and stores nothing before the first interaction', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/demo`)
    await expect.poll(() => page.evaluate(() => typeof (window as { Intelagent?: unknown }).Intelagent)).toBe('function')
    await launcher(page).hover()
    // The chunk loads on hover/idle; until the visitor opens the chat nothing is stored and no cookie is set.
    await expect.poll(() => page.evaluate(() => performance.getEntriesByType('resource').some((e) => /\/widget\/chat-/.test(e.name)))).toBe(true)
    await page.waitForLoadState('networkidle')
    expect(await saved(page)).toEqual({})
    expect(await context.cookies()).toEqual([])

    await launcher(page).click()
    await visible(panel(page), true)
    await attribute(launcher(page), 'aria-expanded', 'true')
    await count(bubbles(page, 'Hi!'), 1)
    await composer(page).fill('What are your opening hours?')
    await composer(page).press('Enter')
    await count(bubbles(page, '9am'), 1)
    await count(bubbles(page, 'What are your opening hours?'), 1)
    await page.screenshot({ path: join(OUT, 'widget-desktop.png'), animations: 'disabled' })

    const store = await saved(page)
    const entry = store[`intelagent:${demo.chatbotKey}`] as Record<string, unknown>
    expect(Object.keys(store)).toEqual([`intelagent:${demo.chatbotKey}`])
    expect(Object.keys(entry).sort()).toEqual(['conversationId', 'outbox', 'visitorId', 'visitorSecret'])
    expect(entry.outbox).toEqual([])

    await page.reload()
    await launcher(page).click()
    await count(bubbles(page, '9am'), 1)
    await count(bubbles(page, 'What are your opening hours?'), 1)
    expect((await saved(page))[`intelagent:${demo.chatbotKey}`]).toMatchObject({ conversationId: entry.conversationId, visitorId: entry.visitorId })
    expect(await context.cookies()).toEqual([])
    expect(problems).toEqual([])
    // The watcher itself works: the page's CSP reports an inline style attribute.
    await page.evaluate(() => document.body.setAttribute('style', 'outline: 0'))
    await expect.poll(() => problems.some((p) => p.kind === 'csp' && p.text.startsWith('style-src')), SOON).toBe(true)
    await context.close()
  })

  it('shows live agent replies, typing and streamed tokens, and an unread badge while closed', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/demo`)
    await page.evaluate(() => {
      const w = window as unknown as { Intelagent: { on(e: string, fn: (d: unknown) => void): void }; __events: string[] }
      w.__events = []
      for (const e of ['ready', 'open', 'close', 'message']) w.Intelagent.on(e, () => w.__events.push(e))
    })
    await launcher(page).click()
    await count(bubbles(page, 'Hi!'), 1)
    const { conversationId } = (await saved(page))[`intelagent:${demo.chatbotKey}`] as { conversationId: string }
    await text(page.locator(`${WIDGET} .h p`), 'Online')

    await publishConversation(app.deps, conversationId, { type: 'typing', typing: true })
    await count(page.locator(`${WIDGET} .t`), 1)
    await publishConversation(app.deps, conversationId, { type: 'token', delta: 'Let me ' })
    await publishConversation(app.deps, conversationId, { type: 'token', delta: 'check that…' })
    await count(bubbles(page, 'Let me check that…'), 1)
    await appendMessage(app.deps, { licenseId: demo.license.id, conversationId, product: 'chatbot', role: 'agent', text: 'Let me check that for you.' })
    await count(bubbles(page, 'Let me check that for you.'), 1)
    await count(bubbles(page, 'Let me check that…'), 0)
    await count(page.locator(`${WIDGET} .t`), 0)

    await page.keyboard.press('Escape')
    await visible(panel(page), false)
    await appendMessage(app.deps, { licenseId: demo.license.id, conversationId, product: 'chatbot', role: 'agent', text: 'Found it: we open at 9am.' })
    await text(page.locator(`${WIDGET} .l .n`), '1')
    await attribute(launcher(page), 'aria-label', 'Open chat, 1 unread')
    await launcher(page).click()
    await count(page.locator(`${WIDGET} .l .n`), 0)
    expect(await page.evaluate(() => (window as unknown as { __events: string[] }).__events)).toEqual(
      expect.arrayContaining(['ready', 'open', 'message', 'close']),
    )
    expect(problems).toEqual([])
    await context.close()
  })

  it('keeps a message in the outbox while offline and delivers it exactly once when back online', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto(`${base}/demo`)
    await launcher(page).click()
    await count(bubbles(page, 'Hi!'), 1)
    await context.setOffline(true)
    await composer(page).fill('Can I track my order?')
    await composer(page).press('Enter')
    await count(bubbles(page, 'Can I track my order?'), 1)
    const offline = (await saved(page))[`intelagent:${demo.chatbotKey}`] as { outbox: { id: string; text: string }[] }
    expect(offline.outbox).toMatchObject([{ text: 'Can I track my order?' }])
    await context.setOffline(false)
    await count(bubbles(page, 'tracking link'), 1, 20_000)
    await expect.poll(async () => ((await saved(page))[`intelagent:${demo.chatbotKey}`] as { outbox: unknown[] }).outbox, { timeout: 10_000 }).toEqual([])
    await count(bubbles(page, 'Can I track my order?'), 1)
    const { conversationId } = (await saved(page))[`intelagent:${demo.chatbotKey}`] as { conversationId: string }
    const stored = await app.deps.db
      .selectFrom('messages')
      .select(['text'])
      .where('conversation_id', '=', conversationId)
      .where('role', '=', 'visitor')
      .execute()
    expect(stored.map((m) => m.text)).toEqual(['Can I track my order?'])
    await context.close()
  })

  it('qualifies a sales visitor and stores the lead', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/demo/sales`)
    await page.evaluate(() => {
      const w = window as unknown as { Intelagent: { on(e: string, fn: (d: unknown) => void): void }; __leads: unknown[] }
      w.__leads = []
      w.Intelagent.on('lead', (lead) => w.__leads.push(lead))
    })
    await launcher(page).click()
    await count(bubbles(page, 'What are you looking to achieve?'), 1)
    await composer(page).fill('Tableware for a new restaurant')
    await composer(page).press('Enter')
    await count(bubbles(page, 'How large is your team?'), 1)
    await composer(page).fill('About 30 people')
    await composer(page).press('Enter')

    const form = page.locator(`${WIDGET} form.lead`)
    await visible(form, true)
    await form.getByLabel('Name').fill('Ada Lovelace')
    await form.getByLabel('Email').fill('ada@example.com')
    await form.getByLabel('Company').fill('Analytical Bistro')
    await form.getByLabel('Message').fill('Opening in March, 80 covers.')
    await form.getByLabel('I agree to be contacted').check()
    await page.screenshot({ path: join(OUT, 'widget-sales-form.png'), animations: 'disabled' })
    await form.getByRole('button', { name: 'Send' }).click()
    await count(bubbles(page, 'Thanks, Ada Lovelace!'), 1)
    await expect.poll(() => focusedInWidget(page), SOON).toBe('ia-in')
    await page.screenshot({ path: join(OUT, 'widget-sales-thanks.png'), animations: 'disabled' })

    const leads = await app.deps.db.selectFrom('leads').selectAll().where('email', '=', 'ada@example.com').execute()
    expect(leads).toHaveLength(1)
    const lead = leads[0]!
    expect(lead).toMatchObject({ license_id: demo.license.id, product: 'sales-agent', name: 'Ada Lovelace', company: 'Analytical Bistro', consent: true })
    expect(lead.conversation_id).not.toBeNull()
    const answers = typeof lead.answers === 'string' ? JSON.parse(lead.answers) : lead.answers
    expect(answers).toEqual({ 'What are you looking to achieve?': 'Tableware for a new restaurant', 'How large is your team?': 'About 30 people' })
    expect(await page.evaluate(() => (window as unknown as { __leads: { id: string }[] }).__leads.map((l) => l.id))).toEqual([lead.id])
    expect(problems).toEqual([])
    await context.close()
  })

  it('works with the keyboard alone', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/demo`)
    await expect.poll(() => page.locator(WIDGET).count()).toBe(1)
    let reached = false
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = (await focusedInWidget(page)) === 'l'
    }
    expect(reached).toBe(true)
    await page.keyboard.press('Enter')
    await visible(panel(page), true)
    await expect.poll(() => focusedInWidget(page)).toBe('ia-in')
    await page.keyboard.type('How can I contact you?')
    await page.keyboard.press('Enter')
    await count(bubbles(page, 'hello@harborandpine.example'), 1)
    await page.keyboard.press('Escape')
    await visible(panel(page), false)
    expect(await focusedInWidget(page)).toBe('l')
    await attribute(launcher(page), 'aria-expanded', 'false')
    expect(problems).toEqual([])
    await context.close()
  })

  it('fills the screen on a phone with 16px inputs', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 })
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/demo`)
    await page.screenshot({ path: join(OUT, 'widget-mobile-closed.png'), animations: 'disabled' })
    await launcher(page).tap()
    await visible(panel(page), true)
    await composer(page).fill('Do you offer gift wrapping?')
    await composer(page).press('Enter')
    await count(bubbles(page, '£3.50'), 1)
    // Full screen, following the visual viewport (which the on-screen keyboard shrinks and pans).
    const box = (await panel(page).boundingBox())!
    const vv = await page.evaluate(() => ({ height: visualViewport!.height, top: visualViewport!.offsetTop }))
    expect(box).toMatchObject({ x: 0, width: 390 })
    expect(Math.abs(box.height - vv.height)).toBeLessThan(1)
    expect(vv.height).toBeGreaterThan(800)
    const fontSize = await composer(page).evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize))
    expect(fontSize).toBeGreaterThanOrEqual(16)
    const target = await page.locator(`${WIDGET} button.x`).boundingBox()
    expect(Math.min(target!.width, target!.height)).toBeGreaterThanOrEqual(44)
    await page.screenshot({ path: join(OUT, 'widget-mobile.png'), animations: 'disabled' })
    expect(problems).toEqual([])
    await context.close()
  })

  it('gives one widget for a doubled snippet and queues page API calls made before the chunk loads', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    const tag = `<script src="/widget.js" data-product-key="${demo.chatbotKey}" data-position="bottom-left" data-color="#0f766e" data-z-index="1000" async></script>`
    await page.route(`${base}/embed-twice`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html lang="en"><head><title>Twice</title></head><body><h1>Twice</h1>${tag}${tag}</body></html>`,
      }),
    )
    await page.goto(`${base}/embed-twice`)
    await expect.poll(() => page.evaluate(() => typeof (window as { Intelagent?: unknown }).Intelagent)).toBe('function')
    await page.evaluate(() => {
      const w = window as unknown as { Intelagent: { open(): void; on(e: string, fn: () => void): void }; __opened: boolean }
      w.Intelagent.on('open', () => {
        w.__opened = true
      })
      w.Intelagent.open()
    })
    await visible(panel(page), true)
    expect(await page.locator(WIDGET).count()).toBe(1)
    expect(await page.evaluate(() => (window as unknown as { __opened: boolean }).__opened)).toBe(true)
    const launcherBox = await launcher(page).boundingBox()
    expect(launcherBox!.x).toBeLessThan(100)
    const styles = await launcher(page).evaluate((el) => ({ bg: getComputedStyle(el).backgroundColor, z: getComputedStyle(el).zIndex }))
    expect(styles).toEqual({ bg: 'rgb(15, 118, 110)', z: '1000' })
    expect(problems).toEqual([])
    await context.close()
  })

  it('opens at load with data-open="true" without taking focus or storing anything until the visitor interacts', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    await page.route(`${base}/embed-open`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html lang="en"><head><title>Open</title></head><body><input aria-label="Search" autofocus>
          <script src="/widget.js" data-product-key="${demo.chatbotKey}" data-open="true" async></script></body></html>`,
      }),
    )
    await page.goto(`${base}/embed-open`)
    await visible(panel(page), true)
    await count(bubbles(page, 'Hi!'), 1)
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('INPUT')
    await page.waitForLoadState('networkidle')
    expect(await saved(page)).toEqual({})
    await composer(page).click()
    await expect.poll(async () => Object.keys(await saved(page)), SOON).toEqual([`intelagent:${demo.chatbotKey}`])
    await composer(page).fill('Can I track my order?')
    await composer(page).press('Enter')
    await count(bubbles(page, 'tracking link'), 1)
    await count(bubbles(page, 'Hi!'), 1)
    expect(problems).toEqual([])
    await context.close()
  })

  it('works when pasted into a page on another origin that the key allows (CORS and the event stream)', async () => {
    // The embed code a site owner copies from configure, pasted into someone's own site on another origin.
    const { key } = await createKey(app.deps.db, app.config.keyPepper, demo.license.id, 'chatbot', [foreignBase])
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    // Served by the real second server (a page fulfilled by the browser itself would count as a public
    // address, and Chromium's local-network protection would block it from loading a loopback script).
    await page.goto(`${foreignBase}/shop?key=${key}`)
    await launcher(page).click()
    await visible(panel(page), true)
    await composer(page).fill('What are your opening hours?')
    await composer(page).press('Enter')
    await count(bubbles(page, '9am'), 1)
    // A human answer arrives over the cross-origin event stream.
    const stored = await app.deps.db
      .selectFrom('conversations')
      .select(['id', 'product'])
      .where('product_key_id', '=', (await app.keys.resolve(key)).id)
      .executeTakeFirstOrThrow()
    await appendMessage(app.deps, {
      licenseId: demo.license.id,
      conversationId: stored.id,
      product: stored.product,
      role: 'agent',
      text: 'Hello from a person across origins',
    })
    await count(bubbles(page, 'Hello from a person across origins'), 1)
    expect(problems).toEqual([])
    await context.close()
  })

  it('is refused on an origin the key does not allow', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    // The refusal is readable (it carries Access-Control-Allow-Origin for the asking page) but holds no data.
    const configCalls: (number | 'failed')[] = []
    page.on('response', (res) => {
      if (res.url().includes('/api/widget/config') && res.request().method() === 'GET') configCalls.push(res.status())
    })
    page.on('requestfailed', (req) => {
      if (req.url().includes('/api/widget/config')) configCalls.push('failed')
    })
    await page.goto(foreignBase)
    await launcher(page).click()
    await visible(panel(page), true)
    await count(page.locator(`${WIDGET} .err`), 1)
    expect(configCalls.length).toBeGreaterThan(0)
    expect(configCalls.every((c) => c === 403)).toBe(true)
    expect(await page.locator(`${WIDGET} .err`).textContent()).toContain('This chat is not enabled for this website')
    expect(await page.locator(`${WIDGET} textarea`).count()).toBe(0)
    await page.screenshot({ path: join(OUT, 'widget-refused.png'), animations: 'disabled' })

    const direct = await fetch(`${base}/api/widget/config`, { headers: { 'X-Product-Key': demo.chatbotKey, Origin: foreignBase } })
    expect(direct.status).toBe(403)
    expect(((await direct.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed')
    await context.close()
  })
})
