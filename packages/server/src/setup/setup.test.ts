import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { linkColor, manifestHref, normalizeColor, suggestQuestions, themeColorMeta } from './service.js'

// A small site on 127.0.0.1: a theme-color meta on the home page, a manifest, headings on every page.
const page = (title: string, main: string, head = '') =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body><nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/shipping">Shipping</a></nav><main>${main}</main></body></html>`
const para = (topic: string) =>
  `<p>${topic} is explained here in enough words for the crawler to index this page: it takes more than a few words, so here are some more about ${topic.toLowerCase()}.</p>`

function serveSite(host: FakeHost, head: string) {
  const html = (body: string) => new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } })
  host.on('GET', '/robots.txt', () => new Response('User-agent: *\nAllow: /\n', { headers: { 'content-type': 'text/plain' } }))
  host.on('GET', '/', () =>
    html(
      page(
        'Harbor & Pine – handmade homeware',
        `<h1>Welcome to Harbor &amp; Pine</h1>${para('Our workshop')}<h2>Opening hours</h2>${para('Opening hours')}`,
        head,
      ),
    ),
  )
  host.on('GET', '/pricing', () =>
    html(page('Pricing | Harbor & Pine', `<h1>Pricing</h1><h2>Studio membership</h2>${para('The membership')}<h2>Workshop classes</h2>${para('Classes')}`)),
  )
  host.on('GET', '/shipping', () =>
    html(page('Shipping | Harbor & Pine', `<h1>Shipping</h1><h2>UK delivery</h2>${para('UK delivery')}<h2>Returns</h2>${para('Returns')}`)),
  )
  host.on('GET', '/manifest.webmanifest', () => Response.json({ name: 'Harbor & Pine', theme_color: '#0F766E' }))
}

interface SetupBody {
  id: string
  status: string
  source: { id: string; kind: string; url: string }
  proposal: { greeting: string; suggestedQuestions: string[]; brandColor: string | null; allowedOrigin: string } | null
}

describe('setup agent', () => {
  let app: TestApp
  let site: FakeHost
  let manifestSite: FakeHost
  let owner: Customer
  let agnt = ''

  beforeAll(async () => {
    site = await fakeHost()
    serveSite(site, '<meta name="theme-color" content="#C2410C"><link rel="manifest" href="/manifest.webmanifest">')
    manifestSite = await fakeHost()
    serveSite(manifestSite, '<link rel="manifest" href="/manifest.webmanifest">')
    app = await createTestApp({
      env: { OUTBOUND_ALLOW_HOSTS: `${site.hostPort},${manifestSite.hostPort}` },
      lookup: async () => [{ address: '10.0.0.1', family: 4 }],
    })
    owner = await newCustomer(app)
    agnt = (await configure(app, owner, 'setup-agent')).key
  }, 60_000)
  afterAll(async () => {
    await app?.shutdown()
    await site?.close()
    await manifestSite?.close()
  })

  const call = (method: string, path: string, token: string, json?: unknown) => app.request(path, { method, token, ...(json ? { json } : {}) })

  let setupId = ''
  it('an agnt_ key starts a setup, the crawl runs, and the proposal comes from the site', async () => {
    expect(agnt.startsWith('agnt_')).toBe(true)
    const res = await call('POST', '/api/setup', agnt, { product: 'chatbot', url: `${site.origin}/` })
    expect(res.status).toBe(202)
    const created = (await res.json()) as SetupBody
    expect(created).toMatchObject({ status: 'queued', proposal: null, source: { kind: 'site', url: `${site.origin}/` } })
    setupId = created.id
    expect(setupId).toBe(created.source.id)

    await app.jobs.idle(60_000)
    const got = await call('GET', `/api/setup/${setupId}`, agnt)
    expect(got.status).toBe(200)
    const body = (await got.json()) as SetupBody
    expect(body.status).toBe('ready')
    expect(body.proposal).toEqual({
      greeting: 'Hi! Welcome to Harbor & Pine. How can I help you today?',
      suggestedQuestions: [
        'Can you tell me about opening hours?',
        'Can you tell me about studio membership?',
        'Can you tell me about workshop classes?',
        'Can you tell me about UK delivery?',
        'Can you tell me about returns?',
      ],
      brandColor: '#c2410c',
      allowedOrigin: site.origin,
    })
  })

  it('falls back to the manifest’s theme_color when the page has no theme-color meta', async () => {
    const res = await call('POST', '/api/setup', owner.token, { product: 'chatbot', url: `${manifestSite.origin}/` })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as SetupBody
    await app.jobs.idle(60_000)
    const body = (await (await call('GET', `/api/setup/${id}`, owner.token)).json()) as SetupBody
    expect(body.proposal?.brandColor).toBe('#0f766e')
  })

  it('applies the edited proposal to the settings and the key, and returns the embed code', async () => {
    const res = await call('POST', `/api/setup/${setupId}/apply`, agnt, {
      greeting: 'Hello from Harbor & Pine!',
      suggestedQuestions: ['Do you ship abroad?', 'How much is a class?'],
      brandColor: '#C2410C',
      allowedOrigin: site.origin,
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { keyId: string; allowedOrigins: string[]; settings: Record<string, unknown>; embedCode: string }
    expect(body.settings).toEqual({ greeting: 'Hello from Harbor & Pine!', color: '#c2410c', suggestions: ['Do you ship abroad?', 'How much is a class?'] })
    expect(body.allowedOrigins).toEqual([site.origin])
    expect(body.embedCode).toMatch(/^<script src="[^"]+\/widget\.js" data-product-key="chat_[^"]+" async><\/script>$/)

    const settings = (await (await call('GET', '/api/products/chatbot/settings', owner.token)).json()) as { settings: Record<string, unknown> }
    expect(settings.settings).toMatchObject({
      greeting: 'Hello from Harbor & Pine!',
      color: '#c2410c',
      suggestions: ['Do you ship abroad?', 'How much is a class?'],
    })
    // Applying again keeps the one key and does not repeat the origin.
    const again = (await (await call('POST', `/api/setup/${setupId}/apply`, owner.token, { allowedOrigin: site.origin })).json()) as typeof body
    expect(again.keyId).toBe(body.keyId)
    expect(again.allowedOrigins).toEqual([site.origin])
  })

  it('another license cannot see or apply the setup (404)', async () => {
    const other = await newCustomer(app)
    const otherKey = (await configure(app, other, 'setup-agent')).key
    for (const token of [other.token, otherKey]) {
      const got = await call('GET', `/api/setup/${setupId}`, token)
      expect(got.status).toBe(404)
      expect(((await got.json()) as { error: { code: string } }).error.code).toBe('not_found')
      expect((await call('POST', `/api/setup/${setupId}/apply`, token, { greeting: 'x' })).status).toBe(404)
    }
  })

  it('refuses bad input with stable codes', async () => {
    const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code
    let res = await call('POST', '/api/setup', agnt, { product: 'chatbot' })
    expect([400, 422]).toContain(res.status)
    expect(await code(res)).toBe('validation_failed')
    res = await call('POST', '/api/setup', agnt, { product: 'chatbot', url: 'http://169.254.169.254/latest/meta-data' })
    expect(res.status).toBe(400)
    expect(await code(res)).toBe('url_not_allowed')
    res = await call('POST', '/api/setup', agnt, { product: 'data-enrichment', url: `${site.origin}/` })
    expect([400, 422]).toContain(res.status)
    expect(await code(res)).toBe('validation_failed')
    res = await call('POST', `/api/setup/${setupId}/apply`, agnt, { brandColor: 'red' })
    expect([400, 422]).toContain(res.status)
    expect(await code(res)).toBe('validation_failed')
    res = await call('POST', `/api/setup/${setupId}/apply`, agnt, { allowedOrigin: 'https://example.com/path' })
    expect(await code(res)).toBe('validation_failed')
    res = await call('GET', '/api/setup/nope', agnt)
    expect(await code(res)).toBe('validation_failed')
    const onlyChat = await newCustomer(app, { products: ['sales-agent', 'setup-agent'] })
    res = await call('POST', '/api/setup', onlyChat.token, { product: 'chatbot', url: `${site.origin}/` })
    expect(res.status).toBe(403)
    expect(await code(res)).toBe('product_not_purchased')
  })

  it('reads colours and questions from HTML deterministically', () => {
    expect(normalizeColor('#ABC')).toBe('#aabbcc')
    expect(normalizeColor('red')).toBeNull()
    expect(themeColorMeta(`<meta content="#112233" name='theme-color'>`)).toBe('#112233')
    expect(manifestHref('<link rel="icon" href="/i.png"><link rel="manifest" href="/m.json">')).toBe('/m.json')
    expect(linkColor('<style>body{color:#000} a{color:#1d4ed8} nav a:hover{color:#1e40af} .btn, a.cta{color:#1D4ED8}</style><a style="color:#f00">x</a>')).toBe(
      '#1d4ed8',
    )
    expect(linkColor('<p>no styles</p>')).toBeNull()
    const pages = [
      { url: 'https://x.test/b', title: 'Billing | X', depth: 1 },
      { url: 'https://x.test/', title: 'X', depth: 0 },
    ]
    expect(suggestQuestions(pages, ['FAQ', 'faq'], 'X')).toEqual(['Can you tell me about FAQ?', 'Can you tell me about billing?'])
  })
})
