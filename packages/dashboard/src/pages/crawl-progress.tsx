// A crawl as it runs, from the live stream's knowledge.source.progress events: a progress bar (pages done of pages
// found), the page stored last, and every page skipped so far with why. Shared by Knowledge sources and the wizard.
import type { KnowledgeSource, KnowledgeSourceProgress } from '@intelagent/sdk'

/** Skipped pages kept on screen; the source's page list (Show pages) has them all. */
const MAX_SKIPPED = 200

export interface CrawlState {
  status: KnowledgeSourceProgress['status']
  pages: KnowledgeSourceProgress['pages']
  lastPage: KnowledgeSourceProgress['lastPage']
  skipped: KnowledgeSourceProgress['skippedPages']
}

/** Folds one event into what is shown; a sync that starts over (queued, or crawling from zero) starts a fresh list. */
export function applyProgress(prev: CrawlState | undefined, e: KnowledgeSourceProgress): CrawlState {
  const fresh = !prev || e.status === 'queued' || (e.status === 'crawling' && prev.status !== 'crawling')
  const seen = new Set(fresh ? [] : prev.skipped.map((s) => s.url))
  const skipped = [...(fresh ? [] : prev.skipped), ...e.skippedPages.filter((s) => !seen.has(s.url))].slice(0, MAX_SKIPPED)
  return { status: e.status, pages: e.pages, lastPage: e.lastPage ?? (fresh ? null : prev.lastPage), skipped }
}

/** What the source itself says (a reload, or the stream down): counts only, no page list. */
export const fromSource = (s: KnowledgeSource): CrawlState => ({
  status: s.status,
  pages: { found: s.pages.found, fetched: s.pages.fetched, indexed: s.pages.fetched, skipped: s.pages.skipped },
  lastPage: null,
  skipped: [],
})

const pathOf = (url: string): string => {
  try {
    const u = new URL(url)
    return u.pathname + u.search
  } catch {
    return url
  }
}

export function CrawlProgress({ name, state }: { name: string; state: CrawlState }) {
  const { found, indexed, skipped } = state.pages
  const done = indexed + skipped
  const known = found > 0
  const text =
    state.status === 'queued' ? 'Waiting to start' : known ? `${done} of ${found} pages done: ${indexed} indexed, ${skipped} skipped` : 'Looking for pages…'
  const last = state.lastPage
  return (
    <div class="crawl">
      <div
        class="progress"
        role="progressbar"
        aria-label={`Crawl of ${name}`}
        aria-valuemin={0}
        aria-valuemax={known ? found : undefined}
        aria-valuenow={known ? done : undefined}
        aria-valuetext={text}
      >
        {/* Width through the CSSOM, which a strict style-src CSP allows (unlike a style attribute in markup). */}
        <span class="progress-fill" style={{ width: `${known ? Math.min(100, Math.round((done / found) * 100)) : 0}%` }} />
      </div>
      <p class="small">{text}</p>
      {last && (
        <p class="small muted crawl-last">
          Last page: <span class="url">{pathOf(last.url)}</span> {last.status === 'indexed' ? '(indexed)' : `(skipped: ${last.skipDetail ?? last.skipReason})`}
        </p>
      )}
      {state.skipped.length > 0 && (
        <>
          <p class="small crawl-skipped-title">Skipped so far ({skipped}):</p>
          <ul class="crawl-skipped small">
            {state.skipped.map((s) => (
              <li key={s.url}>
                <span class="url">{s.url}</span>: {s.skipDetail}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  )
}
