// The widget's page API in a real Chromium against a real server: the stub queue before load (and the older
// object form), every call after load, identify with a good and a bad hash (and the same user on a second
// device), update seen through the owner's API, shutdown, languages (including right to left), prefill,
// single-page-app URLs, a host page that swaps <body>, the npm loader through the React component, and axe-core
// (WCAG 2.1 AA + best practices) with the widget closed and open, on a desktop and a 390 px phone.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { saveSettings } from '../../src/settings/settings.js'
import { userHash } from '../../src/widget/identity.js'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import {
  attribute,
  axe,
  bubbles,
  composer,
  count,
  ensureBuilt,
  launchChromium,
  launcher,
  OUT,
  panel,
  ROOT,
  type Served,
  SOON,
  serveApp,
  stored,
  visible,
  WIDGET,
  watchedPage,
} from './browser.js'

/** What fixtures.newCustomer registers with. */
const PASSWORD = 'correct horse battery'
const CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:">`
/** The documented stub, exactly as a site would put it in its own script file. */
const STUB = 'window.Intelagent = window.Intelagent || function () { (window.Intelagent.q = window.Intelagent.q || []).push(arguments) }'

/** `Intelagent(name, …args)` in the page. */
/** The element's box once it is laid out: a bubble re-rendered as the reply arrives has none for a moment. */
async function settledBox(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  for (let i = 0; i < 50; i++) {
    const box = await locator.boundingBox().catch(() => null)
    if (box) return box
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('element never laid out')
}

const call = (page: Page, name: string, ...args: unknown[]) =>
  page.evaluate(([n, a]) => (window as unknown as { Intelagent(...x: unknown[]): void }).Intelagent(n, ...(a as unknown[])), [name, args] as const)

describe('widget page API in a browser', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let owner: Customer
  let key: string
  let secret: string
  const contexts: BrowserContext[] = []

  /** Serves `html` at `path` on the app's origin (a page of the site that embeds the widget). */
  const host = async (context: BrowserContext, path: string, html: string, files: Record<string, string> = {}) => {
    await context.route(`${base}${path}`, (route) => route.fulfill({ contentType: 'text/html', body: html }))
    for (const [file, body] of Object.entries(files)) await context.route(`${base}${file}`, (route) => route.fulfill({ contentType: 'text/javascript', body }))
  }
  const page = (opts: { head?: string; body?: string; lang?: string; csp?: boolean } = {}) =>
    `<!doctype html><html lang="${opts.lang ?? 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Host shop</title>${opts.csp === false ? '' : CSP}${opts.head ?? ''}</head>
    <body><main><h1>Host shop</h1>${opts.body ?? '<p>Things for sale.</p>'}</main>
    <script src="/widget.js" data-product-key="${key}" async></script></body></html>`
  const open = async (context: BrowserContext, path: string, html: string, files: Record<string, string> = {}) => {
    await host(context, path, html, files)
    const watched = await watchedPage(context)
    await watched.page.goto(`${base}${path}`)
    await expect.poll(() => watched.page.evaluate(() => typeof (window as { Intelagent?: unknown }).Intelagent), SOON).toBe('function')
    return watched
  }
  const newContext = async (options: Parameters<Browser['newContext']>[0] = {}) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
    contexts.push(context)
    return context
  }
  const conversationOf = async (p: Page) => {
    const entry = (await stored(p))[`intelagent:${key}`] as { conversationId?: string } | undefined
    return entry?.conversationId
  }
  const ownerView = async (id: string) => {
    const res = await app.request(`/api/conversations/${id}`, { token: owner.token })
    return (await res.json()) as {
      conversation: { attributes: Record<string, unknown>; user: { id: string; email: string | null; name: string | null } | null }
      messages: { role: string; text: string }[]
    }
  }
  /** The stored visitor message (a bubble shows as soon as it is in the outbox, before the server has it). */
  const storedMessage = async (text: string) => {
    const find = () => app.deps.db.selectFrom('messages').select(['conversation_id', 'meta']).where('role', '=', 'visitor').where('text', '=', text).execute()
    await expect.poll(async () => (await find()).length, SOON).toBe(1)
    return (await find())[0]!
  }

  beforeAll(async () => {
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    app = served.app
    base = served.base
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [base] })).key
    const rotated = await app.request('/api/products/chatbot/secrets/identity_secret/rotate', { method: 'POST', token: owner.token })
    secret = ((await rotated.json()) as { secret: string }).secret
    browser = await launchChromium()
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await browser?.close()
    await served?.close()
  })

  it('replays calls queued by the documented stub before the script loaded, in order, then replaces the stub', async () => {
    const context = await newContext()
    const queued = `${STUB}
      window.__events = []
      Intelagent('on', 'open', function () { window.__events.push('open') })
      Intelagent('on', 'ready', function () { window.__events.push('ready') })
      Intelagent('setLocale', 'de')
      Intelagent('prefill', 'Hallo, ich habe eine Frage')
      Intelagent('open')`
    const { page: p, problems } = await open(context, '/host/stub', page({ head: '<script src="/host/stub.js"></script>' }), { '/host/stub.js': queued })
    await visible(panel(p), true)
    await expect.poll(() => composer(p).inputValue(), SOON).toBe('Hallo, ich habe eine Frage')
    await attribute(composer(p), 'placeholder', 'Ihre Nachricht…')
    await attribute(launcher(p), 'aria-label', 'Chat schließen')
    await expect.poll(() => p.evaluate(() => (window as unknown as { __events: string[] }).__events), SOON).toEqual(['open', 'ready'])
    // The stub is gone: the loaded API is callable, and its methods work as well.
    expect(await p.evaluate(() => 'q' in (window as unknown as { Intelagent: object }).Intelagent)).toBe(false)
    await p.evaluate(() => (window as unknown as { Intelagent: { close(): void } }).Intelagent.close())
    await visible(panel(p), false)
    expect(problems).toEqual([])

    // The older object form keeps working.
    const legacy = await open(context, '/host/legacy', page({ head: '<script src="/host/legacy.js"></script>' }), {
      '/host/legacy.js': "window.Intelagent = { q: [['open']] }",
    })
    await visible(panel(legacy.page), true)
    expect(legacy.problems).toEqual([])
  })

  it('answers every call after load: open, close, toggle, show, hide, on, off and prefill', async () => {
    const context = await newContext()
    const { page: p, problems } = await open(context, '/host/calls', page())
    await p.evaluate(() => {
      const w = window as unknown as { Intelagent(...a: unknown[]): void; __log: string[]; __off: () => void }
      w.__log = []
      w.__off = () => w.__log.push('close (should be off)')
      w.Intelagent('on', 'open', () => w.__log.push('open'))
      w.Intelagent('on', 'close', w.__off)
      w.Intelagent('off', 'close', w.__off)
    })
    await call(p, 'open')
    await visible(panel(p), true)
    await call(p, 'close')
    await visible(panel(p), false)
    await call(p, 'toggle')
    await visible(panel(p), true)
    await call(p, 'toggle')
    await visible(panel(p), false)
    await call(p, 'hide')
    await visible(launcher(p), false)
    // Hidden launcher: the page can still open the chat.
    await call(p, 'open')
    await visible(panel(p), true)
    await call(p, 'show')
    await visible(launcher(p), true)
    await call(p, 'prefill', 'Question about order 7')
    await expect.poll(() => composer(p).inputValue(), SOON).toBe('Question about order 7')
    // open, toggle and the open after hide; the listener taken off with `off` never ran.
    expect(await p.evaluate(() => (window as unknown as { __log: string[] }).__log)).toEqual(['open', 'open', 'open'])
    // Methods as well as the call form, and an unknown name only warns.
    await p.evaluate(() => (window as unknown as { Intelagent: { close(): void } }).Intelagent.close())
    await visible(panel(p), false)
    const warnings: string[] = []
    p.on('console', (m) => {
      if (m.type() === 'warning') warnings.push(m.text())
    })
    await call(p, 'explode')
    await expect.poll(() => warnings.some((w) => w.includes('unknown call "explode"')), SOON).toBe(true)
    expect(problems).toEqual([])
  })

  it('identifies a user with a good hash (their conversation follows them to another device) and refuses a bad one', async () => {
    const user = { userId: `user-${Date.now()}`, email: 'grace@example.com', name: 'Grace Hopper' }
    const laptop = await newContext()
    const first = await open(laptop, '/host/account', page())
    await call(first.page, 'identify', { ...user, userHash: userHash(secret, user.userId) })
    await call(first.page, 'update', { plan: 'pro', accountId: '42' })
    await launcher(first.page).click()
    await composer(first.page).fill('Written on my laptop')
    await composer(first.page).press('Enter')
    await count(bubbles(first.page, 'Written on my laptop'), 1)
    const msg = await storedMessage('Written on my laptop')
    const view = await ownerView(msg.conversation_id)
    expect(view.conversation.user).toEqual({ id: user.userId, email: user.email, name: user.name })
    expect(view.conversation.attributes).toEqual({ plan: 'pro', accountId: '42' })
    // Nothing that opens the user's conversation is left in this browser's storage (the outbox keeps the message
    // until the answer to its POST arrives, which can come after the row is visible in the database).
    await expect.poll(() => stored(first.page), SOON).toEqual({})

    // A phone: a fresh browser, only the site's word for who the user is.
    const phone = await newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    const second = await open(phone, '/host/account', page())
    await call(second.page, 'identify', { userId: user.userId, userHash: userHash(secret, user.userId) })
    await call(second.page, 'open')
    await count(bubbles(second.page, 'Written on my laptop'), 1)

    // A forged hash: refused with identity_invalid, the visitor stays anonymous.
    const other = await newContext()
    const forged = await open(other, '/host/account', page())
    await forged.page.evaluate(() => {
      const w = window as unknown as { Intelagent(...a: unknown[]): void; __errors: unknown[] }
      w.__errors = []
      w.Intelagent('on', 'error', (e: unknown) => w.__errors.push(e))
    })
    await call(forged.page, 'identify', { userId: user.userId, userHash: userHash('a guess', user.userId) })
    await expect
      .poll(() => forged.page.evaluate(() => (window as unknown as { __errors: { code: string }[] }).__errors.map((e) => e.code)), SOON)
      .toEqual(['identity_invalid'])
    await call(forged.page, 'open')
    await composer(forged.page).fill('Am I Grace?')
    await composer(forged.page).press('Enter')
    await count(bubbles(forged.page, 'Am I Grace?'), 1)
    expect(await bubbles(forged.page, 'Written on my laptop').count()).toBe(0)
    const anon = await storedMessage('Am I Grace?')
    expect((await ownerView(anon.conversation_id)).conversation.user).toBeNull()
    expect(first.problems.concat(second.problems)).toEqual([])

    // The owner sees who it is and the attributes in the dashboard's conversation view.
    const dashboard = await newContext()
    const login = await dashboard.request.post(`${base}/api/auth/login`, { data: { email: owner.email, password: PASSWORD } })
    expect(login.status()).toBe(200)
    const { page: d, problems } = await watchedPage(dashboard)
    await d.goto(`${base}/dashboard/conversations/${msg.conversation_id}`)
    const facts = d.locator('dl.conv-facts')
    await expect.poll(async () => (await facts.textContent()) ?? '', SOON).toContain('Grace Hopper')
    const text = (await facts.textContent()) ?? ''
    for (const part of ['Verified user', 'grace@example.com', `id ${user.userId}`, 'plan', 'pro', 'accountId', '42']) expect(text).toContain(part)
    await d.screenshot({ path: join(OUT, 'dashboard-conversation-attributes.png') })
    expect(problems).toEqual([])
  })

  it('forgets the visitor on shutdown: storage and panel cleared, the next chat is a new visitor', async () => {
    const context = await newContext()
    const { page: p, problems } = await open(context, '/host/logout', page())
    await launcher(p).click()
    await composer(p).fill('Before logout')
    await composer(p).press('Enter')
    await count(bubbles(p, 'Before logout'), 1)
    // The bubble shows as soon as it is sent; the visitor's entry is stored once the server answered.
    await expect.poll(() => conversationOf(p), SOON).toBeDefined()
    const before = await conversationOf(p)
    await call(p, 'shutdown')
    await visible(panel(p), false)
    expect(await stored(p)).toEqual({})
    await call(p, 'open')
    await expect.poll(() => conversationOf(p), SOON).toBeDefined()
    const after = await conversationOf(p)
    expect(after).not.toBe(before)
    expect(await bubbles(p, 'Before logout').count()).toBe(0)
    const rows = await app.deps.db.selectFrom('conversations').select(['id', 'visitor_id']).where('id', 'in', [before!, after!]).execute()
    expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(2)
    expect(problems).toEqual([])
  })

  it('speaks the language from setLocale, the owner setting or the browser, right to left for Arabic and Hebrew', async () => {
    // The browser's language.
    const dutch = await newContext({ locale: 'nl-NL' })
    const nl = await open(dutch, '/host/lang', page({ lang: 'nl' }))
    await call(nl.page, 'open')
    await attribute(composer(nl.page), 'placeholder', 'Typ je bericht…')
    await attribute(launcher(nl.page), 'aria-label', 'Chat sluiten')

    // setLocale switches while open, including to a right-to-left language and back.
    await call(nl.page, 'setLocale', 'fr')
    await attribute(composer(nl.page), 'placeholder', 'Votre message…')
    await call(nl.page, 'setLocale', 'ar')
    await attribute(composer(nl.page), 'placeholder', 'اكتب رسالتك…')
    const box = nl.page.locator(`${WIDGET} div.w`)
    await attribute(box, 'dir', 'rtl')
    await attribute(box, 'lang', 'ar')
    await composer(nl.page).fill('مرحبا')
    await composer(nl.page).press('Enter')
    await count(bubbles(nl.page, 'مرحبا'), 1)
    // Right to left: the visitor's bubble sits on the left, the send button left of the composer.
    const mine = await settledBox(bubbles(nl.page, 'مرحبا'))
    const log = await settledBox(nl.page.locator(`${WIDGET} .m`))
    expect(mine.x - log.x).toBeLessThan(40)
    const send = await settledBox(nl.page.locator(`${WIDGET} button.send`))
    expect(send.x).toBeLessThan((await settledBox(composer(nl.page))).x)
    await nl.page.screenshot({ path: join(OUT, 'widget-rtl.png'), animations: 'disabled' })
    await call(nl.page, 'setLocale', 'he')
    await attribute(launcher(nl.page), 'aria-label', "סגירת הצ'אט")
    await attribute(box, 'dir', 'rtl')
    await call(nl.page, 'setLocale', 'en')
    await attribute(box, 'dir', 'ltr')
    await attribute(composer(nl.page), 'placeholder', 'Type your message…')

    // The owner's setting beats the browser's language.
    const other = await newCustomer(app)
    const spanishKey = (await configure(app, other, 'chatbot', { allowedOrigins: [base] })).key
    await saveSettings(app.deps, other.licenseId, 'chatbot', { locale: 'es' })
    const german = await newContext({ locale: 'de-DE' })
    await host(german, '/host/owner', page().replace(`data-product-key="${key}"`, `data-product-key="${spanishKey}"`))
    const es = await watchedPage(german)
    await es.page.goto(`${base}/host/owner`)
    await launcher(es.page).click()
    await attribute(composer(es.page), 'placeholder', 'Escribe tu mensaje…')
    expect(nl.problems.concat(es.problems)).toEqual([])
  })

  it('sends the current page URL with each message in a single-page app (pushState and popstate)', async () => {
    const context = await newContext()
    const { page: p, problems } = await open(context, '/host/spa', page())
    await launcher(p).click()
    await p.evaluate(() => history.pushState({}, '', '/host/spa/orders/7'))
    await composer(p).fill('Sent from the order page')
    await composer(p).press('Enter')
    await count(bubbles(p, 'Sent from the order page'), 1)
    await p.evaluate(() => {
      const back = new Promise((resolve) => addEventListener('popstate', resolve, { once: true }))
      history.back()
      return back
    })
    expect(new URL(p.url()).pathname).toBe('/host/spa')
    await composer(p).fill('Sent after going back')
    await composer(p).press('Enter')
    await count(bubbles(p, 'Sent after going back'), 1)
    const onOrder = await storedMessage('Sent from the order page')
    const afterBack = await storedMessage('Sent after going back')
    expect(onOrder.meta).toMatchObject({ pageUrl: `${base}/host/spa/orders/7` })
    expect(afterBack.meta).toMatchObject({ pageUrl: `${base}/host/spa` })
    expect(problems).toEqual([])
  })

  it('survives a host page that replaces <body> (Turbo) or its content (htmx), and never loads twice', async () => {
    const context = await newContext()
    const { page: p, problems } = await open(context, '/host/turbo', page())
    await launcher(p).click()
    await composer(p).fill('Before the swap')
    await composer(p).press('Enter')
    await count(bubbles(p, 'Before the swap'), 1)
    const api = await p.evaluateHandle(() => (window as unknown as { Intelagent: unknown }).Intelagent)

    // Turbo: a new <body> element, with the embed snippet in it again (Turbo runs its scripts).
    await p.evaluate((productKey) => {
      const next = document.createElement('body')
      next.innerHTML = '<main><h1>Second page</h1></main>'
      const again = document.createElement('script')
      again.src = '/widget.js'
      again.dataset.productKey = productKey
      next.append(again)
      document.body.replaceWith(next)
    }, key)
    await expect.poll(() => p.evaluate(() => document.querySelector('h1')?.textContent), SOON).toBe('Second page')
    await expect.poll(() => p.evaluate((tag) => document.body.querySelectorAll(tag).length, WIDGET), SOON).toBe(1)
    await p.waitForLoadState('networkidle')
    expect(await p.evaluate((tag) => document.querySelectorAll(tag).length, WIDGET)).toBe(1)
    // The same widget, still open, its conversation intact; the same API object.
    await visible(panel(p), true)
    await count(bubbles(p, 'Before the swap'), 1)
    expect(await p.evaluate((before) => (window as unknown as { Intelagent: unknown }).Intelagent === before, api)).toBe(true)

    // htmx (hx-boost): the body's content replaced.
    await p.evaluate(() => {
      document.body.innerHTML = '<main><h1>Third page</h1></main>'
    })
    await expect.poll(() => p.evaluate((tag) => document.body.querySelectorAll(tag).length, WIDGET), SOON).toBe(1)
    await composer(p).fill('After the swaps')
    await composer(p).press('Enter')
    await count(bubbles(p, 'After the swaps'), 1)
    expect(await p.evaluate(() => performance.getEntriesByType('resource').filter((e) => /\/widget\/chat-/.test(e.name)).length)).toBe(1)
    expect(problems).toEqual([])
  })

  it('loads through @intelagent/react (the npm loader) once under StrictMode, with user, attributes and useIntelagent()', async () => {
    const fixture = join(ROOT, 'packages/react/test-output/fixture/app.js')
    const sources = ['packages/react/src/index.ts', 'packages/react/test/fixture/app.ts', 'packages/widget/src/npm.ts'].map(
      (f) => statSync(join(ROOT, f)).mtimeMs,
    )
    if (!existsSync(fixture) || statSync(fixture).mtimeMs < Math.max(...sources)) {
      execFileSync('pnpm', ['--filter', '@intelagent/react', 'build:fixture'], { cwd: ROOT, stdio: 'inherit' })
    }
    const userId = `react-${Date.now()}`
    const context = await newContext()
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>React shop</title>${CSP}</head>
      <body><div id="root" data-base-url="${base}" data-product-key="${key}" data-user-id="${userId}" data-user-hash="${userHash(secret, userId)}"></div>
      <script src="/host/react/app.js"></script></body></html>`
    await host(context, '/host/react', html, { '/host/react/app.js': readFileSync(fixture, 'utf8') })
    const { page: p, problems } = await watchedPage(context)
    await p.goto(`${base}/host/react`)
    await expect.poll(() => p.evaluate(() => typeof (window as { Intelagent?: unknown }).Intelagent), SOON).toBe('function')
    expect(await p.evaluate(() => document.querySelectorAll('script[src$="/widget.js"]').length)).toBe(1)
    await p.locator('#open').click()
    await visible(panel(p), true)
    await expect.poll(() => p.locator('#events').textContent(), SOON).toContain('open')
    await p.locator('#prefill').click()
    await expect.poll(() => composer(p).inputValue(), SOON).toBe('Hello from React')
    await composer(p).press('Enter')
    await count(bubbles(p, 'Hello from React'), 1)
    const msg = await storedMessage('Hello from React')
    const view = await ownerView(msg.conversation_id)
    expect(view.conversation.user).toEqual({ id: userId, email: 'react@example.com', name: 'React User' })
    expect(view.conversation.attributes).toEqual({ plan: 'pro', framework: 'react' })
    // Logging out in the app shuts the widget down.
    await p.locator('#logout').click()
    await visible(panel(p), false)
    expect(await stored(p)).toEqual({})
    expect(problems).toEqual([])
  })

  describe('accessibility (axe-core, WCAG 2.1 AA and best practices)', () => {
    const audit = (p: Page) => axe(p)

    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 800 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      it(`has no violations with the widget closed and open (${name})`, async () => {
        // The host page's CSP forbids inline scripts; only the test's own axe injection bypasses it.
        const context = await newContext({ viewport, bypassCSP: true, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
        const { page: p } = await open(context, '/host/a11y', page())
        await launcher(p).hover()
        await expect.poll(() => p.evaluate(() => performance.getEntriesByType('resource').some((e) => /\/widget\/chat-/.test(e.name))), SOON).toBe(true)
        await p.waitForLoadState('networkidle')
        expect(await audit(p)).toEqual([])

        await launcher(p).click()
        await visible(panel(p), true)
        await composer(p).fill('Is this accessible?')
        await composer(p).press('Enter')
        await count(bubbles(p, 'Is this accessible?'), 1)
        await p.waitForLoadState('networkidle')
        expect(await audit(p)).toEqual([])
        // One landmark for the widget, a labelled region; the host page (which has neither) gains no banner or
        // contentinfo landmark from the open panel. Playwright's role engine pierces the shadow root.
        expect(await p.getByRole('banner').count()).toBe(0)
        expect(await p.getByRole('contentinfo').count()).toBe(0)
        expect(await p.getByRole('region').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))).toEqual(['Chat'])
        expect(await p.getByRole('dialog').getAttribute('aria-label')).toMatch(/chat$/)
        // And no <header>/<footer> at all, which user agents that ignore the region ancestor would map to landmarks.
        expect(await p.locator(`${WIDGET} header, ${WIDGET} footer`).count()).toBe(0)
      })
    }
  })
})
