// Knowledge sources: what the owner points the bot at (a site, a sitemap, a page, an uploaded file), crawled by a
// durable job into pages and chunks. A sync re-chunks changed pages, removes gone ones and leaves unchanged ones
// alone (by content hash); each finished sync schedules the next (weekly by default).
import { type Kysely, sql } from 'kysely'
import type { Deps } from '../platform/context.js'
import type { Database, KnowledgePageRow, KnowledgeSourceRow } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { newId } from '../platform/ids.js'
import { enqueue, type JobHandler, type Jobs } from '../platform/jobs.js'
import { OutboundError } from '../platform/outbound.js'
import { planOf } from '../platform/plans.js'
import { chunkSections } from './chunking.js'
import {
  type CrawlLimits,
  type CrawlSummary,
  contentHash,
  crawl,
  DEFAULT_LIMITS,
  type PageOutcome,
  SKIP_REASONS,
  type SkipReason,
  userAgentOf,
} from './crawler.js'
import { type ExtractedPage, extractHtml, extractMarkdown, extractText, MIN_WORDS } from './extract.js'
import { checkPdf, extractPdf, judgePdf, MAX_PDF_BYTES, PDF_TYPE, PdfError } from './pdf.js'
import { CrawlProgress, PROGRESS_INTERVAL_MS, publishProgress } from './progress.js'

export const CRAWL_JOB = 'knowledge.crawl'
export const SOURCE_KINDS = ['site', 'sitemap', 'page', 'file'] as const
export type SourceKind = (typeof SOURCE_KINDS)[number]
/** Text file types an upload may be (by name): text, Markdown, HTML. A PDF is told by its name or content type. */
export const FILE_TYPES = /\.(txt|text|md|markdown|html?|xhtml)$/i
export const MAX_FILE_CHARS = 500_000
/** A PDF is sent as base64 in the JSON body: the create route's body limit (platform/route.ts) makes room for it. */
export const UPLOAD_BODY_BYTES = Math.ceil(MAX_PDF_BYTES / 3) * 4 + 64 * 1024
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
/** How often an instance looks for sources due a scheduled sync. */
const SCHEDULE_CHECK_MS = 60_000
const DAY_MS = 24 * 3600_000

export interface SourceInput {
  product: string
  kind: SourceKind
  url?: string | undefined
  /** A PDF (by `contentType` application/pdf or a .pdf name) has its bytes in `content` as base64. */
  file?: { name: string; content: string; contentType?: string | undefined } | undefined
}

/** Whether an upload is a PDF: by its content type, or by its name when the type says nothing more precise. */
export const isPdfUpload = (file: { name: string; contentType?: string | undefined }): boolean =>
  file.contentType?.split(';')[0]?.trim().toLowerCase() === PDF_TYPE || /\.pdf$/i.test(file.name)

/** Every column but the uploaded file itself: the list is polled every two seconds while a crawl runs. */
const SUMMARY_COLUMNS = [
  'id',
  'license_id',
  'product',
  'kind',
  'url',
  'file_name',
  'status',
  'error',
  'pages_found',
  'pages_fetched',
  'pages_skipped',
  'chunks',
  'sync_every_days',
  'next_sync_at',
  'last_synced_at',
  'created_at',
  'updated_at',
] as const
type SourceSummary = Omit<KnowledgeSourceRow, 'file_body' | 'file_bytes'>

interface CrawlPayload {
  sourceId: string
  /** Set on scheduled runs: the run is stale (and does nothing) once the source's next_sync_at moved on (a sync ran meanwhile). */
  scheduledAt?: string
}

/** A source as its license may see it (the uploaded file itself stays inside). */
export function publicSource(s: SourceSummary) {
  return {
    id: s.id,
    product: s.product as 'chatbot' | 'sales-agent',
    kind: s.kind,
    url: s.url,
    fileName: s.file_name,
    status: s.status,
    error: s.error,
    pages: { found: s.pages_found, fetched: s.pages_fetched, skipped: s.pages_skipped },
    chunks: s.chunks,
    syncEveryDays: s.sync_every_days,
    lastSyncedAt: s.last_synced_at?.toISOString() ?? null,
    nextSyncAt: s.next_sync_at?.toISOString() ?? null,
    createdAt: s.created_at.toISOString(),
    updatedAt: s.updated_at.toISOString(),
  }
}

export function publicPage(p: KnowledgePageRow) {
  return {
    url: p.url,
    title: p.title,
    status: p.status,
    skipReason: p.skip_reason,
    skipDetail: p.skip_detail,
    depth: p.depth,
    bytes: p.bytes,
    chunks: p.chunks,
    fetchedAt: p.fetched_at.toISOString(),
  }
}

/** Pages indexed by every source of the license, plus its hand-written items: the knowledgePages gauge (src/usage). */
export async function knowledgePagesUsed(db: Kysely<Database>, licenseId: string, exceptSource?: string): Promise<number> {
  let pages = db
    .selectFrom('knowledge_pages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('license_id', '=', licenseId)
    .where('status', '=', 'indexed')
  if (exceptSource) pages = pages.where('source_id', '!=', exceptSource)
  const [p, i] = await Promise.all([
    pages.executeTakeFirstOrThrow(),
    db
      .selectFrom('knowledge_items')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('license_id', '=', licenseId)
      .executeTakeFirstOrThrow(),
  ])
  return Number(p.n) + Number(i.n)
}

function extractFile(name: string, content: string): ExtractedPage {
  if (/\.(md|markdown)$/i.test(name)) return extractMarkdown(content, name)
  if (/\.(html?|xhtml)$/i.test(name)) return extractHtml(content, `https://file.invalid/${encodeURIComponent(name)}`)
  return extractText(content, name)
}

/** One per app: the routes' operations and the crawl job; `limits` is open so tests can shrink it. */
export class KnowledgeSources {
  limits: Omit<CrawlLimits, 'maxPages'> = { ...DEFAULT_LIMITS }
  /** Words per chunk and overlap. */
  chunking = { targetWords: 220, overlapWords: 40 }
  /** At most one live progress event per source this often (progress.ts). */
  progressIntervalMs = PROGRESS_INTERVAL_MS

  constructor(
    private deps: Deps,
    jobs: Jobs,
  ) {
    jobs.register<CrawlPayload>(CRAWL_JOB, this.job())
    jobs.addTick(() => this.scheduleDue())
  }

  private checkedAt = Number.NEGATIVE_INFINITY

  /**
   * The schedule: at most once a minute per instance, a crawl job for every source whose next sync is due (its
   * dedupe key names the due time, so instances racing here enqueue it once). Resolves to how many were enqueued.
   */
  async scheduleDue(force = false): Promise<number> {
    const now = this.deps.clock.now()
    if (!force && now - this.checkedAt < SCHEDULE_CHECK_MS) return 0
    this.checkedAt = now
    const due = await this.deps.db
      .selectFrom('knowledge_sources')
      .select(['id', 'next_sync_at'])
      .where('next_sync_at', '<=', new Date(now))
      .where('status', 'in', ['ready', 'failed'])
      .orderBy('next_sync_at')
      .limit(100)
      .execute()
    let n = 0
    for (const s of due) {
      const scheduledAt = (s.next_sync_at as Date).toISOString()
      const id = await enqueue(this.deps.db, CRAWL_JOB, { sourceId: s.id, scheduledAt } satisfies CrawlPayload, {
        dedupeKey: `${CRAWL_JOB}:${s.id}:${scheduledAt}`,
        maxAttempts: 3,
      })
      if (id) n++
    }
    return n
  }

  get db() {
    return this.deps.db
  }

  async create(licenseId: string, input: SourceInput): Promise<KnowledgeSourceRow> {
    let url: string | null = null
    let file: { name: string; body: string | null; bytes: Uint8Array | null } | null = null
    if (input.kind === 'file') {
      if (!input.file) throw new AppError('validation_failed', 'file: required when kind is "file" ({name, content})')
      file = isPdfUpload(input.file) ? await readPdfUpload(input.file) : readTextUpload(input.file)
    } else {
      if (!input.url) throw new AppError('validation_failed', `url: required when kind is "${input.kind}"`)
      try {
        url = (await this.deps.outbound.checkUrl(input.url)).href
      } catch (err) {
        if (err instanceof OutboundError) throw new AppError('url_not_allowed', `url: must be a public http(s) URL (${err.message})`)
        throw err
      }
    }
    const created = await this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('knowledge_sources')
        .values({
          id: newId('ks'),
          license_id: licenseId,
          product: input.product,
          kind: input.kind,
          url,
          file_name: file?.name ?? null,
          file_body: file?.body ?? null,
          file_bytes: file?.bytes ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      await enqueue(trx, CRAWL_JOB, { sourceId: row.id } satisfies CrawlPayload, { dedupeKey: `${CRAWL_JOB}:${row.id}:now`, maxAttempts: 3 })
      return row
    })
    await publishProgress(this.deps, created, 'queued')
    return created
  }

  list(licenseId: string, product?: string): Promise<SourceSummary[]> {
    let q = this.deps.db.selectFrom('knowledge_sources').select(SUMMARY_COLUMNS).where('license_id', '=', licenseId)
    if (product) q = q.where('product', '=', product)
    return q.orderBy('created_at', 'desc').orderBy('id').execute()
  }

  async get(licenseId: string, id: string): Promise<{ source: KnowledgeSourceRow; pages: KnowledgePageRow[] }> {
    const source = await this.deps.db.selectFrom('knowledge_sources').selectAll().where('license_id', '=', licenseId).where('id', '=', id).executeTakeFirst()
    if (!source) throw notFound('Knowledge source')
    const pages = await this.deps.db
      .selectFrom('knowledge_pages')
      .selectAll()
      .where('source_id', '=', id)
      .orderBy(sql`status = 'indexed'`, 'desc')
      .orderBy('url')
      .execute()
    return { source, pages }
  }

  /** Queues a sync now (a sync already queued or running is left to finish). */
  async sync(licenseId: string, id: string): Promise<KnowledgeSourceRow> {
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('knowledge_sources')
        .set({ status: sql`case when status = 'crawling' then status else 'queued' end`, updated_at: sql`now()` })
        .where('license_id', '=', licenseId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      if (!row) throw notFound('Knowledge source')
      await enqueue(trx, CRAWL_JOB, { sourceId: id } satisfies CrawlPayload, { dedupeKey: `${CRAWL_JOB}:${id}:now`, maxAttempts: 3 })
      return row
    })
    if (row.status === 'queued') await publishProgress(this.deps, row, 'queued')
    return row
  }

  /** Deletes the source with its pages and chunks (foreign keys cascade). */
  async delete(licenseId: string, id: string): Promise<KnowledgeSourceRow> {
    const row = await this.deps.db.deleteFrom('knowledge_sources').where('license_id', '=', licenseId).where('id', '=', id).returningAll().executeTakeFirst()
    if (!row) throw notFound('Knowledge source')
    return row
  }

  private job(): JobHandler<CrawlPayload> {
    return {
      run: async (payload, job) => {
        const source = await this.deps.db.selectFrom('knowledge_sources').selectAll().where('id', '=', payload.sourceId).executeTakeFirst()
        if (!source) return
        if (payload.scheduledAt && source.next_sync_at?.toISOString() !== payload.scheduledAt) return
        await this.run(source, job.signal)
      },
      onDead: async (trx, payload, error) => {
        const row = await trx
          .updateTable('knowledge_sources')
          // The next scheduled try waits its full interval rather than the next minute's check.
          .set({
            status: 'failed',
            error: error.slice(0, 500),
            next_sync_at: sql`case when kind = 'file' then null else now() + sync_every_days * interval '1 day' end`,
            updated_at: sql`now()`,
          })
          .where('id', '=', payload.sourceId)
          .returningAll()
          .executeTakeFirst()
        // Announced before the commit (the hook runs inside it): the event carries all a watcher needs.
        if (row)
          await publishProgress(this.deps, row, 'failed', {
            pages: { found: row.pages_found, fetched: row.pages_fetched, indexed: row.pages_fetched, skipped: row.pages_skipped },
            error: row.error,
          })
      },
    }
  }

  /** One sync of one source: crawl (or read the file), store what changed, remove what is gone, schedule the next. */
  async run(source: KnowledgeSourceRow, signal?: AbortSignal): Promise<void> {
    const db = this.deps.db
    const id = source.id
    await db
      .updateTable('knowledge_sources')
      .set({ status: 'crawling', error: null, pages_found: 0, pages_fetched: 0, pages_skipped: 0, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute()
    const license = await db.selectFrom('licenses').select('tier').where('id', '=', source.license_id).executeTakeFirst()
    const quota = planOf(this.deps.config.plans, license?.tier ?? 'starter').quotas.knowledgePages
    const maxPages = Math.max(0, quota - (await knowledgePagesUsed(db, source.license_id, id)))
    const existing = new Map((await db.selectFrom('knowledge_pages').selectAll().where('source_id', '=', id).execute()).map((p) => [p.url, p]))
    const kept = new Set<string>()
    const progress: CrawlSummary = { found: 0, fetched: 0, indexed: 0, skipped: 0 }
    let lastProgress = 0
    const live = new CrawlProgress(this.deps, source, this.progressIntervalMs)
    live.start()

    const store = async (o: PageOutcome, counts?: Readonly<CrawlSummary>) => {
      kept.add(o.url)
      const before = existing.get(o.url)
      if (counts) Object.assign(progress, counts)
      else if (o.status === 'indexed') progress.indexed++
      else progress.skipped++
      progress.found = Math.max(progress.found, progress.indexed + progress.skipped)
      if (o.status === 'skipped' && o.transient && before?.status === 'indexed') {
        // A hiccup (timeout, 5xx): keep what was indexed from this page until a sync reaches it again.
        await db.updateTable('knowledge_pages').set({ skip_detail: o.detail }).where('id', '=', before.id).execute()
      } else if (o.status === 'indexed' && before?.status === 'indexed' && before.content_hash === o.hash) {
        // Unchanged: its chunks stay as they are.
        await db
          .updateTable('knowledge_pages')
          .set({ fetched_at: sql`now()`, skip_detail: o.note ?? null })
          .where('id', '=', before.id)
          .execute()
      } else {
        await this.savePage(source, before, o)
      }
      // Progress: live to the dashboard's stream, and on the row (for a reload) at most twice a second.
      live.page(o.status === 'skipped' ? { url: o.url, status: o.status, reason: o.reason, detail: o.detail } : o, progress)
      const now = this.deps.clock.now()
      if (now - lastProgress > 500) {
        lastProgress = now
        await db
          .updateTable('knowledge_sources')
          .set({ pages_found: progress.found, pages_fetched: progress.indexed, pages_skipped: progress.skipped, updated_at: sql`now()` })
          .where('id', '=', id)
          .execute()
      }
    }

    let error: string | null = null
    let found = 0
    try {
      if (source.kind === 'file') {
        found = 1
        // Read from the row, not downloaded: one page found and fetched.
        Object.assign(progress, { found: 1, fetched: 1 })
        await store(await this.readFile(source, maxPages, signal))
      } else {
        const summary = await crawl(
          { kind: source.kind, url: source.url as string },
          { outbound: this.deps.outbound, userAgent: userAgentOf(this.deps.config.publicUrl), now: () => this.deps.clock.now() },
          { ...this.limits, maxPages },
          store,
          signal,
        )
        found = summary.found
      }
    } catch (err) {
      live.close()
      if (signal?.aborted) throw err
      error = String((err as Error)?.message ?? err).slice(0, 500)
    }

    const pages = { ...progress, found: Math.max(found, progress.indexed + progress.skipped) }
    const stored = await db.transaction().execute(async (trx) => {
      // Gone pages (no longer linked, in the sitemap, or answering) leave with their chunks; a failed crawl removes nothing.
      const gone = error ? [] : [...existing.values()].filter((p) => !kept.has(p.url)).map((p) => p.id)
      if (gone.length) await trx.deleteFrom('knowledge_pages').where('id', 'in', gone).execute()
      const chunks = await trx
        .selectFrom('knowledge_chunks')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('source_id', '=', id)
        .executeTakeFirstOrThrow()
      const nextAt = new Date(this.deps.clock.now() + source.sync_every_days * DAY_MS)
      nextAt.setUTCMilliseconds(0)
      return trx
        .updateTable('knowledge_sources')
        .set({
          status: error ? 'failed' : 'ready',
          error,
          pages_found: pages.found,
          pages_fetched: pages.indexed,
          pages_skipped: pages.skipped,
          chunks: Number(chunks.n),
          last_synced_at: new Date(this.deps.clock.now()),
          next_sync_at: source.kind === 'file' ? null : nextAt,
          updated_at: sql`now()`,
        })
        .where('id', '=', id)
        .executeTakeFirst()
    })
    // After the commit: a watcher that reloads on `ready` reads the finished source. A source deleted meanwhile is
    // not announced again.
    if (Number(stored.numUpdatedRows) > 0) await live.finish(error ? 'failed' : 'ready', pages, error)
    else live.close()
  }

  /** An uploaded file as the one page it is: indexed, or skipped with the reason (a scanned PDF, too little text). */
  private async readFile(source: KnowledgeSourceRow, maxPages: number, signal?: AbortSignal): Promise<PageOutcome> {
    const name = source.file_name ?? 'file.txt'
    const url = `file:${name}`
    const bytes = source.file_bytes?.byteLength ?? Buffer.byteLength(source.file_body ?? '')
    const skipped = (reason: SkipReason, detail: string): PageOutcome => ({ status: 'skipped', url, depth: 0, bytes, reason, detail, transient: false })
    let page: ExtractedPage
    let note: string | null = null
    if (source.file_bytes) {
      const now = () => this.deps.clock.now()
      let read: Awaited<ReturnType<typeof extractPdf>>
      try {
        read = await extractPdf(source.file_bytes, { name, deadline: now() + this.limits.maxMs, now, signal })
      } catch (err) {
        // Checked when uploaded; a file stored before that check, or one pdf.js reads differently now, lands here.
        if (err instanceof PdfError) return skipped(err.reason, `${SKIP_REASONS[err.reason]}: ${err.message}`)
        throw err
      }
      const verdict = judgePdf(read)
      if (verdict.skip) return skipped(verdict.reason, verdict.detail)
      page = read.page
      note = verdict.note
    } else {
      page = extractFile(name, source.file_body ?? '')
      if (page.words < MIN_WORDS) return skipped('no_text', `too little text to index (${page.words} words)`)
    }
    if (maxPages < 1) return skipped('page_limit', 'the plan’s page limit was reached')
    return { status: 'indexed', url, depth: 0, bytes, hash: contentHash(page), page, note }
  }

  private async savePage(source: KnowledgeSourceRow, before: KnowledgePageRow | undefined, o: PageOutcome): Promise<void> {
    const indexed = o.status === 'indexed'
    const chunks = indexed ? chunkSections(o.page.sections, this.chunking) : []
    await this.deps.db.transaction().execute(async (trx) => {
      const values = {
        title: indexed ? o.page.title : (before?.title ?? null),
        status: o.status,
        skip_reason: indexed ? null : o.reason,
        skip_detail: indexed ? (o.note ?? null) : o.detail,
        content_hash: indexed ? o.hash : null,
        depth: o.depth,
        bytes: o.bytes,
        chunks: chunks.length,
        fetched_at: new Date(this.deps.clock.now()),
      }
      let pageId = before?.id
      if (pageId) {
        await trx.updateTable('knowledge_pages').set(values).where('id', '=', pageId).execute()
        await trx.deleteFrom('knowledge_chunks').where('page_id', '=', pageId).execute()
      } else {
        pageId = newId('kp')
        await trx
          .insertInto('knowledge_pages')
          .values({ id: pageId, source_id: source.id, license_id: source.license_id, url: o.url, ...values })
          .onConflict((oc) => oc.columns(['source_id', 'url']).doUpdateSet(values))
          .execute()
        const row = await trx.selectFrom('knowledge_pages').select('id').where('source_id', '=', source.id).where('url', '=', o.url).executeTakeFirstOrThrow()
        pageId = row.id
        await trx.deleteFrom('knowledge_chunks').where('page_id', '=', pageId).execute()
      }
      if (indexed && chunks.length) {
        const url = o.url.startsWith('file:') ? '' : o.url
        await trx
          .insertInto('knowledge_chunks')
          .values(
            chunks.map((c) => ({
              page_id: pageId as string,
              source_id: source.id,
              license_id: source.license_id,
              product: source.product,
              position: c.position,
              url: url && c.anchor ? `${url}${c.anchor}` : url,
              title: o.page.title.slice(0, 500),
              heading_path: c.headingPath.slice(0, 1000),
              text: c.text,
            })),
          )
          .execute()
      }
    })
  }
}

/** A text upload: its type from its name, at most MAX_FILE_CHARS characters. */
function readTextUpload(file: NonNullable<SourceInput['file']>) {
  if (!FILE_TYPES.test(file.name))
    throw new AppError('validation_failed', 'file.name: text (.txt), Markdown (.md), HTML (.html) and PDF (.pdf) files are supported')
  if (file.content.length > MAX_FILE_CHARS) throw new AppError('validation_failed', `file.content: a text file may hold at most ${MAX_FILE_CHARS} characters`)
  return { name: file.name, body: file.content, bytes: null }
}

/**
 * A PDF upload: base64, at most MAX_PDF_BYTES, and a document pdf.js can open (a locked or damaged file is refused
 * here, with a 422, rather than failing later in the job). Its pages are read by the job.
 */
async function readPdfUpload(file: NonNullable<SourceInput['file']>) {
  const content = file.content.replace(/\s+/g, '')
  if (content.length % 4 !== 0 || !BASE64.test(content)) throw new AppError('validation_failed', 'file.content: a PDF is sent as its bytes in base64')
  const bytes = Buffer.from(content, 'base64')
  if (bytes.byteLength > MAX_PDF_BYTES)
    throw new AppError(
      'payload_too_large',
      `file: a PDF may be at most ${MAX_PDF_BYTES / 1024 / 1024} MiB (this one is ${(bytes.byteLength / 1024 / 1024).toFixed(1)} MiB)`,
    )
  try {
    await checkPdf(bytes)
  } catch (err) {
    if (err instanceof PdfError) throw new AppError(err.reason === 'encrypted' ? 'file_encrypted' : 'file_corrupt', `file: ${err.message}`)
    throw err
  }
  return { name: file.name, body: null, bytes }
}
