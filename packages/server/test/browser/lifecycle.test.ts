import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, signInDashboard } from './browser.js'

const STEP = 30_000
/** What fixtures.newCustomer registers with. */
const PASSWORD = 'correct horse battery'
const ORIGIN = 'https://shop.example.com'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
describe('conversation lifecycle in the dashboard', () => {
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
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await served?.close()
  }, 60_000)

  /** A chatbot customer whose visitors asked what the bot does not know: one question twice, one once. */
  async function seed() {
    const owner = await newCustomer(app, { products: ['chatbot'] })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const headers = { 'x-product-key': key, origin: ORIGIN }
    const ask = async (texts: string[]) => {
      const started = (await (await app.request('/api/widget/conversations', { method: 'POST', headers, json: {} })).json()) as {
        conversation: { id: string }
        visitorToken: string
      }
      for (const [i, text] of texts.entries()) {
        const res = await app.request(`/api/widget/conversations/${started.conversation.id}/messages`, {
          method: 'POST',
          headers,
          token: started.visitorToken,
          json: { clientMessageId: `c${i}`, text },
        })
        expect(res.status).toBe(201)
      }
      return started.conversation.id
    }
    const first = await ask(['Do you deliver to Norway?'])
    await ask(['Do you deliver to Norway', 'Can I collect in person?'])
    return { owner, first }
  }

  const h1 = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true })

  async function signIn(context: BrowserContext, owner: Customer) {
    return signInDashboard(context, base, owner, PASSWORD)
  }

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`answers an unanswered question in place and closes a waiting conversation, axe-clean (${name})`, { timeout: 240_000 }, async () => {
      const { owner, first } = await seed()
      // The dashboard's CSP forbids inline scripts; only the test's own axe injection bypasses it.
      const context = await browser.newContext({ viewport, bypassCSP: true, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      const { page, problems } = await signIn(context, owner)

      await page.goto(`${base}/dashboard/unanswered`)
      await visible(h1(page, 'Unanswered questions'))
      const questions = page.getByRole('heading', { level: 2 })
      await expect.poll(() => questions.allTextContents(), { timeout: STEP }).toEqual(['Do you deliver to Norway', 'Can I collect in person?'])
      await visible(page.getByText('Asked 2 times'))
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `unanswered-${name}.png`), fullPage: true })

      const card = page.getByRole('article', { name: 'Do you deliver to Norway' })
      await card.getByLabel('Answer').fill('Yes: Norway takes 5–7 working days.')
      await card.getByRole('button', { name: 'Save answer' }).click()
      await visible(page.getByRole('status').filter({ hasText: 'the bot answers it from now on' }))
      await expect.poll(() => questions.allTextContents(), { timeout: STEP }).toEqual(['Can I collect in person?'])
      const items = await app.deps.db.selectFrom('knowledge_items').select(['title', 'body']).where('license_id', '=', owner.licenseId).execute()
      expect(items).toEqual([{ title: 'Do you deliver to Norway', body: 'Yes: Norway takes 5–7 working days.' }])

      // The conversation list filters by status; the owner closes a waiting conversation from its view.
      await page.goto(`${base}/dashboard/conversations`)
      await visible(h1(page, 'Conversations'))
      await page.getByLabel('Waiting for a person').check()
      await expect.poll(() => page.locator('.conv-list li').count(), { timeout: STEP }).toBe(2)
      await page.goto(`${base}/dashboard/conversations/${first}`)
      await visible(page.getByRole('button', { name: 'Close conversation' }))
      await visible(page.getByText('the bot did not know'))
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.getByRole('button', { name: 'Close conversation' }).click()
      await visible(page.getByRole('button', { name: 'Reopen' }))
      const row = () => app.deps.db.selectFrom('conversations').select(['status', 'closed_by']).where('id', '=', first).executeTakeFirst()
      await expect.poll(row, { timeout: STEP }).toEqual({ status: 'closed', closed_by: 'owner' })
      await page.getByRole('button', { name: 'Take over' }).click()
      await visible(page.getByRole('button', { name: 'Hand back to the bot' }))
      await page.waitForLoadState('networkidle')
      expect(await axe(page)).toEqual([])
      await page.screenshot({ path: join(OUT, `conversation-lifecycle-${name}.png`), fullPage: true })
      const ignorable = (p: Problem) => p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`
      expect(problems.filter((p) => !ignorable(p))).toEqual([])
      await context.close()
    })
  }
})
