// From a fetched page (or an uploaded file) to what the index keeps: the title, the canonical URL, the links to
// follow, and the main text as sections under their heading path. Boilerplate (navigation, header, footer, cookie
// banners, forms) is dropped before @mozilla/readability picks the main content; a page whose markup holds only
// that boilerplate and a script mount point is reported as rendered by JavaScript rather than indexed empty.
import { Readability } from '@mozilla/readability'
import { parseHTML } from 'linkedom'

export interface Section {
  /** Headings above this text, outermost first ("Pricing", "Plans"). */
  headings: string[]
  text: string
  /** A fragment its passages' URL gets: a PDF page's `#page=3`. */
  anchor?: string
}

export interface ExtractedPage {
  title: string
  /** The page's rel=canonical, resolved against its URL; null when it names none. */
  canonical: string | null
  /** Absolute http(s) links, fragments removed, in document order. */
  links: string[]
  /** `<meta name="robots" content="noindex">` (or nofollow): what the owner asked crawlers to do. */
  noindex: boolean
  nofollow: boolean
  sections: Section[]
  /** Words of main text found. */
  words: number
  /** Almost no text, and the markup is a script-driven app shell: the content appears only after JavaScript runs. */
  jsRendered: boolean
}

/** Fewer words than this in the main text and the page is not worth a chunk. */
export const MIN_WORDS = 20

const BOILERPLATE =
  'nav, header, footer, aside, script, style, noscript, template, form, iframe, svg, [role=navigation], [role=banner], [role=contentinfo], [aria-hidden=true], [hidden]'
const BOILERPLATE_NAME = /(^|[\s_-])(cookie|consent|gdpr|banner|newsletter|popup|modal|skip-link|breadcrumbs?|share|social)([\s_-]|$)/i
const BLOCKS = new Set([
  'P',
  'LI',
  'PRE',
  'BLOCKQUOTE',
  'TD',
  'TH',
  'DT',
  'DD',
  'FIGCAPTION',
  'DIV',
  'SECTION',
  'ARTICLE',
  'MAIN',
  'TR',
  'UL',
  'OL',
  'TABLE',
  'BR',
])
const HEADING = /^H([1-6])$/

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim()
export const countWords = (s: string): number => (s.match(/[\p{L}\p{N}]+/gu) ?? []).length

function absolute(href: string | null | undefined, base: string): string | null {
  if (!href) return null
  try {
    const u = new URL(href.trim(), base)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
    u.hash = ''
    return u.href
  } catch {
    return null
  }
}

type El = { tagName: string; childNodes: ArrayLike<Node>; getAttribute(n: string): string | null; textContent: string | null }
type Node = { nodeType: number; textContent: string | null } & Partial<El>

/** Walks the main content in document order: headings set the path, block elements end a paragraph. */
function sectionsOf(root: El, h1: string): Section[] {
  const sections: Section[] = []
  // Readability drops the h1 that repeats the title: the page's h1 still heads every path ("Pricing > Plans").
  const stack: { level: number; text: string }[] = h1 && !(root as unknown as ParentNode).querySelector?.('h1') ? [{ level: 1, text: h1 }] : []
  let paragraph = ''
  let current: string[] = []
  const flushParagraph = () => {
    const p = squash(paragraph)
    if (p) current.push(p)
    paragraph = ''
  }
  const flushSection = () => {
    flushParagraph()
    if (current.length) sections.push({ headings: stack.map((h) => h.text), text: current.join('\n\n') })
    current = []
  }
  const walk = (node: Node) => {
    if (node.nodeType === 3) {
      paragraph += node.textContent ?? ''
      return
    }
    if (node.nodeType !== 1 || !node.tagName) return
    const tag = node.tagName.toUpperCase()
    const h = HEADING.exec(tag)
    if (h) {
      flushSection()
      const level = Number(h[1])
      while (stack.length && (stack.at(-1) as { level: number }).level >= level) stack.pop()
      const text = squash(node.textContent ?? '')
      if (text) stack.push({ level, text })
      return
    }
    const block = BLOCKS.has(tag)
    if (block) flushParagraph()
    for (const child of Array.from(node.childNodes ?? [])) walk(child)
    if (block) flushParagraph()
    else if (tag === 'TD' || tag === 'SPAN' || tag === 'A') paragraph += ' '
  }
  walk(root as Node)
  flushSection()
  return sections
}

/** Extracts an HTML page (a crawled one, or an uploaded .html file). */
export function extractHtml(html: string, url: string): ExtractedPage {
  const { document } = parseHTML(html)
  const q = (sel: string) => document.querySelector(sel)
  const metaRobots = (q('meta[name="robots" i]')?.getAttribute('content') ?? '').toLowerCase()
  const canonical = absolute(q('link[rel="canonical" i]')?.getAttribute('href'), url)
  const title = squash(
    q('meta[property="og:title"]')?.getAttribute('content') || document.querySelector('title')?.textContent || q('h1')?.textContent || new URL(url).pathname,
  )
  const links: string[] = []
  for (const a of Array.from(document.querySelectorAll('a[href]'))) {
    const rel = (a.getAttribute('rel') ?? '').toLowerCase()
    if (rel.includes('nofollow')) continue
    const href = absolute(a.getAttribute('href'), url)
    if (href) links.push(href)
  }
  const h1 = squash(q('h1')?.textContent ?? '')
  const scripts = document.querySelectorAll('script').length
  const noscript = squash(Array.from(document.querySelectorAll('noscript'), (n) => n.textContent ?? '').join(' '))
  const mount = q('#root, #app, #__next, #__nuxt, [data-reactroot], [ng-app], app-root')
  const emptyMount = !!mount && countWords(mount.textContent ?? '') < MIN_WORDS

  // Boilerplate out, then Readability's choice of the main content; the cleaned body when it finds none.
  for (const el of Array.from(document.querySelectorAll(BOILERPLATE))) el.remove()
  for (const el of Array.from(document.querySelectorAll('[id], [class]'))) {
    const name = `${el.getAttribute('id') ?? ''} ${el.getAttribute('class') ?? ''}`
    if (BOILERPLATE_NAME.test(name) && el.tagName !== 'BODY' && el.tagName !== 'HTML') el.remove()
  }
  const body = document.body as unknown as El | null
  const bodyWords = countWords(body?.textContent ?? '')
  let root: El | null = body
  try {
    const article = new Readability(document.cloneNode(true) as unknown as Document, { charThreshold: 200 }).parse()
    if (article?.content && countWords(article.textContent ?? '') >= Math.min(MIN_WORDS, bodyWords)) {
      root = parseHTML(`<!doctype html><html><body>${article.content}</body></html>`).document.body as unknown as El
    }
  } catch {
    // Readability gives up on odd markup: the cleaned body stands in.
  }
  const sections = root ? sectionsOf(root, h1) : []
  const words = sections.reduce((n, s) => n + countWords(s.text), 0)
  const jsRendered = words < MIN_WORDS && (emptyMount || (scripts > 0 && /javascript/i.test(noscript)) || (scripts > 2 && bodyWords < MIN_WORDS))
  return {
    title,
    canonical,
    links,
    noindex: /\bnoindex\b|\bnone\b/.test(metaRobots),
    nofollow: /\bnofollow\b|\bnone\b/.test(metaRobots),
    sections,
    words,
    jsRendered,
  }
}

/** Markdown: headings (#, ##…) make the path, the rest is text; the first heading (else the file name) is the title. */
export function extractMarkdown(md: string, name: string): ExtractedPage {
  const sections: Section[] = []
  const stack: { level: number; text: string }[] = []
  let lines: string[] = []
  let title = ''
  const flush = () => {
    const text = lines
      .join('\n')
      .split(/\n\s*\n/)
      .map((p) =>
        squash(
          p
            .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
            .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/[`*_>#|]/g, ' '),
        ),
      )
      .filter(Boolean)
      .join('\n\n')
    if (text) sections.push({ headings: stack.map((h) => h.text), text })
    lines = []
  }
  for (const line of md.split(/\r?\n/)) {
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (!h) {
      lines.push(line)
      continue
    }
    flush()
    const level = (h[1] as string).length
    const text = squash(h[2] as string)
    if (!title) title = text
    while (stack.length && (stack.at(-1) as { level: number }).level >= level) stack.pop()
    stack.push({ level, text })
  }
  flush()
  return finishFile(title || name, sections)
}

/** Plain text: paragraphs under no heading, titled by the file name. */
export function extractText(text: string, name: string): ExtractedPage {
  const body = text
    .split(/\n\s*\n/)
    .map(squash)
    .filter(Boolean)
    .join('\n\n')
  return finishFile(name, body ? [{ headings: [], text: body }] : [])
}

function finishFile(title: string, sections: Section[]): ExtractedPage {
  const words = sections.reduce((n, s) => n + countWords(s.text), 0)
  return { title, canonical: null, links: [], noindex: false, nofollow: false, sections, words, jsRendered: false }
}
