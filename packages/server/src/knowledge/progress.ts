// A crawl's live progress for the dashboard: `knowledge.source.progress` on the license's live channel
// (platform/live.ts, GET /api/events), at most one event per interval per source (the first at once, later changes at
// the end of the interval), a status change at once. Best effort: a lost event is made good by the next one, and the
// source row stays the truth a reload reads.
import type { Deps } from '../platform/context.js'
import type { KnowledgeSourceRow } from '../platform/db.js'
import { KNOWLEDGE_PROGRESS, type KnowledgeProgress, licenseChannel } from '../platform/live.js'
import type { PageOutcome } from './crawler.js'

/** At most four events a second per source: a bar that moves smoothly, without flooding a large crawl's watchers. */
export const PROGRESS_INTERVAL_MS = 250
/** Skipped pages one event lists; past that, the counts still say how many (the source's pages say which). */
export const MAX_SKIPPED_PER_EVENT = 50

type Status = KnowledgeProgress['status']
type Pages = KnowledgeProgress['pages']
type Source = Pick<KnowledgeSourceRow, 'id' | 'license_id' | 'product'>

const NO_PAGES: Pages = { found: 0, fetched: 0, indexed: 0, skipped: 0 }

/** Publishes one event now (a status that is not a crawl's: queued, or failed by the job's last attempt). */
export async function publishProgress(
  deps: Pick<Deps, 'cache'>,
  source: Source,
  status: Status,
  options: { pages?: Pages; error?: string | null } = {},
): Promise<void> {
  const event: KnowledgeProgress = {
    sourceId: source.id,
    product: source.product as KnowledgeProgress['product'],
    status,
    pages: options.pages ?? NO_PAGES,
    lastPage: null,
    skippedPages: [],
    error: options.error ?? null,
  }
  await deps.cache.publish(licenseChannel(source.license_id), JSON.stringify({ type: KNOWLEDGE_PROGRESS, ...event }))
}

/** One running crawl's events: `page` as each page is stored, `finish` (awaited) at the end, `close` always. */
export class CrawlProgress {
  private pages: Pages = NO_PAGES
  private lastPage: KnowledgeProgress['lastPage'] = null
  private skippedPages: KnowledgeProgress['skippedPages'] = []
  private status: Status = 'crawling'
  private error: string | null = null
  /** Something changed since the last event. */
  private dirty = false
  /** Set while an interval runs: changes wait for its end. */
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Events go out one after another, in order. */
  private sending: Promise<void> = Promise.resolve()

  constructor(
    private deps: Pick<Deps, 'cache' | 'logger'>,
    private source: Source,
    private intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  /** The crawl started: announced at once. */
  start(): void {
    this.dirty = true
    this.flush()
  }

  /** A page's outcome and the counts so far. */
  page(o: Pick<PageOutcome, 'url' | 'status'> & { reason?: string; detail?: string }, pages: Pages): void {
    this.pages = { ...pages }
    const skipped = o.status === 'skipped'
    this.lastPage = { url: o.url, status: o.status, skipReason: skipped ? (o.reason ?? null) : null, skipDetail: skipped ? (o.detail ?? null) : null }
    if (skipped && this.skippedPages.length < MAX_SKIPPED_PER_EVENT)
      this.skippedPages.push({ url: o.url, skipReason: o.reason ?? '', skipDetail: o.detail ?? '' })
    this.dirty = true
    if (!this.timer) this.flush()
  }

  /** The crawl ended (ready or failed): announced at once with whatever was waiting; resolves once it is out. */
  async finish(status: 'ready' | 'failed', pages: Pages, error: string | null): Promise<void> {
    this.close()
    this.status = status
    this.pages = { ...pages }
    this.error = error
    this.dirty = true
    this.flush()
    await this.sending
  }

  /** Stops the interval: nothing more goes out (the crawl ended, or its job was aborted). */
  close(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private flush(): void {
    if (!this.dirty) return
    this.dirty = false
    const event: KnowledgeProgress = {
      sourceId: this.source.id,
      product: this.source.product as KnowledgeProgress['product'],
      status: this.status,
      pages: this.pages,
      lastPage: this.lastPage,
      skippedPages: this.skippedPages,
      error: this.error,
    }
    this.skippedPages = []
    const raw = JSON.stringify({ type: KNOWLEDGE_PROGRESS, ...event })
    this.sending = this.sending
      .then(() => this.deps.cache.publish(licenseChannel(this.source.license_id), raw))
      .catch((err) => this.deps.logger.warn('crawl progress not published', { sourceId: this.source.id, error: String(err) }))
    if (this.status !== 'crawling') return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flush()
    }, this.intervalMs)
    this.timer.unref?.()
  }
}
