// "Test connection" beside the reply engine settings, in a real Chromium against a real server on 127.0.0.1: an
// OpenAI-compatible API on loopback answers a streamed chat completion, then an n8n flow answers 500 for a URL that
// was never saved; the report is read from its live region, and axe-core (WCAG 2.1 AA and best practices) finds
// nothing at desktop width and at 390 px. Screenshots go to test-output/.
import { join } from 'node:path'
import type { Browser, Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../fake-host.js'
import { completionStream } from '../fake-openai.js'
import { newLicense } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { axe, ensureBuilt, launchChromium, OUT, type Problem, registerInDashboard, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const PASSWORD = 'correct horse battery staple'
const API_KEY = 'sk-proj-browser-test-0123456789abcdefWXYZ'
const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })

describe('reply engine test in the dashboard', () => {
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
    base = served.base
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await served?.close()
    await host?.close()
  })

  it('tests the OpenAI-compatible engine, then an unsaved n8n URL that fails; the report is live and axe finds nothing', { timeout: 240_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot', 'sales-agent'] })
    const asked: { authorization: string | null; stream: boolean }[] = []
    host.on('POST', '/v1/chat/completions', async ({ request }) => {
      asked.push({ authorization: request.headers.get('authorization'), stream: ((await request.json()) as { stream: boolean }).stream })
      return new Response(completionStream(['We ship ', 'worldwide.']), { headers: { 'content-type': 'text/event-stream' } })
    })
    let flowCalls = 0
    host.on('POST', '/webhook/chat', () => {
      flowCalls++
      return new Response('Workflow could not be started!', { status: 500 })
    })

    // The test's own axe injection needs inline script, which the dashboard's strict CSP forbids.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const { page, problems } = await watchedPage(context)
    const shot = (name: string) => page.screenshot({ path: join(OUT, `engine-test-${name}.png`), fullPage: true })

    await registerInDashboard(page, base, license, PASSWORD)

    // ── 1. The OpenAI-compatible engine, saved with its key, answers the sample message. ──
    const card = page.getByRole('region', { name: 'Chatbot', exact: true })
    await card.getByRole('button', { name: 'Set up the chatbot' }).click()
    await visible(card.getByLabel('Reply engine'))
    await card.getByLabel('Reply engine').selectOption('openai')
    await card.getByLabel('API base URL').fill(`${host.origin}/v1`)
    await card.getByLabel('Model').fill('gpt-4o-mini')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await visible(card.getByText('Saved', { exact: true }))
    await card.getByLabel('OpenAI API key').fill(API_KEY)
    await card.getByRole('button', { name: 'Save OpenAI API key' }).click()
    await visible(card.getByText('Saved: ends in', { exact: false }))

    const testButton = card.getByRole('button', { name: 'Test connection' })
    const live = card.locator('[aria-live="polite"]').filter({ has: page.locator('.note') })
    await testButton.click()
    await visible(card.getByText('The engine answered.'))
    const report = (await live.textContent()) ?? ''
    expect(report).toMatch(/DNS ok \(127\.0\.0\.1\) · TLS not used · HTTP 200 · \d+ ms/)
    expect(report).toContain('We ship worldwide.')
    expect(report).toContain('Sample message')
    expect(asked).toEqual([{ authorization: `Bearer ${API_KEY}`, stream: true }])
    expect(await page.content()).not.toContain(API_KEY)
    await shot('openai')
    expect(await axe(page)).toEqual([])

    // ── 2. An n8n URL typed but not saved: tested as it is, with the signing secret, and the failure is told. ──
    await card.getByLabel('Reply engine').selectOption('webhook')
    await card.getByLabel('n8n signing secret').fill('a-signing-secret-for-the-flow')
    await card.getByRole('button', { name: 'Save n8n signing secret' }).click()
    await visible(card.getByText('Saved: ends in', { exact: false }))
    // An empty URL is caught by the form before anything is sent.
    await testButton.click()
    expect(await card.getByLabel('n8n webhook URL').evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true)
    expect(flowCalls).toBe(0)
    await card.getByLabel('n8n webhook URL').fill(`${host.origin}/webhook/chat`)
    await testButton.click()
    await visible(card.getByText('The engine did not answer.'))
    const failed = (await live.textContent()) ?? ''
    expect(failed).toMatch(/HTTP 500/)
    expect(failed).toContain('http_status')
    expect(failed).toContain('Workflow could not be started!')
    expect(flowCalls).toBe(1)
    const saved = await app.deps.db.selectFrom('product_settings').select('settings').where('license_id', '=', license.id).executeTakeFirstOrThrow()
    expect(saved.settings).toMatchObject({ engine: 'openai' })

    // ── 3. A 390 px phone: the report fits and axe still finds nothing. ──
    await page.setViewportSize({ width: 390, height: 844 })
    await card.getByText('The engine did not answer.').scrollIntoViewIfNeeded()
    await shot('phone')
    expect(await axe(page)).toEqual([])
    const sticksOut = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !el.closest('.table-wrap *'))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
    )
    expect(sticksOut).toEqual([])

    expect(problems.filter((p: Problem) => !(p.kind === 'console' && /status of 401/.test(p.text)))).toEqual([])
    await context.close()
  })
})
