// The dashboard in a real Chromium against a real server on 127.0.0.1, as a customer uses it: register with a
// license key (after a wrong one), set up the chatbot (embed code, allowed websites, settings, a Q&A answer), watch
// a visitor's conversation arrive live, answer it as a person, and log out; then an API key created, used, and
// revoked in the UI, and an OpenAI key stored as a hint only. Strict CSP, no console errors.
// Screenshots go to packages/server/test-output/.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateLicenseKey } from '../../src/licenses/license-key.js'
import { newLicense } from '../fixtures.js'
import type { TestApp } from '../harness.js'
import { ensureBuilt, launchChromium, OUT, type Problem, type Served, serveApp, watchedPage } from './browser.js'

const STEP = 30_000
const SOON = { timeout: STEP }
const PASSWORD = 'correct horse battery staple'

const visible = (loc: Locator) => loc.waitFor({ state: 'visible', timeout: STEP })
const textOf = (loc: Locator) => expect.poll(async () => (await loc.allTextContents()).join('\n'), SOON)

describe('dashboard in a browser', () => {
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
  })

  afterAll(async () => {
    await browser?.close()
    await served?.close()
  })

  it('registers, sets up the chatbot, answers a live conversation and logs out', { timeout: 240_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot', 'sales-agent'] })
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const { page, problems } = await watchedPage(context)
    const shot = (name: string) => page.screenshot({ path: join(OUT, `dashboard-${name}.png`) })
    const h1 = (name: string) => page.getByRole('heading', { level: 1, name, exact: true })

    // ── 1. Register: a wrong license key first shows the server's message, the right one lands on Products. ──
    await page.goto(`${base}/dashboard`)
    await visible(h1('Sign in to Intelagent'))
    await shot('sign-in')
    await page.getByRole('button', { name: 'Create an account' }).click()
    await visible(h1('Create your Intelagent account'))
    await page.getByLabel('Email').fill(license.email)
    await page.getByLabel('Password').fill(PASSWORD)
    // Well-formed (the check symbol matches) but issued to nobody.
    let wrongKey = generateLicenseKey()
    while (wrongKey === license.key) wrongKey = generateLicenseKey()
    await page.getByLabel('License key').fill(wrongKey)
    await page.getByRole('button', { name: 'Create account' }).click()
    const alert = page.getByRole('alert')
    await textOf(alert).toContain('No license with this key')
    await shot('register-wrong-key')
    expect(await h1('Create your Intelagent account').isVisible()).toBe(true)

    // Typed in lower case, as people do: the form normalises it.
    await page.getByLabel('License key').fill(license.key.toLowerCase())
    await page.getByRole('button', { name: 'Create account' }).click()
    await visible(h1('Products'))
    await visible(page.getByText(license.email, { exact: true }))
    expect(await alert.count()).toBe(0)

    // ── 2. Set up the chatbot: embed code, allowed websites, bot settings and a Q&A answer. ──
    const card = page.getByRole('region', { name: 'Chatbot', exact: true })
    await visible(card)
    await card.getByRole('button', { name: 'Set up the chatbot' }).click()
    const embed = card.locator('pre.code code')
    await visible(embed)
    const embedText = (await embed.textContent()) ?? ''
    expect(embedText).toContain('data-product-key="chat_')
    expect(embedText).toContain(`src="${base}/widget.js"`)
    const productKey = /data-product-key="(chat_[^"]+)"/.exec(embedText)?.[1] ?? ''
    expect(productKey).toMatch(/^chat_/)
    // The key shown is the one the server issued for this license (and the one the embed code uses).
    expect((await card.locator('dl.facts code').first().textContent())?.trim()).toBe(productKey)
    await shot('products-chatbot')

    const shopOrigin = 'https://shop.example.com'
    await card.getByLabel('Allowed websites').fill(`${base}/any/path\n${shopOrigin}`)
    await card.getByRole('button', { name: 'Save websites' }).click()
    await textOf(card.getByText('Saved', { exact: true })).toContain('Saved')
    await expect.poll(() => card.getByLabel('Allowed websites').inputValue(), SOON).toBe(`${base}\n${shopOrigin}`)

    const botName = `Harbor helper ${randomBytes(2).toString('hex')}`
    await card.getByLabel('Bot name').fill(botName)
    await card.getByLabel('Greeting').fill('Ahoy! Ask me about shipping.')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => card.getByText('Saved', { exact: true }).count(), SOON).toBe(2)

    const question = 'Do you ship to Norway?'
    const answer = 'Yes, we ship to Norway within 5 working days.'
    await card.getByLabel('Question', { exact: true }).fill(question)
    await card.getByLabel('Answer', { exact: true }).fill(answer)
    await card.getByRole('button', { name: 'Add answer' }).click()
    await textOf(card.locator('ul.qa .qa-q')).toBe(question)
    await textOf(card.locator('ul.qa .qa-a')).toBe(answer)
    await card.getByRole('heading', { name: 'Questions and answers' }).scrollIntoViewIfNeeded()
    await shot('products-knowledge')

    // What the UI saved is what the widget sees: the allowed origin passes, another is refused.
    const visitorHeaders = { 'X-Product-Key': productKey, Origin: base }
    const config = await fetch(`${base}/api/widget/config`, { headers: visitorHeaders })
    expect(config.status).toBe(200)
    expect(await config.json()).toMatchObject({ product: 'chatbot', botName, greeting: 'Ahoy! Ask me about shipping.', engine: 'knowledge' })
    const refused = await fetch(`${base}/api/widget/config`, { headers: { ...visitorHeaders, Origin: 'https://elsewhere.example.com' } })
    expect(refused.status).toBe(403)

    // ── 3. Live conversations: a visitor writes while the page is open; it appears without a reload. ──
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Conversations' }).click()
    await visible(h1('Conversations'))
    await textOf(page.locator('.live[role="status"]')).toBe('Live')
    await visible(page.getByText('No conversations yet.', { exact: false }))
    // Survives only if nothing below reloads the page (in-app links use the History API).
    await page.evaluate(() => {
      ;(window as unknown as { __sameDocument: boolean }).__sameDocument = true
    })

    const started = await fetch(`${base}/api/widget/conversations`, {
      method: 'POST',
      headers: { ...visitorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ pageUrl: `${base}/shop/cart` }),
    })
    expect(started.status).toBe(201)
    const { conversation, visitorToken } = (await started.json()) as { conversation: { id: string }; visitorToken: string }
    const visitor = { ...visitorHeaders, authorization: `Bearer ${visitorToken}` }
    const items = page.locator('.conv-list a.conv')
    await expect.poll(() => items.count(), SOON).toBe(1)
    await textOf(items).toContain('Ahoy! Ask me about shipping.')

    const sent = await fetch(`${base}/api/widget/conversations/${conversation.id}/messages`, {
      method: 'POST',
      headers: { ...visitor, 'content-type': 'application/json' },
      body: JSON.stringify({ clientMessageId: `m-${randomBytes(4).toString('hex')}`, text: question }),
    })
    expect(sent.status).toBe(201)
    const { replies } = (await sent.json()) as { replies: { role: string; text: string }[] }
    expect(replies).toMatchObject([{ role: 'assistant', text: expect.stringContaining('Norway') }])
    await textOf(items).toContain(`Bot: ${replies[0]?.text ?? ''}`.slice(0, 40))
    await textOf(items).toContain('3 messages')
    expect(await items.count()).toBe(1)
    await shot('conversations-live')

    // Open it: the whole conversation, and a later visitor message arrives live in the open thread.
    await items.first().click()
    await visible(page.getByRole('heading', { level: 2, name: `Visitor on ${base.replace(/^https?:\/\//, '')}/shop/cart` }))
    const log = page.getByRole('log', { name: 'Messages' })
    await textOf(log.locator('li.msg-visitor .msg-text')).toBe(question)
    await expect.poll(() => log.locator('li.msg').count(), SOON).toBe(3)
    const followUp = 'And how much does it cost?'
    const second = await fetch(`${base}/api/widget/conversations/${conversation.id}/messages`, {
      method: 'POST',
      headers: { ...visitor, 'content-type': 'application/json' },
      body: JSON.stringify({ clientMessageId: `m-${randomBytes(4).toString('hex')}`, text: followUp }),
    })
    expect(second.status).toBe(201)
    // Not in the Q&A: the knowledge engine answers with its fallback (also live).
    const secondReplies = ((await second.json()) as { replies: { role: string; text: string }[] }).replies
    expect(secondReplies).toMatchObject([{ role: 'assistant' }])
    await textOf(log.locator('li.msg-visitor .msg-text')).toBe(`${question}\n${followUp}`)
    await textOf(log.locator('li.msg-assistant .msg-text')).toContain(secondReplies[0]?.text ?? '(none)')

    // A human reply from the UI reaches the visitor.
    const human = 'Hi, this is Sam from the shop: shipping to Norway is £12.'
    await page.getByLabel('Reply as a person').fill(human)
    await page.getByRole('button', { name: 'Send reply' }).click()
    await textOf(log.locator('li.msg-agent .msg-text')).toBe(human)
    await expect.poll(() => page.getByLabel('Reply as a person').inputValue(), SOON).toBe('')
    await shot('conversation-reply')
    await expect
      .poll(async () => {
        const res = await fetch(`${base}/api/widget/conversations/${conversation.id}/messages?after=0`, { headers: visitor })
        if (res.status !== 200) return `status ${res.status}`
        const { messages } = (await res.json()) as { messages: { role: string; text: string }[] }
        return messages.filter((m) => m.role === 'agent').map((m) => m.text)
      }, SOON)
      .toEqual([human])
    // Each message once, in the thread and in the list.
    await expect.poll(() => log.locator('li.msg').count(), SOON).toBe(6)
    await textOf(items).toContain('6 messages')
    await textOf(items).toContain(`You (agent): ${human}`)
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true)

    // ── 4. Log out: back to sign-in, and the old session cookie no longer works. ──
    const cookieHeader = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ')
    expect(cookieHeader).toContain('intl_session=')
    expect((await fetch(`${base}/api/auth/me`, { headers: { cookie: cookieHeader } })).status).toBe(200)
    await page.getByRole('button', { name: 'Log out' }).click()
    await visible(h1('Sign in to Intelagent'))
    await shot('signed-out')
    expect((await fetch(`${base}/api/auth/me`, { headers: { cookie: cookieHeader } })).status).toBe(401)
    const after = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ')
    expect((await fetch(`${base}/api/auth/me`, { headers: after ? { cookie: after } : {} })).status).toBe(401)
    // A reload stays signed out.
    await page.reload()
    await visible(h1('Sign in to Intelagent'))

    // ── 5. No CSP violations; the only console errors are the browser's notes on deliberate failures:
    // /api/auth/me while signed out (401) and the wrong license key (404). ──
    const expected = (p: Problem) =>
      p.kind === 'console' &&
      ((/status of 401/.test(p.text) && p.url === `${base}/api/auth/me`) || (/status of 404/.test(p.text) && p.url === `${base}/api/auth/register`))
    expect(problems.filter((p) => !expected(p))).toEqual([])
    expect(problems.some((p) => p.url === `${base}/api/auth/register`)).toBe(true)
    await context.close()
  })

  it('creates a scoped API key shown once, uses and revokes it, and stores an OpenAI key as a hint only', { timeout: 240_000 }, async () => {
    const license = await newLicense(app, { products: ['chatbot'] })
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
    const { page, problems } = await watchedPage(context)
    const shot = (name: string) => page.screenshot({ path: join(OUT, `dashboard-${name}.png`), fullPage: true })
    const h1 = (name: string) => page.getByRole('heading', { level: 1, name, exact: true })

    await page.goto(`${base}/dashboard#register`)
    await visible(h1('Create your Intelagent account'))
    await page.getByLabel('Email').fill(license.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByLabel('License key').fill(license.key)
    await page.getByRole('button', { name: 'Create account' }).click()
    await visible(h1('Products'))

    // ── 1. OpenAI engine: model settings, then the API key, which comes back only as a hint. ──
    const card = page.getByRole('region', { name: 'Chatbot', exact: true })
    await card.getByRole('button', { name: 'Set up the chatbot' }).click()
    await visible(card.getByLabel('Reply engine'))
    expect(await card.getByLabel('OpenAI API key').count()).toBe(0)
    await card.getByLabel('Reply engine').selectOption('openai')
    await card.getByLabel('API base URL').fill('https://llm.example.com/v1')
    await card.getByLabel('Model').fill('gpt-4.1-mini')
    await card.getByLabel('System prompt').fill('You answer questions about our boats. Be brief.')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await textOf(card.getByText('Saved', { exact: true })).toBe('Saved')
    const saved = await fetch(`${base}/api/products/chatbot/settings`, { headers: { cookie: await cookieOf(context) } })
    expect(((await saved.json()) as { settings: unknown }).settings).toMatchObject({
      engine: 'openai',
      openai: { baseUrl: 'https://llm.example.com/v1', model: 'gpt-4.1-mini', systemPrompt: 'You answer questions about our boats. Be brief.' },
    })

    const openaiKey = `sk-test-${randomBytes(16).toString('hex')}`
    const secretField = card.getByLabel('OpenAI API key')
    expect(await secretField.getAttribute('type')).toBe('password')
    await secretField.fill(openaiKey)
    await card.getByRole('button', { name: 'Save OpenAI API key' }).click()
    await textOf(card.getByText('Saved: ends in', { exact: false })).toBe(`Saved: ends in …${openaiKey.slice(-4)}`)
    expect(await secretField.inputValue()).toBe('')
    expect(await page.content()).not.toContain(openaiKey)
    const stored = await app.deps.db.selectFrom('integration_secrets').select(['name', 'hint']).where('product', '=', 'chatbot').execute()
    expect(stored).toContainEqual({ name: 'openai_api_key', hint: openaiKey.slice(-4) })
    await card.getByLabel('OpenAI API key').scrollIntoViewIfNeeded()
    await shot('products-openai')
    // The n8n engine asks for its own signing secret instead (also a password field).
    await card.getByLabel('Reply engine').selectOption('webhook')
    expect(await card.getByLabel('n8n signing secret').getAttribute('type')).toBe('password')
    expect(await card.getByLabel('OpenAI API key').count()).toBe(0)
    // Back to OpenAI, a freshly drawn form: the stored key is still known, by its hint only.
    await card.getByLabel('Reply engine').selectOption('openai')
    await textOf(card.getByText('Saved: ends in', { exact: false })).toBe(`Saved: ends in …${openaiKey.slice(-4)}`)
    expect(await page.content()).not.toContain(openaiKey)

    // ── 2. Create an API key with one scope: the key is on the page once, with a copy button and a warning. ──
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click()
    await visible(h1('API keys'))
    await visible(page.getByText('No API keys yet.'))
    const keyName = `CRM sync ${randomBytes(2).toString('hex')}`
    await page.getByLabel('Name').fill(keyName)
    await page.getByRole('checkbox', { name: /^keys:read\b/ }).check()
    await page.getByLabel('Expires after (days)').fill('30')
    await page.getByRole('button', { name: 'Create API key' }).click()
    const shown = page.getByRole('status').filter({ has: page.getByRole('heading', { name: `Your new key “${keyName}”` }) })
    await visible(shown)
    await textOf(shown).toContain('You will not see it again')
    const apiKey = ((await shown.locator('.secret code').textContent()) ?? '').trim()
    expect(apiKey).toMatch(/^intl_sk_/)
    await shown.getByRole('button', { name: 'Copy API key' }).click()
    await textOf(shown.locator('.copy-status')).toBe('Copied')
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(apiKey)

    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: keyName, exact: true }) })
    const cells = async () => (await row.getByRole('cell').allTextContents()).map((t) => t.trim())
    await expect.poll(cells, SOON).toEqual([`${apiKey.slice(0, 9)}…${apiKey.slice(-4)}`, 'keys:read', 'Active', expect.any(String), 'never', '0', 'Revoke'])
    await shot('api-keys-created')

    // What the key may do, from outside the browser: read product keys yes, change settings no.
    const bearer = { authorization: `Bearer ${apiKey}` }
    const allowed = await fetch(`${base}/api/products/keys`, { headers: bearer })
    expect(allowed.status).toBe(200)
    expect(((await allowed.json()) as { keys: { product: string }[] }).keys).toMatchObject([{ product: 'chatbot' }])
    const denied = await fetch(`${base}/api/products/chatbot/settings`, {
      method: 'PATCH',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ botName: 'Changed by a key' }),
    })
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope')

    // Once dismissed (or after a reload) the key is nowhere in the page; the list shows its use.
    await shown.getByRole('button', { name: 'Done, I have stored it' }).click()
    await expect.poll(() => shown.count(), SOON).toBe(0)
    expect(await page.content()).not.toContain(apiKey)
    await page.reload()
    await visible(h1('API keys'))
    await expect.poll(async () => (await cells())[5], SOON).toBe('1')
    expect((await cells())[4]).not.toBe('never')
    expect(await page.content()).not.toContain(apiKey)

    // ── 3. Revoke, with a confirmation: cancelling keeps the key, confirming stops it at once. ──
    const revokeButton = row.getByRole('button', { name: `Revoke ${keyName}` })
    page.once('dialog', (d) => void d.dismiss())
    await revokeButton.click()
    expect((await cells())[2]).toBe('Active')
    expect((await fetch(`${base}/api/products/keys`, { headers: bearer })).status).toBe(200)
    const confirmed = new Promise<string>((resolve) => page.once('dialog', (d) => void d.accept().then(() => resolve(d.message()))))
    await revokeButton.click()
    expect(await confirmed).toContain(keyName)
    await expect.poll(async () => (await cells())[2], SOON).toBe('Revoked')
    expect(await revokeButton.count()).toBe(0)
    const gone = await fetch(`${base}/api/products/keys`, { headers: bearer })
    expect(gone.status).toBe(401)
    await shot('api-keys-revoked')

    // The only console error is the browser's note on /api/auth/me while signed out (401); no CSP violation.
    const expected = (p: Problem) => p.kind === 'console' && /status of 401/.test(p.text) && p.url === `${base}/api/auth/me`
    expect(problems.filter((p) => !expected(p))).toEqual([])
    await context.close()
  })
})

async function cookieOf(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
}
