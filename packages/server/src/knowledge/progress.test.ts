// A crawl's progress reaches the dashboard's event stream live (GET /api/events, event knowledge.source.progress):
// in order, ending in ready or failed, across instances, throttled per source, only to its license and to callers
// that may read knowledge sources.
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, newCustomer } from '../../test/fixtures.js'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import type { Cache } from '../platform/cache.js'
import { KNOWLEDGE_PROGRESS, type KnowledgeProgress, licenseChannel } from '../platform/live.js'
import type { Logger } from '../platform/logger.js'
import { CrawlProgress, MAX_SKIPPED_PER_EVENT } from './progress.js'

type Progress = KnowledgeProgress
const page = (title: string, main: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title></head><body><nav><a href="/">Home</a></nav><main>${main}</main></body></html>`
const text = (topic: string) => Array.from({ length: 12 }, (_, i) => `${topic} fact ${i} is written down here for the crawler.`).join(' ')

/** The `event:` / `data:` pairs of an SSE text. */
function events(raw: string): { event: string; data: unknown }[] {
  return raw
    .split('\n\n')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n')
      return event ? { event, data: data ? JSON.parse(data) : null } : null
    })
    .filter((e): e is { event: string; data: unknown } => e !== null)
}
const progressOf = (raw: string, sourceId?: string): Progress[] =>
  events(raw)
    .filter((e) => e.event === KNOWLEDGE_PROGRESS)
    .map((e) => e.data as Progress)
    .filter((p) => !sourceId || p.sourceId === sourceId)

describe('crawl progress on the live event stream', () => {
  let store: TestStore
  let one: TestApp
  let two: TestApp
  let site: FakeHost
  let owner: Customer
  let other: Customer
  let release: () => void = () => {}
  let gate = Promise.resolve()
  const holdSlowPage = () => {
    gate = new Promise<void>((resolve) => {
      release = resolve
    })
  }
  let slowAnswered = false

  beforeAll(async () => {
    site = await fakeHost()
    const html = (body: string) => () => new Response(body, { headers: { 'content-type': 'text/html' } })
    site.on('GET', '/robots.txt', () => new Response('User-agent: *\nAllow: /\n', { headers: { 'content-type': 'text/plain' } }))
    site.on(
      'GET',
      '/',
      html(
        page(
          'Home',
          `<h1>Home</h1><p>${text('Home')}</p><a href="/a">A</a> <a href="/b">B</a> <a href="/app">App</a> <a href="/gone">Old</a> <a href="/slow">Slow</a>`,
        ),
      ),
    )
    site.on('GET', '/a', html(page('A', `<h1>A</h1><p>${text('Glaze')}</p>`)))
    site.on('GET', '/b', html(page('B', `<h1>B</h1><p>${text('Kiln')}</p>`)))
    site.on('GET', '/app', html('<!doctype html><html><head><title>App</title><script src="/app.js"></script></head><body><div id="root"></div></body></html>'))
    // The last page answers only when the test says so: the crawl is caught half way.
    site.on('GET', '/slow', async () => {
      await gate
      slowAnswered = true
      return html(page('Slow', `<h1>Slow</h1><p>${text('Clay')}</p>`))()
    })
    store = await createStore()
    const env = {
      JWT_SECRET: randomBytes(32).toString('base64url'),
      KEY_PEPPER: randomBytes(32).toString('base64url'),
      OUTBOUND_ALLOW_HOSTS: site.hostPort,
    }
    one = await createTestApp({ store, env })
    // The streams are held on an API-only instance: every event crosses from the crawling one.
    two = await createTestApp({ store, env: { ...env, JOBS_CONCURRENCY: '0' }, sharedDeps: one.deps })
    owner = await newCustomer(one)
    other = await newCustomer(one)
  }, 60_000)
  afterAll(async () => {
    release()
    await two?.shutdown()
    await one?.shutdown()
    await site?.close()
    await store?.drop()
  })

  const apiKey = async (scopes: string[]) => {
    const res = await one.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: scopes.join(' '), scopes } })
    expect(res.status).toBe(201)
    return ((await res.json()) as { key: string }).key
  }

  it('streams queued, crawling with pages as they are stored, then ready; only to the license and to callers that read knowledge', async () => {
    const streams = {
      owner: new StreamReader(await two.request('/api/events', { token: owner.token })),
      reader: new StreamReader(await two.request('/api/events', { token: await apiKey(['conversations:read', 'settings:read']) })),
      conversationsOnly: new StreamReader(await two.request('/api/events', { token: await apiKey(['conversations:read']) })),
      other: new StreamReader(await two.request('/api/events', { token: other.token })),
    }
    for (const s of Object.values(streams)) expect(await s.until((t) => t.includes('event: ready'))).toContain('event: ready')
    holdSlowPage()

    const res = await one.request('/api/knowledge/sources', {
      method: 'POST',
      token: owner.token,
      json: { product: 'chatbot', kind: 'site', url: `${site.origin}/` },
    })
    expect(res.status).toBe(202)
    const sourceId = ((await res.json()) as { source: { id: string } }).source.id

    // Half way (the last page held back): the pages stored so far are already on the stream, with why one was skipped.
    const skippedSoFar = (t: string) => new Set(progressOf(t, sourceId).flatMap((p) => p.skippedPages.map((s) => new URL(s.url).pathname)))
    const midway = await streams.owner.until((t) => {
      const last = progressOf(t, sourceId).at(-1)
      return !!last && last.pages.indexed >= 3 && skippedSoFar(t).has('/app') && skippedSoFar(t).has('/gone')
    }, 20_000)
    const during = progressOf(midway, sourceId)
    expect(during.at(-1)).toMatchObject({ status: 'crawling', product: 'chatbot', pages: { indexed: 3, skipped: 2 } })
    expect(slowAnswered).toBe(false)
    const row = await one.deps.db.selectFrom('knowledge_sources').select('status').where('id', '=', sourceId).executeTakeFirstOrThrow()
    expect(row.status).toBe('crawling')
    const skipped = during.flatMap((p) => p.skippedPages)
    expect(skipped.find((s) => s.url.endsWith('/app'))).toMatchObject({ skipReason: 'js_rendered', skipDetail: expect.stringMatching(/JavaScript/) })
    expect(skipped.find((s) => s.url.endsWith('/gone'))).toMatchObject({ skipReason: 'gone', skipDetail: expect.stringMatching(/404/) })
    // The page stored last, with its outcome (the ones before it went out in earlier events or were folded in).
    const last = during.at(-1)?.lastPage
    expect(['/', '/a', '/b', '/app', '/gone'].map((path) => `${site.origin}${path}`)).toContain(last?.url)
    expect(last?.status).toBe(last?.url.endsWith('/app') || last?.url.endsWith('/gone') ? 'skipped' : 'indexed')

    release()
    const all = progressOf(await streams.owner.until((t) => progressOf(t, sourceId).some((p) => p.status === 'ready'), 20_000), sourceId)
    // In order: queued, crawling (the counts only grow), ready last with the counts the source keeps.
    expect(all.map((p) => p.status).join(' ')).toMatch(/^queued( crawling)+ ready$/)
    const done = all.map((p) => p.pages.indexed + p.pages.skipped)
    expect(done).toEqual([...done].sort((a, b) => a - b))
    const ready = all.at(-1) as Progress
    const { source } = (await (await one.request(`/api/knowledge/sources/${sourceId}`, { token: owner.token })).json()) as {
      source: { pages: { found: number; fetched: number; skipped: number } }
    }
    expect(ready.pages).toEqual({ found: source.pages.found, fetched: 5, indexed: source.pages.fetched, skipped: source.pages.skipped })
    expect(ready.pages).toMatchObject({ found: 6, indexed: 4, skipped: 2 })
    expect(ready.error).toBeNull()

    // A key that may read conversations but not knowledge sources, and another license, hear none of it.
    const reader = await streams.reader.until((t) => progressOf(t, sourceId).some((p) => p.status === 'ready'))
    expect(progressOf(reader, sourceId).at(-1)?.status).toBe('ready')
    expect(progressOf(await streams.conversationsOnly.for(200))).toEqual([])
    expect(progressOf(await streams.other.for(200))).toEqual([])
    for (const s of Object.values(streams)) await s.close()
  }, 60_000)

  it('ends in failed with the error when the crawl fails', async () => {
    const stream = new StreamReader(await two.request('/api/events', { token: owner.token }))
    await stream.until((t) => t.includes('event: ready'))
    const res = await one.request('/api/knowledge/sources', {
      method: 'POST',
      token: owner.token,
      json: { product: 'sales-agent', kind: 'sitemap', url: `${site.origin}/missing-sitemap.xml` },
    })
    const sourceId = ((await res.json()) as { source: { id: string } }).source.id
    const all = progressOf(await stream.until((t) => progressOf(t, sourceId).some((p) => p.status === 'failed'), 20_000), sourceId)
    expect(all.map((p) => p.status)).toEqual(['queued', 'crawling', 'failed'])
    expect(all.at(-1)).toMatchObject({ product: 'sales-agent', error: expect.stringMatching(/sitemap could not be read/) })
    await stream.close()
  })

  it('does not announce the end of a crawl whose source was deleted meanwhile', async () => {
    holdSlowPage()
    const stream = new StreamReader(await two.request('/api/events', { token: owner.token }))
    await stream.until((t) => t.includes('event: ready'))
    const res = await one.request('/api/knowledge/sources', {
      method: 'POST',
      token: owner.token,
      json: { product: 'chatbot', kind: 'site', url: `${site.origin}/` },
    })
    const sourceId = ((await res.json()) as { source: { id: string } }).source.id
    await stream.until((t) => progressOf(t, sourceId).some((p) => p.pages.indexed >= 3), 20_000)
    expect((await one.request(`/api/knowledge/sources/${sourceId}`, { method: 'DELETE', token: owner.token })).status).toBe(200)
    release()
    await one.jobs.idle(20_000)
    const statuses = progressOf(await stream.for(300), sourceId).map((p) => p.status)
    expect(statuses[0]).toBe('queued')
    expect(statuses.slice(1).every((s) => s === 'crawling')).toBe(true)
    await stream.close()
  })
})

describe('CrawlProgress throttling', () => {
  const source = { id: 'ks_000000000000000000000001', license_id: '00000000-0000-4000-8000-000000000001', product: 'chatbot' }
  const quiet = { debug() {}, info() {}, warn() {}, error() {} } satisfies Logger
  const published: Progress[] = []
  const cache = {
    async publish(channel: string, raw: string) {
      expect(channel).toBe(licenseChannel(source.license_id))
      const { type, ...data } = JSON.parse(raw) as Progress & { type: string }
      expect(type).toBe(KNOWLEDGE_PROGRESS)
      published.push(data)
    },
  } as unknown as Cache
  const counts = (n: number) => ({ found: 100, fetched: n, indexed: n - Math.floor(n / 2), skipped: Math.floor(n / 2) })
  const flushed = () => new Promise((r) => setImmediate(r))

  afterEach(() => {
    vi.useRealTimers()
    published.length = 0
  })

  it('sends the first change at once, later ones at most once per interval with every page skipped meanwhile, and the end at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const live = new CrawlProgress({ cache, logger: quiet }, source, 250)
    live.start()
    for (let n = 1; n <= 120; n++) {
      const skipped = n % 2 === 0
      live.page(
        skipped
          ? { url: `https://s.example/${n}`, status: 'skipped', reason: 'no_text', detail: 'too little text' }
          : { url: `https://s.example/${n}`, status: 'indexed' },
        counts(n),
      )
    }
    await flushed()
    // The start; every page since waits for the interval's end.
    expect(published.map((p) => p.status)).toEqual(['crawling'])
    vi.advanceTimersByTime(249)
    await flushed()
    expect(published).toHaveLength(1)
    vi.advanceTimersByTime(1)
    await flushed()
    expect(published).toHaveLength(2)
    expect(published[1]).toMatchObject({
      status: 'crawling',
      pages: counts(120),
      lastPage: { url: 'https://s.example/120', status: 'skipped', skipReason: 'no_text' },
    })
    // 60 skipped pages in the interval: the first 50 listed, the counts say the rest.
    expect(published[1]?.skippedPages).toHaveLength(MAX_SKIPPED_PER_EVENT)
    expect(published[1]?.skippedPages[0]).toEqual({ url: 'https://s.example/2', skipReason: 'no_text', skipDetail: 'too little text' })
    // A quiet interval sends nothing; the next change goes out at once.
    vi.advanceTimersByTime(1000)
    await flushed()
    expect(published).toHaveLength(2)
    live.page({ url: 'https://s.example/121', status: 'indexed' }, counts(121))
    live.page({ url: 'https://s.example/122', status: 'indexed' }, counts(122))
    await flushed()
    expect(published.map((p) => p.lastPage?.url)).toEqual([undefined, 'https://s.example/120', 'https://s.example/121'])
    // The end does not wait for the interval, and carries what was waiting.
    await live.finish('ready', counts(122), null)
    expect(published.at(-1)).toMatchObject({ status: 'ready', pages: counts(122), lastPage: { url: 'https://s.example/122' } })
    expect(published).toHaveLength(4)
    vi.advanceTimersByTime(1000)
    await flushed()
    expect(published).toHaveLength(4)
  })
})
