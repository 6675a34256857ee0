// The crawler: from a start URL (a site), a sitemap or one page to the pages worth indexing, fetched only through
// the SSRF-safe outbound client. Same site only (redirects are judged hop by hop, never followed off-site),
// robots.txt respected, sitemaps followed, duplicates dropped by canonical URL and by content hash, and limits on
// pages, depth, bytes per page and time. Every page it does not index is reported with the reason. PDFs of the site
// (linked, listed or redirected to) are read page by page (pdf.ts).
import { createHash } from 'node:crypto'
import robotsParserModule from 'robots-parser'
import { type Outbound, OutboundError } from '../platform/outbound.js'
import { type ExtractedPage, extractHtml, MIN_WORDS } from './extract.js'
import { extractPdf, judgePdf, MAX_PDF_BYTES, PdfError } from './pdf.js'

// robots-parser is CommonJS whose module.exports is the function; its types describe an ES default export.
const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default

/** The product token robots.txt rules name, and the User-Agent every crawler request sends. */
export const ROBOTS_AGENT = 'IntelagentBot'
export const userAgentOf = (publicUrl: string): string => `${ROBOTS_AGENT}/1.0 (+${publicUrl}; knowledge crawler for an Intelagent chat widget)`

export interface CrawlLimits {
  /** Pages indexed at most (the plan's knowledgePages quota left for this source). */
  maxPages: number
  /** Links followed from the start URL at most this deep (0: the start page only). */
  maxDepth: number
  /** A page larger than this is skipped. */
  maxBytesPerPage: number
  /** A PDF larger than this is skipped. */
  maxPdfBytes: number
  /** The whole crawl; pages not reached by then are reported. */
  maxMs: number
  /** Requests in flight at once to the site. */
  concurrency: number
  /** Per request. */
  requestTimeoutMs: number
}

export const DEFAULT_LIMITS: Omit<CrawlLimits, 'maxPages'> = {
  maxDepth: 5,
  maxBytesPerPage: 2 * 1024 * 1024,
  maxPdfBytes: MAX_PDF_BYTES,
  maxMs: 10 * 60_000,
  concurrency: 2,
  requestTimeoutMs: 15_000,
}

/** Longest robots.txt Crawl-delay honoured (a larger one is cut to this). */
const MAX_CRAWL_DELAY_MS = 10_000
const MAX_SITEMAPS = 20
const MAX_HOPS = 5
/** Links to these are files, not pages: never fetched, never reported. */
const ASSET =
  /\.(png|jpe?g|gif|webp|svg|ico|bmp|tiff?|avif|css|js|mjs|json|xml|rss|atom|zip|gz|tgz|rar|7z|exe|dmg|pkg|msi|mp[34]|m4a|wav|ogg|webm|mov|avi|woff2?|ttf|eot|otf|docx?|xlsx?|pptx?|csv)$/i
/** A PDF by its Content-Type, or by its name when the server calls it just bytes. */
const isPdfResponse = (contentType: string, url: string) =>
  /^application\/(x-)?pdf\b/.test(contentType) || (/^application\/octet-stream\b/.test(contentType) && /\.pdf$/i.test(new URL(url).pathname))
/** "Manual.pdf": the last part of a PDF's path, the first step of its passages' heading path. */
const pdfName = (url: string) => {
  const last = new URL(url).pathname.split('/').filter(Boolean).pop() ?? ''
  try {
    return decodeURIComponent(last) || new URL(url).hostname
  } catch {
    return last
  }
}

export const SKIP_REASONS = {
  robots: 'robots.txt disallows it for IntelagentBot',
  off_site: 'it leads to another site (only the start URL’s site is crawled)',
  duplicate_canonical: 'another URL is its canonical version',
  duplicate_content: 'its text is the same as another page’s',
  too_large: 'the page is larger than the per-page limit',
  not_html: 'not an HTML page or a PDF',
  http_error: 'the server answered with an error',
  gone: 'the page no longer exists (404/410)',
  js_rendered: 'the content is rendered by JavaScript: the HTML holds only the page frame (header, footer)',
  no_text: 'too little text to index',
  no_text_layer: 'a PDF without a text layer (scanned or image-only)',
  encrypted: 'a PDF protected by a password',
  corrupt: 'a damaged file: not a readable PDF',
  noindex: 'the page asks not to be indexed (meta robots noindex)',
  page_limit: 'the plan’s page limit was reached',
  depth_limit: 'more links away from the start page than the depth limit',
  time_limit: 'the crawl’s time limit was reached first',
  fetch_failed: 'it could not be fetched (network error or timeout)',
  url_not_allowed: 'the address is not allowed (not a public http(s) address)',
} as const
export type SkipReason = keyof typeof SKIP_REASONS

export type PageOutcome =
  /** `note`: what of an indexed page was left out (a PDF's pages without text). */
  | { status: 'indexed'; url: string; depth: number; bytes: number; hash: string; page: ExtractedPage; note?: string | null }
  /** `transient`: worth trying again on the next sync; what was indexed from this page before is kept. */
  | { status: 'skipped'; url: string; depth: number; bytes: number; reason: SkipReason; detail: string; transient: boolean }

export interface CrawlInput {
  kind: 'site' | 'sitemap' | 'page'
  url: string
}

export interface CrawlDeps {
  outbound: Outbound
  userAgent: string
  now(): number
  sleep?(ms: number): Promise<void>
}

export interface CrawlSummary {
  /** Distinct URLs found (start URL, sitemaps, links). */
  found: number
  /** Pages downloaded (an answer with a body, whatever came of it). */
  fetched: number
  indexed: number
  skipped: number
}

/** Same site: the same host (a leading www. ignored) and port; http and https count as one. */
export function sameSite(a: URL, b: URL): boolean {
  const host = (u: URL) => u.hostname.toLowerCase().replace(/^www\./, '')
  const port = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80')
  const samePort = port(a) === port(b) || (!a.port && !b.port)
  return host(a) === host(b) && samePort
}

/** The form URLs are compared in: no fragment, no tracking parameters, sorted query. */
export function normalizeUrl(raw: string): string {
  const u = new URL(raw)
  u.hash = ''
  for (const k of [...u.searchParams.keys()]) if (/^(utm_|fbclid$|gclid$|mc_|ref$)/i.test(k)) u.searchParams.delete(k)
  u.searchParams.sort()
  if (u.pathname === '') u.pathname = '/'
  return u.href
}

export const contentHash = (page: ExtractedPage): string =>
  createHash('sha256')
    .update(page.title)
    .update('\u0000')
    .update(page.sections.map((s) => `${s.headings.join('>')}\u0001${s.text}`).join('\u0002'))
    .digest('hex')

function sitemapLocs(xml: string): { urls: string[]; sitemaps: string[] } {
  const decode = (s: string) =>
    s
      .trim()
      .replace(/^<!\[CDATA\[|\]\]>$/g, '')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
  const locs = [...xml.matchAll(/<loc>([\s\S]*?)<\/loc>/gi)].map((m) => decode(m[1] as string))
  return /<sitemapindex[\s>]/i.test(xml) ? { urls: [], sitemaps: locs } : { urls: locs, sitemaps: [] }
}

interface Fetched {
  url: string
  status: number
  contentType: string
  /** An HTML (or other text) response's text; '' for a PDF. */
  body: string
  /** A PDF's bytes; null for text. */
  pdf: Uint8Array | null
  bytes: number
}

/** The whole body, refused past `max` bytes (the outbound client's own cap is the larger of the page and PDF limits). */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number, host: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  const reader = stream.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > max) {
      await reader.cancel().catch(() => {})
      throw new OutboundError('response_too_large', `response from ${host} exceeds ${max} bytes`)
    }
    parts.push(value)
  }
  return Buffer.concat(parts, total)
}

type FetchResult = { ok: true; page: Fetched } | { ok: false; reason: SkipReason; detail: string; transient: boolean; url: string }

/**
 * Crawls and reports each page through `onPage` (awaited, so the caller stores as it goes) with the counts so far;
 * resolves to the counts.
 */
export async function crawl(
  input: CrawlInput,
  deps: CrawlDeps,
  limits: CrawlLimits,
  onPage: (outcome: PageOutcome, counts: Readonly<CrawlSummary>) => Promise<void>,
  signal?: AbortSignal,
): Promise<CrawlSummary> {
  const started = deps.now()
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const start = new URL(normalizeUrl(input.url))
  const headers = { 'user-agent': deps.userAgent, accept: 'text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,text/plain;q=0.5,*/*;q=0.1' }
  const timeLeft = () => limits.maxMs - (deps.now() - started)

  /**
   * One GET, redirects judged hop by hop: a hop to another site (or a disallowed path) is not followed. A PDF
   * answer (when `maxPdfBytes` allows one) is read as bytes up to that limit; anything else as text up to `maxBytes`.
   */
  const get = async (url: string, maxBytes: number, isAllowed: (u: string) => boolean, maxPdfBytes = 0): Promise<FetchResult> => {
    let current = url
    for (let hop = 0; hop <= MAX_HOPS; hop++) {
      let res: Awaited<ReturnType<Outbound['request']>>
      try {
        res = await deps.outbound.request(current, {
          headers,
          redirect: 'manual',
          maxBytes: Math.max(maxBytes, maxPdfBytes),
          timeoutMs: Math.max(1000, Math.min(limits.requestTimeoutMs, timeLeft())),
          ...(signal ? { signal } : {}),
        })
      } catch (err) {
        if (signal?.aborted) throw err
        const code = err instanceof OutboundError ? err.code : 'network'
        if (code === 'url_not_allowed') return { ok: false, reason: 'url_not_allowed', detail: (err as Error).message, transient: false, url: current }
        return { ok: false, reason: 'fetch_failed', detail: String((err as Error).message), transient: true, url: current }
      }
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location) {
        await res.cancel()
        let next: URL
        try {
          next = new URL(location, current)
        } catch {
          return { ok: false, reason: 'http_error', detail: `redirect to an invalid URL (${location.slice(0, 200)})`, transient: false, url: current }
        }
        if (!sameSite(next, start))
          return { ok: false, reason: 'off_site', detail: `redirects to ${next.host}, another site; not followed`, transient: false, url: current }
        current = normalizeUrl(next.href)
        if (!isAllowed(current))
          return {
            ok: false,
            reason: 'robots',
            detail: `redirects to ${new URL(current).pathname}, which robots.txt disallows`,
            transient: false,
            url: current,
          }
        continue
      }
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase()
      const declared = Number(res.headers.get('content-length') ?? 0)
      if (res.status === 404 || res.status === 410) {
        await res.cancel()
        return { ok: false, reason: 'gone', detail: `HTTP ${res.status}`, transient: false, url: current }
      }
      if (!res.ok) {
        await res.cancel()
        return { ok: false, reason: 'http_error', detail: `HTTP ${res.status}`, transient: res.status >= 500 || res.status === 429, url: current }
      }
      const pdf = maxPdfBytes > 0 && isPdfResponse(contentType, current)
      const limit = pdf ? maxPdfBytes : maxBytes
      if (declared > limit) {
        await res.cancel()
        return { ok: false, reason: 'too_large', detail: `${declared} bytes (limit ${limit})`, transient: false, url: current }
      }
      try {
        const data = await readCapped(res.body, limit, new URL(current).host)
        const body = pdf ? '' : new TextDecoder().decode(data)
        return { ok: true, page: { url: current, status: res.status, contentType, body, pdf: pdf ? data : null, bytes: data.byteLength } }
      } catch (err) {
        if (err instanceof OutboundError && err.code === 'response_too_large')
          return { ok: false, reason: 'too_large', detail: `more than ${limit} bytes`, transient: false, url: current }
        if (signal?.aborted) throw err
        return { ok: false, reason: 'fetch_failed', detail: String((err as Error).message), transient: true, url: current }
      }
    }
    return { ok: false, reason: 'http_error', detail: `more than ${MAX_HOPS} redirects`, transient: false, url: current }
  }

  // robots.txt: what the site allows this crawler, its Crawl-delay and the sitemaps it names.
  const robotsUrl = new URL('/robots.txt', start).href
  let robots = robotsParser(robotsUrl, '')
  const robotsRes = await get(robotsUrl, 512 * 1024, () => true)
  if (robotsRes.ok && !/html/.test(robotsRes.page.contentType)) robots = robotsParser(robotsUrl, robotsRes.page.body)
  const isAllowed = (u: string) => robots.isAllowed(u, ROBOTS_AGENT) !== false
  const crawlDelay = Math.min(MAX_CRAWL_DELAY_MS, Math.max(0, (robots.getCrawlDelay(ROBOTS_AGENT) ?? 0) * 1000))
  const concurrency = crawlDelay > 0 ? 1 : Math.max(1, limits.concurrency)

  const seen = new Set<string>()
  const queue: { url: string; depth: number }[] = []
  const byHash = new Map<string, string>()
  const counts: CrawlSummary = { found: 0, fetched: 0, indexed: 0, skipped: 0 }
  const report = async (o: PageOutcome) => {
    if (o.status === 'indexed') counts.indexed++
    else counts.skipped++
    await onPage(o, counts)
  }
  const skip = (url: string, depth: number, reason: SkipReason, detail: string = SKIP_REASONS[reason], transient = false, bytes = 0) =>
    report({ status: 'skipped', url, depth, bytes, reason, detail, transient })
  const add = async (raw: string, depth: number) => {
    let url: string
    try {
      url = normalizeUrl(raw)
    } catch {
      return
    }
    if (seen.has(url)) return
    seen.add(url)
    counts.found++
    if (!sameSite(new URL(url), start)) return skip(url, depth, 'off_site')
    queue.push({ url, depth })
  }

  // Seeds: the page itself, and for a site or sitemap every URL of its sitemaps.
  if (input.kind !== 'sitemap') await add(start.href, 0)
  if (input.kind !== 'page') {
    const sitemaps = input.kind === 'sitemap' ? [start.href] : [...robots.getSitemaps(), new URL('/sitemap.xml', start).href]
    const done = new Set<string>()
    while (sitemaps.length && done.size < MAX_SITEMAPS) {
      const sm = sitemaps.shift() as string
      if (done.has(sm)) continue
      done.add(sm)
      let smUrl: URL
      try {
        smUrl = new URL(sm)
      } catch {
        continue
      }
      if (!sameSite(smUrl, start)) continue
      const res = await get(smUrl.href, 10 * 1024 * 1024, isAllowed)
      if (!res.ok) {
        if (input.kind === 'sitemap' && done.size === 1) throw new Error(`The sitemap could not be read: ${SKIP_REASONS[res.reason]} (${res.detail})`)
        continue
      }
      const { urls, sitemaps: nested } = sitemapLocs(res.page.body)
      sitemaps.push(...nested)
      for (const u of urls) await add(u, input.kind === 'sitemap' ? 0 : 1)
    }
  }

  const visit = async ({ url, depth }: { url: string; depth: number }) => {
    if (timeLeft() <= 0) return skip(url, depth, 'time_limit')
    if (counts.indexed >= limits.maxPages) return skip(url, depth, 'page_limit', `${SKIP_REASONS.page_limit} (${limits.maxPages} pages)`)
    if (!isAllowed(url)) return skip(url, depth, 'robots')
    const res = await get(url, limits.maxBytesPerPage, isAllowed, limits.maxPdfBytes)
    if (crawlDelay) await sleep(crawlDelay)
    if (!res.ok) return skip(url, depth, res.reason, `${SKIP_REASONS[res.reason]}: ${res.detail}`, res.transient)
    counts.fetched++
    const page = res.page
    if (page.url !== url) {
      // Redirected within the site: index it under where it landed, once.
      if (seen.has(page.url) && page.url !== url) return skip(url, depth, 'duplicate_canonical', `redirects to ${page.url}, crawled on its own`)
      seen.add(page.url)
    }
    if (page.pdf) return visitPdf(page.url, depth, page.pdf)
    if (!/html|xml\+xhtml|xhtml/.test(page.contentType)) return skip(page.url, depth, 'not_html', `${SKIP_REASONS.not_html} (${page.contentType || 'no type'})`)
    const extracted = extractHtml(page.body, page.url)
    if (extracted.noindex) return skip(page.url, depth, 'noindex')
    // Links first: a page that is a duplicate or too thin still leads to the rest of the site.
    // Only a site is explored by its links; a sitemap source is the pages it lists, a page source that page.
    if (input.kind === 'site' && !extracted.nofollow) {
      for (const link of extracted.links) {
        const path = new URL(link).pathname
        if (ASSET.test(path)) continue
        if (!sameSite(new URL(link), start)) continue
        if (depth + 1 > limits.maxDepth) {
          const n = normalizeUrl(link)
          if (!seen.has(n)) {
            seen.add(n)
            counts.found++
            await skip(n, depth + 1, 'depth_limit', `${SKIP_REASONS.depth_limit} (${limits.maxDepth})`)
          }
          continue
        }
        await add(link, depth + 1)
      }
    }
    if (extracted.canonical) {
      let canonical: string | null = null
      try {
        canonical = normalizeUrl(extracted.canonical)
      } catch {}
      if (canonical && canonical !== page.url && sameSite(new URL(canonical), start)) {
        if (!seen.has(canonical)) await add(canonical, depth)
        return skip(page.url, depth, 'duplicate_canonical', `its canonical URL is ${canonical}`)
      }
    }
    if (extracted.jsRendered) return skip(page.url, depth, 'js_rendered', SKIP_REASONS.js_rendered, false, page.bytes)
    if (extracted.words < MIN_WORDS) return skip(page.url, depth, 'no_text', `${SKIP_REASONS.no_text} (${extracted.words} words)`, false, page.bytes)
    await index(page.url, depth, page.bytes, extracted, null)
  }

  /** A page worth indexing, unless its text is another page's or the page limit was reached. */
  const index = async (url: string, depth: number, bytes: number, extracted: ExtractedPage, note: string | null) => {
    const hash = contentHash(extracted)
    const twin = byHash.get(hash)
    if (twin) return skip(url, depth, 'duplicate_content', `${SKIP_REASONS.duplicate_content}: ${twin}`, false, bytes)
    byHash.set(hash, url)
    if (counts.indexed >= limits.maxPages) return skip(url, depth, 'page_limit', `${SKIP_REASONS.page_limit} (${limits.maxPages} pages)`)
    await report({ status: 'indexed', url, depth, bytes, hash, page: extracted, note })
  }

  /** A PDF of the site: its pages read in turn (each passage links to its page), its title from its metadata. */
  const visitPdf = async (url: string, depth: number, data: Uint8Array) => {
    let read: Awaited<ReturnType<typeof extractPdf>>
    try {
      read = await extractPdf(data, { name: pdfName(url), anchors: true, deadline: started + limits.maxMs, now: deps.now, signal })
    } catch (err) {
      if (err instanceof PdfError) return skip(url, depth, err.reason, `${SKIP_REASONS[err.reason]}: ${err.message}`, false, data.byteLength)
      throw err
    }
    const verdict = judgePdf(read)
    if (verdict.skip) return skip(url, depth, verdict.reason, verdict.detail, false, data.byteLength)
    await index(url, depth, data.byteLength, read.page, verdict.note)
  }

  // A small pool of workers taking the queue in order (breadth first): polite to the one host it crawls.
  let active = 0
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (signal?.aborted) return reject(signal.reason)
      while (active < concurrency && queue.length) {
        const next = queue.shift() as { url: string; depth: number }
        active++
        visit(next).then(
          () => {
            active--
            pump()
          },
          (err) => reject(err),
        )
      }
      if (active === 0 && queue.length === 0) resolve()
    }
    pump()
  })
  return counts
}
