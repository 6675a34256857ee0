import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, newCustomer, replyContext, silentSink } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { putSecret } from '../platform/secrets.js'
import { createKnowledgeEngine } from '../replies/knowledge-engine.js'
import { createOpenAiEngine } from '../replies/openai.js'
import { defaultSettings } from '../settings/settings.js'
import { chunkSections } from './chunking.js'
import { extractHtml } from './extract.js'
import { retrieve } from './queries.js'

// A small shop's site on 127.0.0.1, served by the test: every case the crawler must handle has a page here.
const nav = `<header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/shipping">Shipping</a> <a href="/returns">Returns</a> <a href="/about">About</a></nav></header>`
const footer = `<footer><p>© Harbor &amp; Pine Ltd · <a href="/privacy">Privacy</a> · Registered in England and Wales</p><div class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div></footer>`
const page = (title: string, main: string, head = '') =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${nav}<main><article>${main}</article></main>${footer}</body></html>`
const words = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `${topic} detail ${i} is explained here.`).join(' ')

const PAGES: Record<string, (v: number) => string> = {
  '/': () =>
    page(
      'Harbor & Pine – handmade homeware',
      `<h1>Welcome to Harbor &amp; Pine</h1><p>We make stoneware ceramics and oak furniture in our Bristol workshop, in small batches, and sell them online to customers across the UK and Europe.</p>
       <p><a href="/pricing">Pricing</a> <a href="/about?utm_source=newsletter">About us</a> <a href="/about-copy">About (old link)</a> <a href="/same-text">Shipping (print)</a>
       <a href="/go-away">Our marketplace shop</a> <a href="/big">Catalogue</a> <a href="/app">Configurator</a> <a href="/private/secret">Staff</a> <a href="/old">Winter sale</a>
       <a href="/guide.pdf">Care guide (PDF)</a> <a href="https://elsewhere.test/partner">Partner</a> <a href="/docs/a">Docs</a></p>`,
    ),
  '/pricing': (v) =>
    page(
      'Pricing',
      `<h1>Pricing</h1><h2>Plans</h2><p>The Studio membership costs ${v === 1 ? '29' : '35'} euros per month and includes free delivery on every order, early access to new collections and ten percent off workshop classes.</p>
       <h2>Workshop classes</h2><p>A pottery workshop class costs 65 euros per person for a three hour session, clay and firing included. Classes run on Saturday mornings in Bristol.</p>`,
    ),
  '/shipping': () =>
    page(
      'Shipping and delivery',
      `<h1>Shipping</h1><h2>UK delivery</h2><p>UK delivery is free on orders over fifty pounds and otherwise costs four pounds ninety five. Parcels arrive in two to three working days with a tracked courier.</p>
       <h2>International</h2><p>We ship to the European Union and the United States for twelve pounds ninety five; international delivery takes five to ten working days and customs fees may apply.</p>`,
    ),
  '/same-text': () => PAGES['/shipping']?.(1) as string,
  '/returns': () =>
    page(
      'Returns and refunds',
      `<h1>Returns</h1><h2>Returning an item</h2><p>You can return any unused item within 45 days of delivery for a full refund. Start a return from your order page and print the prepaid label; the refund reaches your card within five working days of the parcel arriving.</p>
       <h2>Damaged items</h2><p>If something arrives broken, send us a photo within seven days and we will replace it free of charge or refund it, whichever you prefer.</p>`,
    ),
  '/about': () =>
    page(
      'About us',
      `<h1>About us</h1><p>Harbor &amp; Pine was founded in 2015 by two potters who met at art school. Today a team of eight makes every piece by hand in Bristol, working with three family-run furniture makers in Devon and Cornwall.</p>`,
      '<link rel="canonical" href="/about">',
    ),
  '/about-copy': () =>
    page('About us (copy)', '<h1>About</h1><p>An older copy of the about page, kept for old links.</p>', '<link rel="canonical" href="/about">'),
  '/big': () => page('Catalogue', `<h1>Catalogue</h1><p>${words('Catalogue', 20_000)}</p>`),
  '/app': () =>
    `<!doctype html><html><head><title>Configurator</title><script src="/bundle.js"></script><script>window.boot()</script></head><body>${nav}<div id="root"></div><noscript>You need to enable JavaScript to run this app.</noscript>${footer}</body></html>`,
  '/private/secret': () => page('Staff', `<h1>Staff only</h1><p>${words('Staff', 30)}</p>`),
  '/old': () =>
    page(
      'Winter sale',
      `<h1>Winter sale</h1><p>Our winter sale takes thirty percent off every oak table and chair until the end of January, while stocks last in the workshop.</p>`,
    ),
  '/docs/a': () => page('Docs A', `<h1>Docs A</h1><p>${words('Glazes', 30)}</p><a href="/docs/b">next</a>`),
  '/docs/b': () => page('Docs B', `<h1>Docs B</h1><p>${words('Kilns', 30)}</p><a href="/docs/c">next</a>`),
  '/docs/c': () => page('Docs C', `<h1>Docs C</h1><p>${words('Clay', 30)}</p>`),
}

function serveSite(host: FakeHost, state: { version: number; removed: Set<string> }) {
  const html = (body: string) => new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } })
  host.on(
    'GET',
    '/robots.txt',
    () => new Response(`User-agent: *\nDisallow: /private/\n\nSitemap: ${host.origin}/sitemap.xml\n`, { headers: { 'content-type': 'text/plain' } }),
  )
  host.on(
    'GET',
    '/sitemap.xml',
    () =>
      new Response(
        `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${host.origin}/</loc></url><url><loc>${host.origin}/shipping</loc></url><url><loc>${host.origin}/returns</loc></url><url><loc>https://elsewhere.test/sitemap-page</loc></url></urlset>`,
        { headers: { 'content-type': 'application/xml' } },
      ),
  )
  host.on('GET', '/go-away', () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.test/shop' } }))
  for (const [path, render] of Object.entries(PAGES)) {
    host.on('GET', path, () => (state.removed.has(path) ? new Response('Not found', { status: 404 }) : html(render(state.version))))
  }
}

type SourceBody = {
  source: { id: string; status: string; pages: { found: number; fetched: number; skipped: number }; chunks: number; nextSyncAt: string | null }
}
type Detail = SourceBody & { pages: { url: string; status: string; skipReason: string | null; skipDetail: string | null; chunks: number }[] }

describe('knowledge sources: crawling a local site', () => {
  let app: TestApp
  let site: FakeHost
  let owner: Customer
  let clock: ManualClock
  const state = { version: 1, removed: new Set<string>() }
  const hits = new Map<string, number>()
  let userAgent = ''

  beforeAll(async () => {
    site = await fakeHost()
    serveSite(site, state)
    clock = new ManualClock(Date.now())
    app = await createTestApp({ clock, env: { OUTBOUND_ALLOW_HOSTS: site.hostPort }, lookup: async () => [{ address: '10.0.0.1', family: 4 }] })
    app.knowledge.limits = { ...app.knowledge.limits, maxBytesPerPage: 64 * 1024, maxDepth: 2 }
    owner = await newCustomer(app)
    // Count requests per path and keep the User-Agent the crawler sent.
    const original = app.deps.outbound.request.bind(app.deps.outbound)
    app.deps.outbound.request = async (url, init) => {
      const path = new URL(url).pathname
      hits.set(path, (hits.get(path) ?? 0) + 1)
      userAgent = init?.headers?.['user-agent'] ?? userAgent
      return original(url, init)
    }
  }, 60_000)
  afterAll(async () => {
    await app?.shutdown()
    await site?.close()
  })

  const call = (method: string, path: string, json?: unknown) => app.request(path, { method, token: owner.token, ...(json ? { json } : {}) })
  const detail = async (id: string) => (await (await call('GET', `/api/knowledge/sources/${id}`)).json()) as Detail

  let sourceId = ''
  it('crawls the site: same site only, robots.txt, sitemap, canonical and content de-duplication, limits, JS-only pages', async () => {
    const res = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'site', url: `${site.origin}/` })
    expect(res.status).toBe(202)
    const created = (await res.json()) as SourceBody
    expect(created.source).toMatchObject({ status: 'queued', pages: { found: 0, fetched: 0, skipped: 0 } })
    sourceId = created.source.id
    await app.jobs.idle(60_000)

    const d = await detail(sourceId)
    expect(d.source.status).toBe('ready')
    const byPath = new Map(d.pages.map((p) => [new URL(p.url).pathname + new URL(p.url).search, p]))
    const indexed = d.pages
      .filter((p) => p.status === 'indexed')
      .map((p) => new URL(p.url).pathname)
      .sort()
    expect(indexed).toEqual(['/', '/about', '/docs/a', '/docs/b', '/old', '/pricing', '/returns', '/shipping'])
    const reason = (path: string) => byPath.get(path)?.skipReason
    expect(reason('/private/secret')).toBe('robots')
    expect(reason('/about-copy')).toBe('duplicate_canonical')
    expect(reason('/same-text')).toBe('duplicate_content')
    expect(reason('/go-away')).toBe('off_site')
    expect(byPath.get('/go-away')?.skipDetail).toMatch(/elsewhere\.test/)
    expect(reason('/big')).toBe('too_large')
    expect(reason('/app')).toBe('js_rendered')
    expect(reason('/docs/c')).toBe('depth_limit')
    expect(d.pages.find((p) => p.url === 'https://elsewhere.test/sitemap-page')?.skipReason).toBe('off_site')
    // Every skipped page says why.
    for (const p of d.pages.filter((x) => x.status === 'skipped')) expect(p.skipDetail).toBeTruthy()
    // Never requested: a disallowed path, another site, a page beyond the depth limit. A linked PDF is (pdf.test.ts).
    expect(hits.get('/private/secret')).toBeUndefined()
    expect(reason('/guide.pdf')).toBe('gone')
    expect(hits.get('/docs/c')).toBeUndefined()
    expect(hits.get('/about')).toBe(1)
    expect(userAgent).toMatch(/^IntelagentBot\/1\.0 \(\+http/)
    expect(d.source.pages).toEqual({ found: d.pages.length, fetched: 8, skipped: d.pages.length - 8 })
    expect(d.source.chunks).toBeGreaterThanOrEqual(8)
    expect(d.source.nextSyncAt).not.toBeNull()

    // Boilerplate is not indexed: no chunk carries the navigation, the footer or the cookie banner.
    const chunks = await app.deps.db.selectFrom('knowledge_chunks').selectAll().where('source_id', '=', sourceId).execute()
    expect(chunks.some((c) => /cookies|Registered in England/.test(c.text))).toBe(false)
    const plans = chunks.find((c) => c.text.includes('Studio membership'))
    expect(plans).toMatchObject({ title: 'Pricing', heading_path: 'Pricing > Plans', url: `${site.origin}/pricing` })
  }, 90_000)

  it('answers a question from one of the pages and cites it; the OpenAI prompt path ranks it first too', async () => {
    const engine = createKnowledgeEngine(app.deps)
    const result = await engine.reply(replyContext(owner.licenseId, 'How many days do I have to return an item for a refund?'), silentSink)
    expect(result.kind).toBe('answer')
    if (result.kind !== 'answer') return
    expect(result.text).toMatch(/45 days/)
    expect(result.meta?.sources).toEqual([{ url: `${site.origin}/returns`, title: 'Returns and refunds' }])
    const top = await retrieve(app.deps, owner.licenseId, 'chatbot', 'How much is the Studio membership per month?', 3)
    expect(top[0]).toMatchObject({ kind: 'chunk', url: `${site.origin}/pricing`, headingPath: 'Pricing > Plans' })
  })

  it('gives the OpenAI-compatible engine the top passages, told to answer only from them, and keeps the cited ones as sources', async () => {
    let prompt = ''
    site.on('POST', '/v1/chat/completions', async ({ request }) => {
      const body = (await request.json()) as { messages: { role: string; content: string }[] }
      prompt = body.messages[0]?.content ?? ''
      return Response.json({
        model: 'gpt-4o-mini',
        choices: [{ message: { content: 'You have 45 days to return an unused item [1].' }, finish_reason: 'stop' }],
      })
    })
    await putSecret(app.deps, owner.licenseId, 'chatbot', 'openai_api_key', 'sk-test-0123456789')
    const openai = { baseUrl: `${site.origin}/v1`, model: 'gpt-4o-mini', systemPrompt: 'You answer for Harbor & Pine.' }
    const question = 'How many days do I have to return an item for a refund?'
    const result = await createOpenAiEngine(app.deps).reply(
      { ...replyContext(owner.licenseId, question), settings: { ...defaultSettings('chatbot'), engine: 'openai', openai } },
      silentSink,
    )
    expect(prompt).toMatch(/^You answer for Harbor & Pine\.\n\nAnswer only from the numbered passages below\. Cite each passage you use as \[n\]/)
    expect(prompt).toContain(`[1] Returns and refunds > Returns > Returning an item (${site.origin}/returns)\nYou can return any unused item within 45 days`)
    expect(result).toMatchObject({ kind: 'answer', meta: { sources: [{ url: `${site.origin}/returns`, title: 'Returns and refunds' }] } })
  })

  it('stores the sources on the message and returns them to the widget', async () => {
    const { configure } = await import('../../test/fixtures.js')
    const product = await configure(app, owner, 'chatbot', { allowedOrigins: ['https://shop.example'] })
    const headers = { 'x-product-key': product.key, origin: 'https://shop.example' }
    const start = await app.request('/api/widget/conversations', { method: 'POST', headers, json: {} })
    expect(start.status).toBe(201)
    const { visitorToken, conversation } = (await start.json()) as { visitorToken: string; conversation: { id: string } }
    const sent = await app.request(`/api/widget/conversations/${conversation.id}/messages`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${visitorToken}` },
      json: { clientMessageId: 'm1', text: 'What does UK delivery cost?' },
    })
    expect(sent.status).toBe(201)
    const body = (await sent.json()) as { replies: { text: string; sources: { url: string; title: string }[] }[] }
    expect(body.replies[0]?.sources).toEqual([{ url: `${site.origin}/shipping`, title: 'Shipping and delivery' }])
  })

  it('re-syncs: changed pages re-chunked, gone pages removed, unchanged pages untouched', async () => {
    const chunkIds = async (path: string) =>
      (await app.deps.db.selectFrom('knowledge_chunks').select('id').where('url', '=', `${site.origin}${path}`).orderBy('id').execute()).map((c) =>
        String(c.id),
      )
    const shippingBefore = await chunkIds('/shipping')
    const pricingBefore = await chunkIds('/pricing')
    expect(await chunkIds('/old')).not.toEqual([])
    state.version = 2
    state.removed.add('/old')
    const res = await call('POST', `/api/knowledge/sources/${sourceId}/sync`)
    expect(res.status).toBe(202)
    await app.jobs.idle(60_000)
    expect(await chunkIds('/shipping')).toEqual(shippingBefore)
    const pricingAfter = await chunkIds('/pricing')
    expect(pricingAfter).not.toEqual(pricingBefore)
    expect(pricingAfter.length).toBeGreaterThan(0)
    expect(await chunkIds('/old')).toEqual([])
    const d = await detail(sourceId)
    expect(d.pages.find((p) => p.url.endsWith('/old'))?.skipReason).toBe('gone')
    const text = (await app.deps.db.selectFrom('knowledge_chunks').select('text').where('url', '=', `${site.origin}/pricing`).execute())
      .map((c) => c.text)
      .join(' ')
    expect(text).toContain('35 euros')
    expect(text).not.toContain('29 euros')
  }, 90_000)

  it('syncs again on schedule (weekly by default)', async () => {
    const before = (await detail(sourceId)).source
    const fetchesBefore = hits.get('/pricing') ?? 0
    expect(await app.knowledge.scheduleDue(true)).toBe(0)
    expect(Date.parse(before.nextSyncAt as string) - clock.now()).toBeGreaterThan(6.9 * 24 * 3600_000)
    // A week later (moved in the row: advancing the clock a week would expire the owner's session).
    clock.advance(60_000)
    await app.deps.db
      .updateTable('knowledge_sources')
      .set({ next_sync_at: new Date(clock.now() - 1000) })
      .where('id', '=', sourceId)
      .execute()
    const dueAt = new Date(clock.now() - 1000)
    // The background tick may find it first; either way the due time is enqueued exactly once.
    await app.knowledge.scheduleDue(true)
    await app.knowledge.scheduleDue(true)
    const scheduled = await app.deps.db.selectFrom('jobs').select('id').where('dedupe_key', 'like', `%:${sourceId}:${dueAt.toISOString()}`).execute()
    expect(scheduled).toHaveLength(1)
    await app.jobs.idle(60_000)
    expect(hits.get('/pricing')).toBe(fetchesBefore + 1)
    const after = (await detail(sourceId)).source
    expect(Date.parse(after.nextSyncAt as string) - clock.now()).toBeGreaterThan(6.9 * 24 * 3600_000)
    expect(await app.knowledge.scheduleDue(true)).toBe(0)
  }, 90_000)

  it('counts indexed pages against the plan’s knowledgePages quota', async () => {
    const res = await call('GET', '/api/usage')
    const usage = (await res.json()) as { quotas: { quota: string; used: number }[] }
    expect(usage.quotas.find((q) => q.quota === 'knowledgePages')?.used).toBe(7)
    const small = await newCustomer(app, { tier: 'starter' })
    app.deps.config.plans.starter.quotas.knowledgePages = 2
    try {
      const r = await app.request('/api/knowledge/sources', {
        method: 'POST',
        token: small.token,
        json: { product: 'chatbot', kind: 'site', url: `${site.origin}/` },
      })
      const { source } = (await r.json()) as SourceBody
      await app.jobs.idle(60_000)
      const d = (await (await app.request(`/api/knowledge/sources/${source.id}`, { token: small.token })).json()) as Detail
      expect(d.pages.filter((p) => p.status === 'indexed')).toHaveLength(2)
      expect(d.pages.some((p) => p.skipReason === 'page_limit')).toBe(true)
    } finally {
      app.deps.config.plans.starter.quotas.knowledgePages = 100
    }
  }, 90_000)

  it('indexes an uploaded Markdown file, lists by product, keeps licenses apart, and deletes with its chunks', async () => {
    const md = `# Opening hours\n\n## Weekdays\n\nThe Bristol workshop shop is open from nine in the morning to six in the evening, Monday to Friday, and visitors are always welcome to watch the potters at work.\n`
    const r = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'file', file: { name: 'hours.md', content: md } })
    expect(r.status).toBe(202)
    const { source } = (await r.json()) as SourceBody
    await app.jobs.idle(60_000)
    const chunk = await app.deps.db.selectFrom('knowledge_chunks').selectAll().where('source_id', '=', source.id).executeTakeFirstOrThrow()
    expect(chunk).toMatchObject({ title: 'Opening hours', heading_path: 'Opening hours > Weekdays', url: '' })
    const engine = createKnowledgeEngine(app.deps)
    const answer = await engine.reply(replyContext(owner.licenseId, 'When is the workshop shop open on weekdays?'), silentSink)
    expect(answer).toMatchObject({ kind: 'answer', meta: { sources: [{ url: null, title: 'Opening hours' }] } })

    const pdf = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'file', file: { name: 'guide.pdf', content: '%PDF-1.7' } })
    expect(pdf.status).toBe(422)
    const noUrl = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'page' })
    expect(noUrl.status).toBe(422)
    const inside = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'page', url: 'http://169.254.169.254/latest/meta-data' })
    expect(inside.status).toBe(400)

    const list = (await (await call('GET', '/api/knowledge/sources?product=chatbot')).json()) as { sources: { id: string }[] }
    expect(list.sources.map((s) => s.id)).toEqual([source.id, sourceId])
    expect(((await (await call('GET', '/api/knowledge/sources?product=sales-agent')).json()) as { sources: unknown[] }).sources).toEqual([])
    const other = await newCustomer(app)
    expect((await app.request(`/api/knowledge/sources/${sourceId}`, { token: other.token })).status).toBe(404)
    expect((await app.request(`/api/knowledge/sources/${sourceId}`, { method: 'DELETE', token: other.token })).status).toBe(404)
    const foreign = await engine.reply(replyContext(other.licenseId, 'How many days do I have to return an item for a refund?'), silentSink)
    expect(foreign.kind).toBe('fallback')

    expect((await call('DELETE', `/api/knowledge/sources/${sourceId}`)).status).toBe(200)
    const left = await app.deps.db.selectFrom('knowledge_chunks').select('id').where('source_id', '=', sourceId).execute()
    expect(left).toEqual([])
    expect((await call('GET', `/api/knowledge/sources/${sourceId}`)).status).toBe(404)
  }, 90_000)

  it('indexes the pages a sitemap lists, without following their links', async () => {
    const r = await call('POST', '/api/knowledge/sources', { product: 'sales-agent', kind: 'sitemap', url: `${site.origin}/sitemap.xml` })
    const { source } = (await r.json()) as SourceBody
    await app.jobs.idle(60_000)
    const d = await detail(source.id)
    expect(d.source.status).toBe('ready')
    const pages = d.pages.map((p) => [p.url.replace(site.origin, ''), p.status, p.skipReason])
    expect(pages.sort()).toEqual(
      [
        ['/', 'indexed', null],
        ['/returns', 'indexed', null],
        ['/shipping', 'indexed', null],
        ['https://elsewhere.test/sitemap-page', 'skipped', 'off_site'],
      ].sort(),
    )
  }, 90_000)
})

describe('extraction and chunking', () => {
  it('keeps headings as the path, drops boilerplate, and overlaps long sections', () => {
    const html = page('Guide', `<h1>Guide</h1><h2>Setup</h2><h3>Install</h3><p>${words('Install', 120)}</p><h2>Usage</h2><p>Use it daily.</p>`)
    const x = extractHtml(html, 'https://example.com/guide')
    expect(x.title).toBe('Guide')
    expect(x.sections.map((s) => s.headings.join(' > '))).toEqual(['Guide > Setup > Install', 'Guide > Usage'])
    expect(x.sections.map((s) => s.text).join(' ')).not.toMatch(/cookies|Registered/)
    const chunks = chunkSections(x.sections, { targetWords: 200, overlapWords: 30 })
    const install = chunks.filter((c) => c.headingPath === 'Guide > Setup > Install')
    expect(install.length).toBeGreaterThan(2)
    // The last sentences of one chunk open the next.
    const lastSentence = (install[0]?.text.match(/[^.]+\.$/)?.[0] ?? '').trim()
    const firstSentence = (install[1]?.text.match(/^[^.]+\./)?.[0] ?? '').trim()
    expect(lastSentence).not.toBe('')
    expect(install[1]?.text).toContain(lastSentence)
    expect(install[0]?.text).toContain(firstSentence)
    for (const c of install) expect(c.text.split(/\s+/).length).toBeLessThanOrEqual(205)
  })

  it('flags a JavaScript-only page', () => {
    const x = extractHtml(PAGES['/app']?.(1) as string, 'https://example.com/app')
    expect(x.jsRendered).toBe(true)
    expect(extractHtml(PAGES['/returns']?.(1) as string, 'https://example.com/returns').jsRendered).toBe(false)
  })
})
