// The pages a buyer reaches from an email, in a real Chromium against a real server: the register link of the
// license email (key filled in), "Forgot password?" → the reset link → a new password, and the confirm-email link.
// axe-core (WCAG 2.1 AA and best practices) finds nothing on any of them, at desktop and phone widths.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mailBodies } from '../../src/mail/mailer.js'
import { newCustomer, newLicense, uniqueEmail } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { ensureBuilt, launchChromium, OUT, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

async function audit(p: Page) {
  await p.addScriptTag({ content: axeSource })
  return p.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }> } })
      .axe
    const { violations } = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    return violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => JSON.stringify(n.target)) }))
  })
}

describe('account pages reached from email, in a browser', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let base: string

  /** The link in the newest message to `to` (the server has no SMTP_URL: messages are kept in the outbox). */
  async function linkIn(to: string, page: string): Promise<string> {
    await app.jobs.idle()
    const row = await app.deps.db.selectFrom('mail_outbox').selectAll().where('to_email', '=', to).orderBy('created_at', 'desc').executeTakeFirstOrThrow()
    const m = new RegExp(`https?://[^\\s]+/dashboard/${page}\\?[^\\s]+`).exec(mailBodies(app.config, row).text)
    if (!m) throw new Error(`no ${page} link`)
    return m[0]
  }

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    served = await serveApp()
    app = served.app
    base = served.base
    browser = await launchChromium()
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`registers from the license email, resets a password and confirms an email (${name})`, { timeout: 240_000 }, async () => {
      const context = await browser.newContext({ viewport, bypassCSP: true, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      const { page, problems } = await watchedPage(context)
      const h1 = (text: string) => page.getByRole('heading', { level: 1, name: text, exact: true })
      const shot = (step: string) => page.screenshot({ path: join(OUT, `account-${step}-${name}.png`) })

      // ── The license email's register link: register mode, the key filled in. ──
      const license = await newLicense(app, { email: uniqueEmail('buyer'), products: ['chatbot'] })
      const register = await linkIn(license.email, 'register')
      expect(register).toBe(`${base}/dashboard/register?license=${license.key}`)
      await page.goto(register)
      await visible(h1('Create your Intelagent account'))
      expect(await page.getByLabel('License key').inputValue()).toBe(license.key)
      expect(await audit(page)).toEqual([])
      await shot('register')
      await page.getByLabel('Email').fill(license.email)
      await page.getByLabel('Password').fill('correct horse battery staple')
      await page.getByRole('button', { name: 'Create account' }).click()
      await visible(h1('Products'))
      expect(new URL(page.url()).pathname).toMatch(/^\/dashboard\/?$/)

      // ── Forgot password → the emailed link → a new password. ──
      const owner = await newCustomer(app)
      const fresh = await context.browser()?.newContext({ viewport, bypassCSP: true })
      const { page: p2, problems: problems2 } = await watchedPage(fresh as NonNullable<typeof fresh>)
      const h1b = (text: string) => p2.getByRole('heading', { level: 1, name: text, exact: true })
      await p2.goto(`${base}/dashboard`)
      await visible(h1b('Sign in to Intelagent'))
      await p2.getByRole('link', { name: 'Forgot password?' }).click()
      await visible(h1b('Reset your password'))
      expect(await audit(p2)).toEqual([])
      await p2.getByLabel('Email').fill(owner.email)
      await p2.getByRole('button', { name: 'Send the link' }).click()
      await visible(p2.getByRole('status'))
      expect(await p2.getByRole('status').textContent()).toContain(owner.email)
      expect(await audit(p2)).toEqual([])

      await p2.goto(await linkIn(owner.email, 'reset-password'))
      await visible(h1b('Choose a new password'))
      expect(await audit(p2)).toEqual([])
      await p2.screenshot({ path: join(OUT, `account-reset-${name}.png`) })
      await p2.getByLabel('New password', { exact: true }).fill('a brand new passphrase')
      await p2.getByLabel('New password again').fill('a different passphrase')
      await p2.getByRole('button', { name: 'Set the new password' }).click()
      await visible(p2.getByRole('alert'))
      expect(await p2.getByRole('alert').textContent()).toContain('differ')
      await p2.getByLabel('New password again').fill('a brand new passphrase')
      await p2.getByRole('button', { name: 'Set the new password' }).click()
      await visible(p2.getByRole('status'))
      expect(await audit(p2)).toEqual([])
      const login = await app.request('/api/auth/login', { method: 'POST', json: { email: owner.email, password: 'a brand new passphrase' } })
      expect(login.status).toBe(200)

      // ── The confirm-email link. ──
      const newEmail = uniqueEmail('moved')
      const asked = await app.request('/api/auth/email', { method: 'POST', token: owner.token, json: { newEmail, password: 'correct horse battery' } })
      // The reset ended every session: sign in again to ask.
      expect(asked.status).toBe(401)
      const { token } = (await login.json()) as { token: string }
      expect((await app.request('/api/auth/email', { method: 'POST', token, json: { newEmail, password: 'a brand new passphrase' } })).status).toBe(202)
      await p2.goto(await linkIn(newEmail, 'confirm-email'))
      await visible(h1b('Confirm your new email address'))
      expect(await audit(p2)).toEqual([])
      await p2.getByRole('button', { name: 'Confirm the new address' }).click()
      await visible(p2.getByRole('status'))
      expect(await p2.getByRole('status').textContent()).toContain(newEmail)
      expect(await audit(p2)).toEqual([])
      await p2.screenshot({ path: join(OUT, `account-confirm-email-${name}.png`) })

      // Signed out, the dashboard asks who is signed in and is told 401: expected, the only console line allowed.
      const signedOut = (pr: { text: string; url: string }) => pr.url.endsWith('/api/auth/me') && pr.text.includes('401')
      expect([...problems, ...problems2].filter((pr) => pr.kind !== 'csp' && !signedOut(pr))).toEqual([])
      await fresh?.close()
      await context.close()
    })
  }
})
