// PDFs as knowledge: uploaded (base64 in the JSON body) and found by the crawler, read page by page in the job, each
// page's passages under "Manual.pdf > Page 2"; scans, locked and damaged files told apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, newCustomer, replyContext, silentSink } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { base64, lockedPdf, makePdf, prose, restrictedPdf } from '../../test/pdfs.js'
import { createKnowledgeEngine } from '../replies/knowledge-engine.js'
import { suggestQuestions } from '../setup/service.js'
import { chunkSections } from './chunking.js'
import { checkPdf, extractPdf, judgePdf, MAX_PDF_BYTES, PdfError, pageList } from './pdf.js'

/** A manual whose pages each answer a different question; page 3 is a scanned picture. */
const MANUAL = [
  { lines: ['Getting started', ...prose('Unpacking')] },
  {
    lines: [
      'Descaling',
      'Descale the kettle every four weeks with one sachet of citric acid',
      'dissolved in half a litre of warm water; boil it twice and rinse.',
      ...prose('Limescale'),
    ],
  },
  { image: true as const },
  { lines: ['Warranty', ...prose('Guarantee')] },
]

type Detail = {
  source: { id: string; status: string; error: string | null; chunks: number; pages: { found: number; fetched: number; skipped: number } }
  pages: { url: string; title: string | null; status: string; skipReason: string | null; skipDetail: string | null; chunks: number }[]
}

describe('reading a PDF', () => {
  it('reads each page as a section under "name > Page n", titled from the metadata, and notes the page with no text', async () => {
    const r = await extractPdf(await makePdf(MANUAL, { title: 'Kettle Manual' }), { name: 'Manual.pdf' })
    expect(r.pages).toBe(4)
    expect(r.page.title).toBe('Kettle Manual')
    expect(r.page.sections.map((s) => s.headings.join(' > '))).toEqual(['Manual.pdf > Page 1', 'Manual.pdf > Page 2', 'Manual.pdf > Page 4'])
    // Lines of one paragraph join; the heading line stands apart.
    expect(r.page.sections[1]?.text).toMatch(/^Descaling\n\nDescale the kettle every four weeks .* citric acid dissolved in half a litre/)
    expect(r.wordsPerPage[2]).toBe(0)
    expect(judgePdf(r)).toEqual({ skip: false, note: 'no text layer on page 3 (scanned or blank): not indexed.' })
    const chunks = chunkSections(r.page.sections)
    expect(chunks.map((c) => c.headingPath)).toEqual(['Manual.pdf > Page 1', 'Manual.pdf > Page 2', 'Manual.pdf > Page 4'])
    expect(chunks.every((c) => c.anchor === '')).toBe(true)
  })

  it('takes the file name as the title when the document names none, and links pages when asked', async () => {
    const r = await extractPdf(await makePdf([{ lines: prose('Filters') }]), { name: 'filters.pdf', anchors: true })
    expect(r.page.title).toBe('filters.pdf')
    expect(chunkSections(r.page.sections)[0]?.anchor).toBe('#page=1')
  })

  it('tells a scan (no text layer on any page) from a short document', async () => {
    const scan = await extractPdf(await makePdf([{ image: true }, { image: true }]), { name: 'scan.pdf' })
    expect(judgePdf(scan)).toMatchObject({
      skip: true,
      reason: 'no_text_layer',
      detail: expect.stringMatching(/^no text layer on any of its 2 pages: a scanned/),
    })
    const short = await extractPdf(await makePdf([{ lines: ['Just a title page'] }]), { name: 'short.pdf' })
    expect(judgePdf(short)).toMatchObject({ skip: true, reason: 'no_text' })
  })

  it('refuses a locked file and a damaged one with the reason, and opens one only restricted by its owner', async () => {
    await expect(checkPdf(await lockedPdf())).rejects.toMatchObject({ reason: 'encrypted' })
    // Encrypted with an empty user password (only restricted by its owner): it opens.
    await expect(checkPdf(await restrictedPdf())).resolves.toBe(1)
    const good = await makePdf(MANUAL)
    await expect(checkPdf(good)).resolves.toBe(4)
    await expect(checkPdf(good.slice(0, Math.floor(good.length / 2)))).rejects.toBeInstanceOf(PdfError)
    await expect(checkPdf(new TextEncoder().encode('PK\u0003\u0004 not a pdf at all'))).rejects.toMatchObject({ reason: 'corrupt' })
  })

  it('gives the event loop a turn between every two pages', async () => {
    const pdf = await makePdf(Array.from({ length: 12 }, (_, i) => ({ lines: prose(`Chapter ${i + 1}`) })))
    let turns = 0
    let done = false
    // `now` is asked once per page, before the page is read: it notes how many turns the event loop had by then.
    const turnsAtPage: number[] = []
    const reading = extractPdf(pdf, {
      name: 'long.pdf',
      deadline: Number.POSITIVE_INFINITY,
      now: () => {
        turnsAtPage.push(turns)
        return 0
      },
    }).finally(() => {
      done = true
    })
    while (!done) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      turns++
    }
    expect((await reading).page.sections).toHaveLength(12)
    expect(turnsAtPage).toHaveLength(12)
    for (let i = 1; i < turnsAtPage.length; i++) expect(turnsAtPage[i]).toBeGreaterThan(turnsAtPage[i - 1] as number)
  })

  it('stops at the deadline and says which pages were not read', async () => {
    let t = 0
    const r = await extractPdf(await makePdf(Array.from({ length: 5 }, (_, i) => ({ lines: prose(`Part ${i + 1}`) }))), {
      name: 'parts.pdf',
      deadline: 3,
      now: () => t++,
    })
    expect(r.stoppedAt).toBe(4)
    expect(r.page.sections).toHaveLength(3)
    expect(judgePdf(r)).toEqual({ skip: false, note: 'pages 4–5 not read: the time limit was reached.' })
    expect(pageList([1, 2, 3, 5, 7, 8])).toBe('1–3, 5, 7, 8')
  })
})

describe('PDF knowledge sources', () => {
  let app: TestApp
  let site: FakeHost
  let owner: Customer

  beforeAll(async () => {
    site = await fakeHost()
    app = await createTestApp({ env: { OUTBOUND_ALLOW_HOSTS: site.hostPort }, lookup: async () => [{ address: '10.0.0.1', family: 4 }] })
    owner = await newCustomer(app)
  }, 60_000)
  afterAll(async () => {
    await app?.shutdown()
    await site?.close()
  })

  const call = (method: string, path: string, json?: unknown, token: string | undefined = owner.token) =>
    app.request(path, { method, ...(token ? { token } : {}), ...(json ? { json } : {}) })
  const upload = (file: { name: string; content: string; contentType?: string }, token?: string) =>
    call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'file', file }, token)
  const detail = async (id: string) => (await (await call('GET', `/api/knowledge/sources/${id}`)).json()) as Detail
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

  it('indexes an uploaded PDF page by page and answers from page 2 with a citation', async () => {
    const res = await upload({ name: 'Manual.pdf', contentType: 'application/pdf', content: base64(await makePdf(MANUAL, { title: 'Kettle Manual' })) })
    expect(res.status).toBe(202)
    const { source } = (await res.json()) as Detail
    expect(source.status).toBe('queued')
    await app.jobs.idle(60_000)

    const d = await detail(source.id)
    expect(d.source).toMatchObject({ status: 'ready', error: null, pages: { found: 1, fetched: 1, skipped: 0 } })
    expect(d.pages).toEqual([
      expect.objectContaining({
        url: 'file:Manual.pdf',
        title: 'Kettle Manual',
        status: 'indexed',
        skipDetail: 'no text layer on page 3 (scanned or blank): not indexed.',
      }),
    ])
    const chunks = await app.deps.db
      .selectFrom('knowledge_chunks')
      .select(['heading_path', 'title', 'url', 'text'])
      .where('source_id', '=', source.id)
      .orderBy('position')
      .execute()
    expect(chunks.map((c) => c.heading_path)).toEqual(['Manual.pdf > Page 1', 'Manual.pdf > Page 2', 'Manual.pdf > Page 4'])
    expect(chunks.every((c) => c.title === 'Kettle Manual' && c.url === '')).toBe(true)

    const answer = await createKnowledgeEngine(app.deps).reply(replyContext(owner.licenseId, 'How often should I descale the kettle?'), silentSink)
    expect(answer.kind).toBe('answer')
    if (answer.kind !== 'answer') return
    expect(answer.text).toMatch(/every four weeks with one sachet of citric acid/)
    expect(answer.meta?.sources).toEqual([{ url: null, title: 'Kettle Manual' }])

    // A sync reads it again from the stored bytes; nothing changed, so its passages stay as they were.
    const ids = async () =>
      (await app.deps.db.selectFrom('knowledge_chunks').select('id').where('source_id', '=', source.id).execute()).map((c) => String(c.id))
    const before = await ids()
    expect((await call('POST', `/api/knowledge/sources/${source.id}/sync`)).status).toBe(202)
    await app.jobs.idle(60_000)
    expect(await ids()).toEqual(before)
    expect((await detail(source.id)).source.status).toBe('ready')
  }, 60_000)

  it('says a scanned PDF has no text layer (told by its name alone) and indexes nothing from it', async () => {
    const res = await upload({ name: 'Scanned invoice.pdf', content: base64(await makePdf([{ image: true }, { image: true }, { image: true }])) })
    expect(res.status).toBe(202)
    const { source } = (await res.json()) as Detail
    await app.jobs.idle(60_000)
    const d = await detail(source.id)
    expect(d.source).toMatchObject({ status: 'ready', chunks: 0, pages: { fetched: 0, skipped: 1 } })
    expect(d.pages[0]).toMatchObject({ status: 'skipped', skipReason: 'no_text_layer' })
    expect(d.pages[0]?.skipDetail).toMatch(/no text layer on any of its 3 pages: a scanned or image-only PDF/)
  }, 60_000)

  it('refuses a locked PDF, a damaged one, one that is not a PDF, and one that is not base64, with 422 and the code', async () => {
    const good = await makePdf(MANUAL)
    const locked = await upload({ name: 'prices.pdf', contentType: 'application/pdf', content: base64(await lockedPdf()) })
    expect(locked.status).toBe(422)
    expect(await errorCode(locked)).toBe('file_encrypted')
    const cut = await upload({ name: 'cut.pdf', content: base64(good.slice(0, Math.floor(good.length / 2))) })
    expect(cut.status).toBe(422)
    expect(await errorCode(cut)).toBe('file_corrupt')
    const zip = await upload({ name: 'notes', contentType: 'application/pdf', content: base64(new TextEncoder().encode('PK\u0003\u0004 an archive')) })
    expect(await errorCode(zip)).toBe('file_corrupt')
    const text = await upload({ name: 'guide.pdf', content: '%PDF-1.7 this is not base64!' })
    expect(text.status).toBe(422)
    expect(await errorCode(text)).toBe('validation_failed')
    // None of them became a source.
    const list = (await (await call('GET', '/api/knowledge/sources')).json()) as { sources: { fileName: string | null }[] }
    expect(list.sources.map((s) => s.fileName)).not.toContain('prices.pdf')
    expect(list.sources.map((s) => s.fileName)).not.toContain('cut.pdf')
  }, 60_000)

  it('takes a PDF up to 10 MiB in a body larger than BODY_LIMIT_BYTES, refuses a larger one, and keeps the limit on other routes', async () => {
    const padded = new Uint8Array(MAX_PDF_BYTES + 1)
    padded.set(new TextEncoder().encode('%PDF-1.7\n'))
    const over = await upload({ name: 'huge.pdf', content: base64(padded) })
    expect(over.status).toBe(413)
    expect(await errorCode(over)).toBe('payload_too_large')
    // A real PDF larger than the default 64 KiB body limit gets through.
    const big = await makePdf(Array.from({ length: 60 }, (_, i) => ({ lines: prose(`Section ${i + 1}`, 40) })))
    expect(base64(big).length).toBeGreaterThan(app.config.bodyLimitBytes)
    const ok = await upload({ name: 'big.pdf', content: base64(big) })
    expect(ok.status).toBe(202)
    // Other routes keep BODY_LIMIT_BYTES.
    const other = await call('POST', '/api/products/chatbot/knowledge', { kind: 'doc', title: 'Big', body: 'x'.repeat(app.config.bodyLimitBytes + 1) })
    expect(other.status).toBe(413)
    await app.jobs.idle(60_000)
  }, 120_000)

  it('refuses an upload without credentials or from another license', async () => {
    const content = base64(await makePdf(MANUAL))
    expect((await upload({ name: 'Manual.pdf', content }, '')).status).toBe(401)
    const other = await newCustomer(app)
    const mine = (await (await call('GET', '/api/knowledge/sources')).json()) as { sources: { id: string }[] }
    const id = mine.sources[0]?.id as string
    expect((await call('GET', `/api/knowledge/sources/${id}`, undefined, other.token)).status).toBe(404)
    const foreign = await createKnowledgeEngine(app.deps).reply(replyContext(other.licenseId, 'How often should I descale the kettle?'), silentSink)
    expect(foreign.kind).toBe('fallback')
  }, 60_000)

  it('crawls the PDFs a site links to: pages linked by #page=n, scans and locked files skipped with the reason', async () => {
    const html = (body: string) => () => new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } })
    const pdf =
      (bytes: Uint8Array, type = 'application/pdf') =>
      () =>
        new Response(Buffer.from(bytes), { headers: { 'content-type': type } })
    site.on('GET', '/robots.txt', () => new Response('User-agent: *\nAllow: /\n', { headers: { 'content-type': 'text/plain' } }))
    site.on(
      'GET',
      '/',
      html(
        `<!doctype html><html><head><title>Small appliances</title></head><body><main><h1>Small appliances</h1><p>We sell small kitchen appliances and spare parts, and every appliance comes with a printed manual that you can also download below.</p>
         <a href="/docs/Kettle%20Manual.pdf">Manual</a> <a href="/docs/scan.pdf">Scanned leaflet</a> <a href="/docs/locked.pdf">Price list</a> <a href="/download?id=7">Spare parts list</a></main></body></html>`,
      ),
    )
    site.on('GET', '/docs/Kettle%20Manual.pdf', pdf(await makePdf(MANUAL, { title: 'Kettle Manual' })))
    site.on('GET', '/docs/scan.pdf', pdf(await makePdf([{ image: true }, { image: true }])))
    site.on('GET', '/docs/locked.pdf', pdf(await lockedPdf()))
    site.on('GET', '/download', pdf(await makePdf([{ lines: ['Spare parts', ...prose('Replacement lid')] }]), 'application/pdf; name=parts.pdf'))

    const crawler = await newCustomer(app)
    const res = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'site', url: `${site.origin}/` }, crawler.token)
    expect(res.status).toBe(202)
    const { source } = (await res.json()) as Detail
    await app.jobs.idle(60_000)
    const d = (await (await call('GET', `/api/knowledge/sources/${source.id}`, undefined, crawler.token)).json()) as Detail
    expect(d.source.status).toBe('ready')
    const byPath = new Map(d.pages.map((p) => [decodeURIComponent(new URL(p.url).pathname), p]))
    expect(byPath.get('/docs/Kettle Manual.pdf')).toMatchObject({ status: 'indexed', title: 'Kettle Manual', skipDetail: expect.stringMatching(/page 3/) })
    expect(byPath.get('/download')).toMatchObject({ status: 'indexed', title: 'download' })
    expect(byPath.get('/docs/scan.pdf')).toMatchObject({ status: 'skipped', skipReason: 'no_text_layer' })
    expect(byPath.get('/docs/locked.pdf')).toMatchObject({ status: 'skipped', skipReason: 'encrypted' })

    const manual = `${site.origin}/docs/Kettle%20Manual.pdf`
    const chunks = await app.deps.db
      .selectFrom('knowledge_chunks')
      .select(['url', 'heading_path'])
      .where('source_id', '=', source.id)
      .where('url', 'like', `${manual}%`)
      .orderBy('position')
      .execute()
    expect(chunks).toEqual([
      { url: `${manual}#page=1`, heading_path: 'Kettle Manual.pdf > Page 1' },
      { url: `${manual}#page=2`, heading_path: 'Kettle Manual.pdf > Page 2' },
      { url: `${manual}#page=4`, heading_path: 'Kettle Manual.pdf > Page 4' },
    ])
    const answer = await createKnowledgeEngine(app.deps).reply(replyContext(crawler.licenseId, 'How often should I descale the kettle?'), silentSink)
    expect(answer).toMatchObject({ kind: 'answer', meta: { sources: [{ url: `${manual}#page=2`, title: 'Kettle Manual' }] } })
    // The setup agent's suggested questions come from heading paths: a PDF's "Page 2" is no topic.
    const headings = (await app.deps.db.selectFrom('knowledge_chunks').select('heading_path').where('source_id', '=', source.id).execute()).map(
      (c) => c.heading_path.split(' > ').at(-1) as string,
    )
    expect(headings).toContain('Page 2')
    expect(suggestQuestions([], headings, 'Small appliances').join(' ')).not.toMatch(/page \d/i)
  }, 90_000)

  it('skips a crawled PDF larger than the PDF limit', async () => {
    app.knowledge.limits = { ...app.knowledge.limits, maxPdfBytes: 2048 }
    try {
      site.on('GET', '/big-only', () => new Response(null, { status: 302, headers: { location: '/docs/Kettle%20Manual.pdf' } }))
      const crawler = await newCustomer(app)
      const res = await call('POST', '/api/knowledge/sources', { product: 'chatbot', kind: 'page', url: `${site.origin}/big-only` }, crawler.token)
      const { source } = (await res.json()) as Detail
      await app.jobs.idle(60_000)
      const d = (await (await call('GET', `/api/knowledge/sources/${source.id}`, undefined, crawler.token)).json()) as Detail
      expect(d.pages).toEqual([expect.objectContaining({ status: 'skipped', skipReason: 'too_large' })])
      expect(d.pages[0]?.skipDetail).toMatch(/2048/)
    } finally {
      app.knowledge.limits = { ...app.knowledge.limits, maxPdfBytes: MAX_PDF_BYTES }
    }
  }, 60_000)
})
