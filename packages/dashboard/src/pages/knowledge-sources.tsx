// Knowledge sources of a widget product: add a site, sitemap, page or file; watch the crawl live (the license's event
// stream; polled only while the stream is down); see every page, indexed or skipped with the reason; sync now; delete.
import type { KnowledgeSource, KnowledgeSourceKind, KnowledgeSourcePage, WidgetProduct } from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, useAction, useLoad } from '../components.js'
import { formatWhen } from '../format.js'
import { useLiveEvents, usePollUnlessLive } from '../live.js'
import { applyProgress, CrawlProgress, type CrawlState, fromSource } from './crawl-progress.js'

/** How often the list is fetched again while a source is queued or crawling and the live stream is down. */
const POLL_MS = 2000
/** What the server takes (knowledge/sources.ts, knowledge/pdf.ts): a text file's characters, a PDF's bytes. */
const MAX_TEXT_CHARS = 500_000
const MAX_PDF_BYTES = 10 * 1024 * 1024

type Upload = { name: string; content: string; contentType?: string }

/** A PDF's bytes as base64, the way the API takes them (read by the browser, not held as a string of bytes). */
const readBase64 = (f: File) =>
  new Promise<string>((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''))
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'))
    reader.readAsDataURL(f)
  })

const KINDS: { value: KnowledgeSourceKind; label: string }[] = [
  { value: 'site', label: 'Website (crawl from a start URL and its sitemap)' },
  { value: 'sitemap', label: 'Sitemap (every page it lists)' },
  { value: 'page', label: 'Single page' },
  { value: 'file', label: 'File (.pdf, .txt, .md, .html)' },
]

const STATUS: Record<KnowledgeSource['status'], string> = { queued: 'Queued', crawling: 'Crawling…', ready: 'Ready', failed: 'Failed' }

const busyStatus = (s: KnowledgeSource) => s.status === 'queued' || s.status === 'crawling'

export function KnowledgeSourcesPanel({ product, manage }: { product: WidgetProduct; manage: boolean }) {
  const sources = useLoad(async () => (await api.knowledge.sources.list({ product })).data, [product])
  const [crawls, setCrawls] = useState<Record<string, CrawlState>>({})
  const live = useLiveEvents((e) => {
    if (e.type !== 'knowledge.source.progress' || e.product !== product) return
    setCrawls((prev) => ({ ...prev, [e.sourceId]: applyProgress(prev[e.sourceId], e) }))
    if (!sources.data) return
    // A sync that ended, or a source this list lacks (added elsewhere): read the list once (passages, sync times), but
    // not on every step of a crawl. Otherwise the event says it all. (A source deleted mid-crawl is not announced again.)
    const known = sources.data.some((s) => s.id === e.sourceId)
    const ended = e.status === 'ready' || e.status === 'failed'
    if (ended || (!known && e.status === 'queued')) return sources.reload()
    if (!known) return
    const pages = { found: e.pages.found, fetched: e.pages.indexed, skipped: e.pages.skipped }
    sources.set((list) => list?.map((s) => (s.id === e.sourceId ? { ...s, status: e.status, error: e.error, pages } : s)))
  })
  usePollUnlessLive(live, sources.data?.some(busyStatus) ?? false, sources.reload, POLL_MS)

  return (
    <>
      <h3>Knowledge sources</h3>
      <p class="hint">
        The bot also answers from your website: add a start URL, a sitemap, a page or a file (a PDF, text, Markdown or HTML). Pages are fetched by IntelagentBot
        (it follows robots.txt), re-synced weekly, and answers link to the page they come from.
      </p>
      <ErrorNote error={sources.error} />
      {sources.loading && !sources.data && <p class="muted">Loading sources…</p>}
      {sources.data?.length === 0 && <p class="muted">No sources yet.</p>}
      {sources.data && sources.data.length > 0 && (
        <ul class="plain sources">
          {sources.data.map((s) => (
            <SourceItem
              key={s.id}
              source={s}
              crawl={crawls[s.id]}
              manage={manage}
              onChanged={sources.reload}
              onDeleted={() => {
                // Gone at once: a crawl still running on it may announce itself once more, and must not bring it back.
                sources.set((list) => list?.filter((x) => x.id !== s.id))
                sources.reload()
              }}
            />
          ))}
        </ul>
      )}
      {manage && <AddSourceForm product={product} onAdded={sources.reload} />}
    </>
  )
}

function SourceItem({
  source: s,
  crawl,
  manage,
  onChanged,
  onDeleted,
}: {
  source: KnowledgeSource
  crawl: CrawlState | undefined
  manage: boolean
  onChanged: () => void
  onDeleted: () => void
}) {
  const { busy, error, run } = useAction()
  const [open, setOpen] = useState(false)
  const name = s.url ?? s.fileName ?? s.id
  const sync = () => run(() => api.knowledge.sources.sync(s.id)).then((ok) => ok && onChanged())
  const remove = () => {
    if (!confirm(`Delete ${name}? The bot forgets everything it learned from it.`)) return
    // Its page list would be read again by a crawl event arriving meanwhile, and answer 404.
    setOpen(false)
    void run(() => api.knowledge.sources.delete(s.id)).then((ok) => ok && onDeleted())
  }
  return (
    <li class="source">
      <p>
        <strong>{name}</strong> <span class="muted">({KINDS.find((k) => k.value === s.kind)?.value})</span>
      </p>
      {/* Only the status is announced: the counts change a few times a second while a crawl runs. */}
      <p>
        <span aria-live="polite" class={`status ${s.status === 'ready' ? 'status-active' : s.status === 'failed' ? 'status-revoked' : ''}`}>
          {STATUS[s.status]}
        </span>{' '}
        {!busyStatus(s) && (
          <>
            {s.pages.fetched} pages indexed, {s.pages.skipped} skipped of {s.pages.found} found · {s.chunks} passages
            {s.lastSyncedAt ? ` · synced ${formatWhen(s.lastSyncedAt)}` : ''}
          </>
        )}
      </p>
      {busyStatus(s) && <CrawlProgress name={name} state={crawl?.status === s.status ? crawl : fromSource(s)} />}
      {s.error && <p class="note note-error">{s.error}</p>}
      <ErrorNote error={error} />
      <div class="actions">
        <button type="button" class="button-secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide pages' : 'Show pages'}
        </button>
        {manage && (
          <>
            <button type="button" class="button-secondary" onClick={sync} disabled={busy || busyStatus(s)}>
              Sync now
            </button>
            <button type="button" class="button-danger" onClick={remove} disabled={busy}>
              Delete
            </button>
          </>
        )}
      </div>
      {open && <SourcePages id={s.id} name={name} version={`${s.status}:${s.updatedAt}`} />}
    </li>
  )
}

function SourcePages({ id, name, version }: { id: string; name: string; version: string }) {
  const detail = useLoad(() => api.knowledge.sources.get(id), [id, version])
  const pages: KnowledgeSourcePage[] = detail.data?.pages ?? []
  return (
    <>
      <ErrorNote error={detail.error} />
      {detail.loading && !detail.data && <p class="muted">Loading pages…</p>}
      {detail.data && pages.length === 0 && <p class="muted">No pages yet.</p>}
      {pages.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: on a phone the table scrolls sideways; a scrolling region must take keyboard focus (axe scrollable-region-focusable)
        <section class="table-wrap" tabIndex={0} aria-label={`Pages of ${name}, scrollable table`}>
          <table>
            <caption class="visually-hidden">Pages of {name}</caption>
            <thead>
              <tr>
                <th scope="col">Page</th>
                <th scope="col">Status</th>
                <th scope="col">Why skipped, or what was left out</th>
              </tr>
            </thead>
            <tbody>
              {pages.map((p) => (
                <tr key={p.url}>
                  <th scope="row">
                    {/^https?:\/\//.test(p.url) ? (
                      <a href={p.url} target="_blank" rel="noopener noreferrer">
                        {p.title ?? p.url}
                      </a>
                    ) : (
                      (p.title ?? p.url)
                    )}
                    <br />
                    <span class="muted small">{p.url}</span>
                  </th>
                  <td>
                    <span class={`status ${p.status === 'indexed' ? 'status-active' : ''}`}>
                      {p.status === 'indexed' ? `Indexed (${p.chunks})` : 'Skipped'}
                    </span>
                  </td>
                  <td>{p.skipDetail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  )
}

function AddSourceForm({ product, onAdded }: { product: WidgetProduct; onAdded: () => void }) {
  const [kind, setKind] = useState<KnowledgeSourceKind>('site')
  const [url, setUrl] = useState('')
  const [file, setFile] = useState<Upload | null>(null)
  // A new file input after each upload: the last file is not offered again.
  const [fileInput, setFileInput] = useState(0)
  const { busy, error, run, setError } = useAction()
  const id = (f: string) => `${product}-src-${f}`

  async function pick(e: Event) {
    const f = (e.currentTarget as HTMLInputElement).files?.[0]
    if (!f) return setFile(null)
    setError(null)
    if (f.type === 'application/pdf' || /\.pdf$/i.test(f.name)) {
      if (f.size > MAX_PDF_BYTES) {
        setError(new Error('That PDF is larger than 10 MB; split it, or add its text as a file.'))
        return setFile(null)
      }
      return setFile({ name: f.name, content: await readBase64(f), contentType: 'application/pdf' })
    }
    const text = await f.text()
    if (text.length > MAX_TEXT_CHARS) {
      setError(new Error('That file holds more than 500 000 characters; split it, or add the page by URL.'))
      return setFile(null)
    }
    setFile({ name: f.name, content: text })
  }

  async function add(e: Event) {
    e.preventDefault()
    const ok = await run(() =>
      api.knowledge.sources.create(kind === 'file' ? { product, kind, ...(file ? { file } : {}) } : { product, kind, url: url.trim() }),
    )
    if (ok) {
      setUrl('')
      setFile(null)
      setFileInput((n) => n + 1)
      onAdded()
    }
  }

  return (
    <form class="stack" onSubmit={add}>
      <div class="row">
        <label for={id('kind')}>Add a source</label>
        <select id={id('kind')} value={kind} onChange={(e) => setKind(e.currentTarget.value as KnowledgeSourceKind)}>
          {KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
      </div>
      {kind === 'file' ? (
        <div class="row">
          <label for={id('file')}>File</label>
          <input
            key={fileInput}
            id={id('file')}
            type="file"
            required
            accept=".pdf,.txt,.md,.markdown,.html,.htm,application/pdf,text/plain,text/markdown,text/html"
            onChange={pick}
          />
        </div>
      ) : (
        <div class="row">
          <label for={id('url')}>URL</label>
          <input
            id={id('url')}
            type="url"
            required
            maxLength={2000}
            placeholder="https://www.example.com/"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
        </div>
      )}
      <ErrorNote error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Add source
        </button>
      </div>
    </form>
  )
}
