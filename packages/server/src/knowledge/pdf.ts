// PDF text for the knowledge index: pdf.js (bundled by unpdf for Node: no canvas, no worker, no download) reads a
// document page by page, each page a section under "Manual.pdf > Page 3". A document with no text layer (a scan)
// is told apart from a short one, and a locked or damaged file from a readable one.
import type { PDFDocumentProxy } from 'unpdf/pdfjs'
import { countWords, type ExtractedPage, MIN_WORDS, type Section } from './extract.js'

/** The largest PDF accepted: an upload (decoded from base64) or a crawled file. */
export const MAX_PDF_BYTES = 10 * 1024 * 1024
export const PDF_TYPE = 'application/pdf'
/** In a document with too little text, pages with fewer words than this are taken for scans (a scan may carry a stamp or footer as text). */
const FEW_WORDS = 5

export class PdfError extends Error {
  constructor(
    readonly reason: 'encrypted' | 'corrupt',
    message: string,
  ) {
    super(message)
    this.name = 'PdfError'
  }
}

/** Whether the bytes start like a PDF: `%PDF-` within the first KiB, where readers look for it. */
export function looksLikePdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).includes('%PDF-')
}

/** Loaded on first use: pdf.js is 1.6 MB of code a server without PDFs never needs. */
async function open(bytes: Uint8Array): Promise<PDFDocumentProxy> {
  if (!looksLikePdf(bytes)) throw new PdfError('corrupt', 'not a PDF file (it does not start with %PDF-)')
  const { getDocumentProxy } = await import('unpdf')
  try {
    // A copy: pdf.js may take the buffer over, and the caller still stores it. Verbosity 0: errors only, no
    // warnings on the console for each odd font.
    return await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false, useSystemFonts: false, stopAtErrors: false })
  } catch (err) {
    const name = (err as Error)?.name
    if (name === 'PasswordException') throw new PdfError('encrypted', 'the PDF is protected by a password; upload it without the password')
    throw new PdfError('corrupt', `the PDF cannot be read (${String((err as Error)?.message ?? err).slice(0, 200)})`)
  }
}

/**
 * Opens the document (its cross-reference table and trailer; no page is read) so an upload that is locked or
 * damaged is refused at once. Resolves to the number of pages.
 */
export async function checkPdf(bytes: Uint8Array): Promise<number> {
  const pdf = await open(bytes)
  try {
    return pdf.numPages
  } finally {
    await pdf.destroy()
  }
}

export interface PdfText {
  page: ExtractedPage
  pages: number
  /** Words on each page read, in page order (page n at n - 1); null for a page pdf.js could not read. */
  wordsPerPage: (number | null)[]
  /** The page reading stopped before, when the deadline came first; null when every page was read. */
  stoppedAt: number | null
}

export interface PdfOptions {
  /** "Manual.pdf": the first step of every page's heading path, and the title when the document names none. */
  name: string
  /** Each page's passages link to it (`#page=3`, which browsers' PDF viewers open at): for a crawled PDF. */
  anchors?: boolean
  /** Pages not begun by then are left unread (`stoppedAt`). */
  deadline?: number
  now?: () => number
  signal?: AbortSignal | undefined
}

type Item = { str: string; hasEOL: boolean; transform: number[]; height: number }

/** One page's text: lines by their baseline, paragraphs where the gap is wider than a line, hyphenated words joined. */
export function pageText(items: readonly Item[]): string {
  let out = ''
  let prev: { y: number; h: number } | null = null
  let eol = false
  for (const item of items) {
    const y = item.transform[5] ?? 0
    const h = Math.abs(item.height) || Math.abs(item.transform[3] ?? 0) || 10
    if (prev) {
      const dy = Math.abs(prev.y - y)
      if (dy > Math.max(prev.h, h) * 1.8) out += '\n\n'
      else if (eol || dy > Math.min(prev.h, h) * 0.5) out += '\n'
    }
    out += item.str
    eol = item.hasEOL
    if (item.str.trim() || eol) prev = { y, h }
  }
  return out
    .split(/\n[ \t]*\n/)
    .map((p) =>
      p
        .replace(/(\p{L})-\n(\p{Ll})/gu, '$1$2')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter(Boolean)
    .join('\n\n')
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** "1, 2, 5–9": page numbers for a sentence. */
export function pageList(pages: readonly number[]): string {
  const runs: string[] = []
  for (let i = 0; i < pages.length; i++) {
    const start = pages[i] as number
    let end = start
    while (pages[i + 1] === end + 1) end = pages[++i] as number
    runs.push(end > start + 1 ? `${start}–${end}` : end > start ? `${start}, ${end}` : `${start}`)
  }
  return runs.join(', ')
}

/**
 * Reads every page's text, one page at a time with a turn of the event loop between pages, so a long document
 * does not hold up requests served by the same process.
 */
export async function extractPdf(bytes: Uint8Array, options: PdfOptions): Promise<PdfText> {
  const now = options.now ?? Date.now
  const pdf = await open(bytes)
  try {
    let title = ''
    try {
      const { info, metadata } = await pdf.getMetadata()
      const named = metadata?.get('dc:title') ?? (info as { Title?: unknown }).Title
      if (typeof named === 'string') title = named.replace(/\s+/g, ' ').trim().slice(0, 300)
    } catch {
      // Unreadable metadata: the file name stands in.
    }
    const sections: Section[] = []
    const wordsPerPage: (number | null)[] = []
    let stoppedAt: number | null = null
    for (let n = 1; n <= pdf.numPages; n++) {
      if (options.signal?.aborted) throw options.signal.reason
      if (options.deadline !== undefined && now() >= options.deadline) {
        stoppedAt = n
        break
      }
      let text: string
      try {
        const page = await pdf.getPage(n)
        const content = await page.getTextContent()
        text = pageText(content.items.flatMap((i) => ('str' in i ? [i] : [])))
        page.cleanup()
      } catch {
        wordsPerPage.push(null)
        continue
      } finally {
        await yieldToEventLoop()
      }
      const words = countWords(text)
      wordsPerPage.push(words)
      if (words > 0) sections.push({ headings: [options.name, `Page ${n}`], text, ...(options.anchors ? { anchor: `#page=${n}` } : {}) })
    }
    const words = wordsPerPage.reduce<number>((sum, w) => sum + (w ?? 0), 0)
    const page: ExtractedPage = {
      title: title || options.name,
      canonical: null,
      links: [],
      noindex: false,
      nofollow: false,
      sections,
      words,
      jsRendered: false,
    }
    return { page, pages: pdf.numPages, wordsPerPage, stoppedAt }
  } finally {
    await pdf.destroy()
  }
}

/**
 * What the index does with a read PDF: skip it with the reason and a sentence (no text layer at all: a scan; or
 * too little text), or index it with a note on the pages that gave nothing.
 */
export function judgePdf(r: PdfText): { skip: true; reason: 'no_text_layer' | 'no_text'; detail: string } | { skip: false; note: string | null } {
  const pagesWith = (test: (w: number | null) => boolean) => r.wordsPerPage.flatMap((w, i) => (test(w) ? [i + 1] : []))
  const read = pagesWith((w) => w !== null)
  const empty = pagesWith((w) => w === 0)
  const unreadable = pagesWith((w) => w === null)
  if (r.page.words < MIN_WORDS) {
    // A scan may carry a word or two of real text (a stamp, a footer) on each page; a short document is a page of a few words.
    const scanned = read.length > 0 && read.every((n) => (r.wordsPerPage[n - 1] as number) < FEW_WORDS) && (read.length > 1 || r.page.words === 0)
    if (scanned)
      return {
        skip: true,
        reason: 'no_text_layer',
        detail: `no text layer on ${read.length === 1 ? 'its page' : `any of its ${read.length} pages`}: a scanned or image-only PDF (pictures of text). Run it through text recognition (OCR) first, or add its text as a file`,
      }
    if (read.length === 0 && unreadable.length) return { skip: true, reason: 'no_text', detail: `none of its ${unreadable.length} pages could be read` }
    return { skip: true, reason: 'no_text', detail: `too little text to index (${r.page.words} words)` }
  }
  const notes: string[] = []
  if (empty.length) notes.push(`no text layer on page${empty.length > 1 ? 's' : ''} ${pageList(empty)} (scanned or blank): not indexed`)
  if (unreadable.length) notes.push(`page${unreadable.length > 1 ? 's' : ''} ${pageList(unreadable)} could not be read`)
  if (r.stoppedAt !== null) notes.push(`pages ${r.stoppedAt}–${r.pages} not read: the time limit was reached`)
  return { skip: false, note: notes.length ? `${notes.join('; ')}.` : null }
}
