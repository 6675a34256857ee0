// The setup agent: from one URL, a knowledge source of kind "site" (crawled by the knowledge jobs) and, once it is
// ready, a proposal (greeting, suggested questions, brand colour, allowed origin) the owner edits and applies.
// A setup is its knowledge source: the setup id is the source id, so there is no table of its own (docs/setup.md).

import type { KnowledgeSources } from '../knowledge/sources.js'
import type { Deps } from '../platform/context.js'
import type { KnowledgeSourceRow } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'

export interface Proposal {
  greeting: string
  suggestedQuestions: string[]
  brandColor: string | null
  allowedOrigin: string
}

const MAX_QUESTIONS = 5
const PAGE_BYTES = 512 * 1024
const FETCH_TIMEOUT_MS = 8_000

/** A page title without the site name after a separator ("Pricing – Harbor & Pine" → "Pricing"). */
const splitTitle = (title: string): string[] =>
  title
    .split(/\s+[|–—-]\s+|\s+·\s+/)
    .map((s) => s.trim())
    .filter(Boolean)

/** #rgb / #rrggbb → #rrggbb in lower case; anything else → null. */
export function normalizeColor(raw: string | null | undefined): string | null {
  const v = raw?.trim().toLowerCase() ?? ''
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(v)
  if (short) return `#${short[1]}${short[1]}${short[2]}${short[2]}${short[3]}${short[3]}`
  return /^#[0-9a-f]{6}$/.test(v) ? v : null
}

const attr = (tag: string, name: string): string | null => {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag)
  return m ? (m[1] ?? m[2] ?? m[3] ?? '') : null
}
const tags = (html: string, name: string): string[] => html.match(new RegExp(`<${name}\\b[^>]*>`, 'gi')) ?? []

/** `<meta name="theme-color" content="…">`, the first one that is a #colour. */
export function themeColorMeta(html: string): string | null {
  for (const t of tags(html, 'meta')) if (attr(t, 'name')?.toLowerCase() === 'theme-color') return normalizeColor(attr(t, 'content'))
  return null
}

export function manifestHref(html: string): string | null {
  for (const t of tags(html, 'link')) if (attr(t, 'rel')?.toLowerCase().split(/\s+/).includes('manifest')) return attr(t, 'href')
  return null
}

/** The colour links use most in the page's `<style>` blocks and inline `style` attributes of `<a>`. */
export function linkColor(html: string): string | null {
  const counts = new Map<string, number>()
  const add = (c: string | null) => {
    if (c) counts.set(c, (counts.get(c) ?? 0) + 1)
  }
  const colorDecl = /(?:^|[;{\s])color\s*:\s*(#[0-9a-fA-F]{3,6})\b/g
  for (const style of html.match(/<style\b[^>]*>[\s\S]*?<\/style>/gi) ?? []) {
    for (const rule of style.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
      const selectors = (rule[1] ?? '').split(',').map((s) => s.trim())
      if (!selectors.some((s) => /(^|[\s>+~])a(\b|[:.[])/i.test(s))) continue
      for (const d of (rule[2] ?? '').matchAll(colorDecl)) add(normalizeColor(d[1]))
    }
  }
  for (const t of tags(html, 'a')) for (const d of (attr(t, 'style') ?? '').matchAll(colorDecl)) add(normalizeColor(d[1]))
  let best: string | null = null
  let n = 0
  for (const [c, k] of [...counts].sort(([a], [b]) => a.localeCompare(b))) if (k > n) [best, n] = [c, k]
  return best
}

/** Five questions from the crawled pages' section headings, then their titles: deterministic, no model involved. */
export function suggestQuestions(pages: { url: string; title: string | null; depth: number }[], headings: string[], siteName: string): string[] {
  const seen = new Set<string>([siteName.toLowerCase()])
  const out: string[] = []
  const push = (topic: string) => {
    const t = topic.replace(/\s+/g, ' ').trim()
    const key = t.toLowerCase()
    // "Page 3": a PDF's page in a heading path (knowledge/pdf.ts), no topic.
    if (t.length < 3 || t.length > 80 || seen.has(key) || /^(home|welcome\b|about$|docs?\b|page \d+$)/i.test(t)) return
    seen.add(key)
    if (out.length < MAX_QUESTIONS) out.push(`Can you tell me about ${/^[A-Z][a-z]/.test(t) && !/^[A-Z]{2}/.test(t) ? t[0]?.toLowerCase() + t.slice(1) : t}?`)
  }
  for (const h of headings) push(h)
  for (const p of [...pages].sort((a, b) => a.depth - b.depth || a.url.localeCompare(b.url))) push(splitTitle(p.title ?? '')[0] ?? '')
  return out
}

/** The name the other pages' titles share ("Pricing | Harbor & Pine"), else the first part of the home page's title. */
export function siteNameOf(pages: { title: string | null }[], homeTitle: string | null): string | null {
  const counts = new Map<string, number>()
  for (const p of pages) {
    const parts = splitTitle(p.title ?? '')
    const last = parts.at(-1)
    if (parts.length > 1 && last) counts.set(last, (counts.get(last) ?? 0) + 1)
  }
  const shared = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]
  if (shared && shared[1] > 1) return shared[0]
  return splitTitle(homeTitle ?? '')[0] ?? null
}

export class SetupAgent {
  constructor(
    private deps: Pick<Deps, 'db' | 'outbound'>,
    private sources: KnowledgeSources,
  ) {}

  /** Starts a setup: a site source for the URL (validated by the outbound client), queued for its first crawl. */
  create(licenseId: string, product: string, url: string): Promise<KnowledgeSourceRow> {
    return this.sources.create(licenseId, { product, kind: 'site', url })
  }

  /** The setup's source; a file, page or sitemap source, or another license's, is not a setup. */
  async get(licenseId: string, id: string): Promise<{ source: KnowledgeSourceRow; proposal: Proposal | null }> {
    const { source, pages } = await this.sources.get(licenseId, id).catch((err: unknown) => {
      throw err instanceof AppError && err.code === 'not_found' ? notFound('Setup') : err
    })
    if (source.kind !== 'site' || !source.url) throw notFound('Setup')
    if (source.status !== 'ready') return { source, proposal: null }
    const indexed = pages.filter((p) => p.status === 'indexed')
    const chunks = await this.deps.db
      .selectFrom('knowledge_chunks')
      .select(['heading_path', 'url', 'position'])
      .where('source_id', '=', source.id)
      .orderBy('url')
      .orderBy('position')
      .execute()
    const headings = chunks.flatMap((c) => {
      const parts = c.heading_path.split(/\s*[>›]\s*/).filter(Boolean)
      return parts.length > 1 ? [parts[parts.length - 1] as string] : []
    })
    const start = new URL(source.url)
    const home = indexed.find((p) => p.url === source.url) ?? [...indexed].sort((a, b) => a.depth - b.depth)[0]
    const siteName = siteNameOf(indexed, home?.title ?? null) ?? start.hostname
    return {
      source,
      proposal: {
        greeting: `Hi! Welcome to ${siteName}. How can I help you today?`,
        suggestedQuestions: suggestQuestions(indexed, headings, siteName),
        brandColor: await this.brandColor(start.href),
        allowedOrigin: start.origin,
      },
    }
  }

  /** theme-color meta, else the web manifest's theme_color, else the most used link colour; only via the SSRF-safe client. */
  async brandColor(url: string): Promise<string | null> {
    let html: string
    try {
      const res = await this.deps.outbound.request(url, { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: PAGE_BYTES })
      if (!res.ok) {
        await res.cancel()
        return null
      }
      html = await res.text()
    } catch {
      return null
    }
    const meta = themeColorMeta(html)
    if (meta) return meta
    const href = manifestHref(html)
    if (href) {
      try {
        const res = await this.deps.outbound.request(new URL(href, url), { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: 64 * 1024 })
        if (res.ok) {
          const m = (await res.json()) as { theme_color?: unknown }
          const c = typeof m.theme_color === 'string' ? normalizeColor(m.theme_color) : null
          if (c) return c
        } else await res.cancel()
      } catch {
        // A broken manifest is no colour: fall through to the links.
      }
    }
    return linkColor(html)
  }
}
