// The Webhooks page in a real Chromium against a real server on 127.0.0.1, delivering to a receiver on loopback
// that verifies every POST with the SDK's constructEvent: add an endpoint (secret shown once), send a test event,
// read the delivery log, redeliver a failed delivery, rotate the secret, refuse a private address; axe-core
// (WCAG 2.1 AA and best practices) finds nothing at desktop width and at 390 px. Screenshots go to test-output/.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { constructEvent } from '../../../sdk/src/webhooks.js'
import { emit } from '../../src/platform/events.js'
import { type FakeHost, fakeHost } from '../fake-host.js'
import { newLicense } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { ensureBuilt, launchChromium, OUT, type Problem, registerInDashboard, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const SOON = { timeout: STEP }
const PASSWORD = 'correct horse battery staple'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })

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

describe('webhooks in the dashboard', () => {
  let served: Served
  let app: TestApp
  let browser: Browser
  let host: FakeHost
  let base: string

  beforeAll(async () => {
    ensureBuilt('@intelagent/dashboard', 'packages/dashboard/dist/index.html')
    host = await fakeHost()
    served = await serveApp({ env: { OUTBOUND_ALLOW_HOSTS: host.hostPort } })
    app = served.app
    app.webhooks.retryScheduleMs = [20]
    base = served.base
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    await host?.close()
  })

  it('adds an endpoint, tests it, redelivers a failed delivery and rotates the secret; axe finds nothing', { timeout: 240_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot', 'sales-agent'] })
    // The test's own axe injection needs inline script, which the dashboard's strict CSP forbids.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await watchedPage(context)
    page.on('dialog', (d) => void d.accept())
    const shot = (name: string) => page.screenshot({ path: join(OUT, `webhooks-${name}.png`), fullPage: true })
    const h1 = (name: string) => page.getByRole('heading', { level: 1, name, exact: true })

    let secrets: string[] = []
    let answer = 200
    const verified: { type: string; id: string }[] = []
    host.on('POST', '/hook', async ({ request }) => {
      const raw = await request.text()
      for (const s of secrets) verified.push(await constructEvent(raw, request.headers.get('x-intelagent-signature'), s))
      return new Response(answer === 200 ? 'received' : 'broken', { status: answer })
    })

    await registerInDashboard(page, base, license, PASSWORD)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click()
    await visible(h1('Webhooks'))
    await visible(page.getByText('No endpoints yet.'))
    expect(await unlabelled(page)).toEqual([])

    // ── 1. A private address is refused with a sentence saying why. ──
    await page.getByLabel('Endpoint URL').fill('http://10.0.0.1/hook')
    await page.getByRole('button', { name: 'Add endpoint' }).click()
    await expect.poll(async () => (await page.getByRole('alert').allTextContents()).join(' '), SOON).toContain('must be a public http(s) URL')

    // ── 2. Add the endpoint: the secret is shown once, with a copy button. ──
    await page.getByLabel('Endpoint URL').fill(`${host.origin}/hook`)
    await page.getByLabel('Description (optional)').fill('CRM sync')
    await page.getByRole('button', { name: 'Add endpoint' }).click()
    const secretNote = page.getByRole('status').filter({ hasText: 'You will not see it again' })
    await visible(secretNote)
    const secret = ((await secretNote.locator('code').textContent()) ?? '').trim()
    expect(secret).toMatch(/^whsec_/)
    secrets = [secret]
    await visible(page.getByRole('button', { name: 'Copy signing secret' }))
    await page.getByRole('button', { name: 'Done, I have stored it' }).click()
    expect(await page.content()).not.toContain(secret)
    const card = page.getByRole('region', { name: `${host.origin}/hook` })
    await visible(card)

    // ── 3. Send a test event: delivered, signed, and the steps are reported. ──
    await card.getByRole('button', { name: 'Send test event' }).click()
    await visible(card.getByText('Test event delivered.'))
    expect(await card.textContent()).toMatch(/DNS ok \(127\.0\.0\.1\) · TLS not used · HTTP 200 · \d+ ms/)
    expect(verified.map((e) => e.type)).toEqual(['ping'])

    // ── 4. A lead event fails at the receiver, is retried, fails; redelivered from the log once it answers. ──
    answer = 500
    await emit(app.deps.db, {
      type: 'lead.created',
      licenseId: license.id,
      data: { leadId: '00000000-0000-4000-8000-000000000001', product: 'sales-agent', conversationId: null },
    })
    await app.jobs.idle()
    await card.getByRole('button', { name: 'Show deliveries' }).click()
    const table = card.getByRole('table', { name: `Deliveries to ${host.origin}/hook, newest first` })
    const leadRow = table.getByRole('row').filter({ hasText: 'lead.created' })
    await visible(leadRow)
    await expect.poll(async () => (await leadRow.textContent()) ?? '', SOON).toContain('Failed')
    expect(await leadRow.textContent()).toContain('2 attempts, last 500')
    await leadRow.locator('summary').click()
    await visible(leadRow.getByText('broken').first())
    await shot('failed')

    answer = 200
    await leadRow.getByRole('button', { name: /^Redeliver lead\.created/ }).click()
    await visible(card.getByText('Delivery of lead.created queued again.'))
    await app.jobs.idle()
    await card.getByRole('button', { name: 'Refresh' }).click()
    await expect.poll(async () => (await leadRow.textContent()) ?? '', SOON).toContain('Delivered')
    expect(verified.filter((e) => e.type === 'lead.created')).toHaveLength(3)

    // ── 5. Rotate: the new secret is shown once, and the old one keeps signing beside it. ──
    await card.getByRole('button', { name: 'Rotate secret' }).click()
    const rotated = page.getByRole('status').filter({ hasText: 'New signing secret' })
    await visible(rotated)
    const next = ((await rotated.locator('code').textContent()) ?? '').trim()
    expect(next).toMatch(/^whsec_/)
    expect(next).not.toBe(secret)
    secrets = [secret, next]
    await card.getByRole('button', { name: 'Send test event' }).click()
    await expect.poll(() => verified.filter((e) => e.type === 'ping').length, SOON).toBe(3)
    await visible(card.getByText('Previous secret'))
    await shot('desktop')

    // ── 6. Accessibility at desktop width and on a 390 px phone. ──
    expect(await unlabelled(page)).toEqual([])
    expect(await audit(page)).toEqual([])
    await page.setViewportSize({ width: 390, height: 844 })
    await shot('phone')
    expect(await audit(page)).toEqual([])
    // Nothing sticks out sideways: wide content scrolls inside its own box.
    const sticksOut = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !el.closest('.table-wrap *'))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
    )
    expect(sticksOut).toEqual([])

    const expected = (p: Problem) => p.kind === 'console' && /status of (401|400)/.test(p.text)
    expect(problems.filter((p) => !expected(p))).toEqual([])
    await context.close()
  })
})
