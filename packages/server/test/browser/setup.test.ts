import { join } from 'node:path'
import type { Browser, Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../fake-host.js'
import { type Customer, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const sitePage = (title: string, main: string, head = '') =>
  `<!doctype html><html lang="en"><head><title>${title}</title>${head}</head><body><nav><a href="/">Home</a> <a href="/shipping">Shipping</a></nav><main>${main}</main></body></html>`

describe('the onboarding wizard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string
  let site: FakeHost
  let owner: Customer

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
          'Oak & Clay | Home',
          '<h1>Oak &amp; Clay</h1><h2>Our workshop</h2><p>Handmade oak furniture and stoneware from a small workshop by the sea, sold online across the whole country since 2012 to thousands of happy customers.</p>',
          '<meta name="theme-color" content="#0f766e">',
        ),
      ),
    )
    site.on(
      'GET',
      '/shipping',
      html(
        sitePage(
          'Shipping | Oak & Clay',
          '<h1>Shipping</h1><h2>UK delivery</h2><p>UK delivery is free on orders over fifty pounds and otherwise costs four pounds ninety five. Parcels arrive in two to three working days.</p>',
        ),
      ),
    )
    served = await serveApp({ env: { OUTBOUND_ALLOW_HOSTS: site.hostPort } })
    app = served.app
    base = served.base
    owner = await newCustomer(app, { products: ['chatbot', 'setup-agent'] })
    browser = await launchChromium()
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    await site?.close()
  }, 60_000)

  it('site → crawl → proposal → apply → preview → snippet; no axe violations at desktop and 390 px', { timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await watchedPage(context)
    await page.goto(`${base}/dashboard`)
    await visible(page.getByRole('heading', { level: 1, name: 'Sign in to Intelagent' }))
    await page.getByLabel('Email').fill(owner.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await visible(page.getByRole('heading', { level: 1, name: 'Products' }))
    await page.getByRole('link', { name: 'Set up your bot from your website' }).click()
    await visible(page.getByRole('heading', { level: 1, name: 'Set up your bot' }))
    expect(await axe(page)).toEqual([])

    await page.getByLabel('Website address').fill(`${site.origin}/`)
    await page.getByRole('button', { name: 'Read my site' }).click()
    await visible(page.getByRole('heading', { level: 2, name: '3. The proposal' }))
    expect(await page.getByLabel('Greeting').inputValue()).toBe('Hi! Welcome to Oak & Clay. How can I help you today?')
    expect(await page.getByLabel(/Suggested questions/).inputValue()).toContain('Can you tell me about UK delivery?')
    expect(await page.getByLabel('Brand colour').inputValue()).toBe('#0f766e')
    await page.getByLabel('Greeting').fill('Hello from Oak & Clay!')
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'setup-proposal-desktop.png'), fullPage: true })

    await page.getByRole('button', { name: 'Apply' }).click()
    await visible(page.getByRole('heading', { level: 2, name: '4. Try it and add it to your site' }))
    const snippet = (await page.locator('pre code').textContent()) ?? ''
    expect(snippet).toMatch(/^<script src="[^"]+\/widget\.js" data-product-key="chat_[^"]+" async><\/script>$/)
    const preview = page.frameLocator('iframe[title="Live preview of your bot"]')
    await preview.locator('intelagent-widget').waitFor({ state: 'attached', timeout: STEP })
    const settings = await app.deps.db.selectFrom('product_settings').select('settings').where('license_id', '=', owner.licenseId).executeTakeFirstOrThrow()
    expect(settings.settings).toMatchObject({ greeting: 'Hello from Oak & Clay!', color: '#0f766e' })
    const key = await app.deps.db
      .selectFrom('product_keys')
      .select('allowed_origins')
      .where('license_id', '=', owner.licenseId)
      .where('product', '=', 'chatbot')
      .executeTakeFirstOrThrow()
    expect(key.allowed_origins).toEqual([site.origin, base])
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'setup-applied-desktop.png'), fullPage: true })

    await page.setViewportSize({ width: 390, height: 844 })
    expect(await axe(page)).toEqual([])
    await page.screenshot({ path: join(OUT, 'setup-applied-390.png'), fullPage: true })
    // The only console note allowed: /api/auth/me answering 401 before signing in.
    expect(problems.filter((p) => !(p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`))).toEqual([])
    await context.close()
  })
})
