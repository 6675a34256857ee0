// The default, offline reply engine: BM25 retrieval over the owner's Q&A pairs and documents, with an honest
// fallback below the product's confidence threshold. Also the knowledge CRUD queries the HTTP routes use.

import { z } from '@hono/zod-openapi'
import type { Db } from '../platform/db.js'
import { boundedSet, type Memo } from '../platform/memo.js'

export const knowledgeItemSchema = z.strictObject({
  kind: z.enum(['qa', 'doc']),
  /** The question (qa) or the document's title (doc). */
  title: z.string().trim().min(1).max(300),
  /** The answer (qa) or the document's text (doc). */
  body: z.string().trim().min(1).max(50_000),
})
export type KnowledgeInput = z.infer<typeof knowledgeItemSchema>

// ---------------------------------------------------------------------------------------------------------
// Queries (always scoped by license and product)

export async function listKnowledge(db: Db, licenseId: string, product: string) {
  return db
    .selectFrom('knowledge_items')
    .selectAll()
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

export async function addKnowledge(db: Db, licenseId: string, product: string, input: KnowledgeInput) {
  const item = await db
    .insertInto('knowledge_items')
    .values({ license_id: licenseId, product, kind: input.kind, title: input.title, body: input.body })
    .returningAll()
    .executeTakeFirstOrThrow()
  return item
}

/** True when the item existed for this license and product (anything else is the caller's 404). */
export async function deleteKnowledge(db: Db, licenseId: string, product: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('knowledge_items').where('license_id', '=', licenseId).where('product', '=', product).where('id', '=', id).executeTakeFirst()
  return Number(res.numDeletedRows) > 0
}

// ---------------------------------------------------------------------------------------------------------
// Text processing

const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between both but by can
  could did do does doing don down during each else ever few for from further get got had has have having he her here hers him his
  hey hi hello how i if im in into is it its itll ive just me might more most must my myself need no nor not now of off on once only
  or other our ours out over own please same shall she should so some such tell than thank thanks that the their theirs them then
  there these they this those through to too under until up us very want was we were what when where which while who whom whose why
  will with would you your yours yourself know like let lets ok okay`.split(/\s+/),
)

const VOWEL = /[aeiouy]/

/** Light suffix stemming (plural, -ing, -ed, -ly, final e): enough to match "refunds" to "refund" and "opening" to "open". */
export function stem(word: string): string {
  let w = word
  if (w.length <= 3 || /\d/.test(w)) return w
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`
  else if (w.endsWith('sses')) w = w.slice(0, -2)
  else if (w.endsWith('es') && w.length > 4 && !/[aeo]es$/.test(w)) w = w.slice(0, -1)
  else if (w.endsWith('s') && w.length > 3 && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1)

  const suffix = w.endsWith('ing') ? 'ing' : w.endsWith('ed') ? 'ed' : ''
  const base = suffix ? w.slice(0, -suffix.length) : w
  // "opening" → "open", but "ring" and "red" stay: the stem must keep 3 letters and a vowel.
  const stripped = suffix !== '' && base.length >= 3 && VOWEL.test(base)
  if (stripped) w = base
  // shipp(ing) → ship, but keep "ll", "ss", "zz" (call, pass, buzz).
  if (stripped && /([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1)
  if (!stripped && w.endsWith('ly') && w.length >= 6) w = w.slice(0, -2)
  // price / prices / pricing all end up as "pric".
  if (w.endsWith('e') && w.length > 3) w = w.slice(0, -1)
  return w
}

/** Lowercase unicode letter/digit runs, Latin accents folded (café = cafe), stop words removed, stemmed. */
export function tokenize(text: string): string[] {
  const out: string[] = []
  const folded = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC')
    .toLowerCase()
  for (const raw of folded.match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOP_WORDS.has(raw)) continue
    if (raw.length < 2 && !/\d/.test(raw)) continue
    out.push(stem(raw))
  }
  return out
}

/** Splits a document into passages of roughly `target` characters along paragraph, then sentence boundaries. */
export function splitPassages(text: string, target = 600): string[] {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
  const pieces: string[] = []
  for (const p of paragraphs) {
    if (p.length <= target) pieces.push(p)
    else pieces.push(...(p.match(/[^.!?]+(?:[.!?]+|$)/g) ?? [p]).map((s) => s.trim()).filter(Boolean))
  }
  const passages: string[] = []
  let current = ''
  for (const piece of pieces) {
    if (current && current.length + piece.length + 1 > target) {
      passages.push(current)
      current = piece
    } else current = current ? `${current} ${piece}` : piece
  }
  if (current) passages.push(current)
  return passages
}

/** Trims to about `max` characters at a sentence, else word, boundary. */
export function trimText(text: string, max = 500): string {
  if (text.length <= max) return text
  const cut = text.slice(0, max)
  const sentenceEnd = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('! '), cut.lastIndexOf('? '))
  if (sentenceEnd > max * 0.5) return cut.slice(0, sentenceEnd + 1)
  const space = cut.lastIndexOf(' ')
  return `${(space > max * 0.5 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, '')}…`
}

// ---------------------------------------------------------------------------------------------------------
// BM25 index

const K1 = 1.2
const B = 0.75
/** Question words weigh double: a visitor's question mostly resembles the owner's question, not the answer. */
const TITLE_WEIGHT = 2
/** The longest message the conversation stores from any engine (the n8n replies route uses the same limit). */
const MAX_ANSWER_CHARS = 4000

interface IndexedDoc {
  itemId: string
  title: string
  kind: 'qa' | 'doc'
  /** What the engine says when this document wins. */
  answer: string
  tf: Map<string, number>
  length: number
}

export interface KnowledgeIndex {
  docs: IndexedDoc[]
  df: Map<string, number>
  avgLength: number
}

export interface KnowledgeMatch {
  itemId: string
  title: string
  kind: 'qa' | 'doc'
  answer: string
  score: number
  confidence: number
}

type ItemLike = { id: string; kind: 'qa' | 'doc'; title: string; body: string }

export function buildIndex(items: readonly ItemLike[]): KnowledgeIndex {
  const docs: IndexedDoc[] = []
  const add = (item: ItemLike, answer: string, tokens: string[]) => {
    const tf = new Map<string, number>()
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1)
    docs.push({ itemId: item.id, title: item.title, kind: item.kind, answer, tf, length: tokens.length })
  }
  for (const item of items) {
    const titleTokens = tokenize(item.title)
    if (item.kind === 'qa') {
      add(item, trimText(item.body.trim(), MAX_ANSWER_CHARS), [...Array.from({ length: TITLE_WEIGHT }, () => titleTokens).flat(), ...tokenize(item.body)])
    } else {
      for (const passage of splitPassages(item.body)) add(item, trimText(passage), [...titleTokens, ...tokenize(passage)])
    }
  }
  const df = new Map<string, number>()
  for (const d of docs) for (const t of d.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1)
  const avgLength = docs.length ? docs.reduce((s, d) => s + d.length, 0) / docs.length : 0
  return { docs, df, avgLength }
}

const idf = (n: number, df: number): number => Math.log(1 + (n - df + 0.5) / (df + 0.5))

/**
 * Ranks the index against a query. Confidence blends two things in [0,1]: how much of the query's weight
 * (IDF) the best document covers — a word the knowledge never mentions counts fully against it — and the
 * BM25 score relative to a one-occurrence match of every query term at average length.
 */
export function search(index: KnowledgeIndex, query: string, limit = 3): KnowledgeMatch[] {
  const terms = [...new Set(tokenize(query))]
  const n = index.docs.length
  if (terms.length === 0 || n === 0) return []
  const weights = new Map(terms.map((t) => [t, idf(n, index.df.get(t) ?? 0)]))
  const totalWeight = [...weights.values()].reduce((a, b) => a + b, 0)
  const results: KnowledgeMatch[] = []
  for (const d of index.docs) {
    let score = 0
    let covered = 0
    for (const t of terms) {
      const f = d.tf.get(t)
      if (!f) continue
      const w = weights.get(t) ?? 0
      score += (w * (f * (K1 + 1))) / (f + K1 * (1 - B + (B * d.length) / (index.avgLength || 1)))
      covered += w
    }
    if (score <= 0) continue
    const coverage = covered / totalWeight
    const relative = Math.min(1, score / totalWeight)
    const confidence = Math.round((0.6 * coverage + 0.4 * relative) * 1000) / 1000
    results.push({ itemId: d.itemId, title: d.title, kind: d.kind, answer: d.answer, score, confidence })
  }
  results.sort((a, b) => b.score - a.score || b.confidence - a.confidence)
  return results.slice(0, limit)
}

// ---------------------------------------------------------------------------------------------------------
// Index cache

/**
 * Built indexes per (license, product), held in the app's memo (never module state) and never trusted blindly:
 * each is tagged with the product's knowledge version, which a trigger bumps on every write to its items (so
 * writes from another instance, or straight SQL, are seen), and retrieval reads the current version in the same
 * statement as its chunk search (queries.ts). A moved version rebuilds the index; nothing is checked per message.
 */
const MAX_CACHED = 500
type IndexCache = Map<string, { version: string; index: KnowledgeIndex }>
const cacheKey = (licenseId: string, product: string): string => `${licenseId}\u0000${product}`

/** The index for `version` (the one retrieval just read), from the memo or rebuilt from the items. */
export async function loadIndex(deps: { db: Db; memo: Memo }, licenseId: string, product: string, version: string): Promise<KnowledgeIndex> {
  const cache = deps.memo.slot<IndexCache>('knowledge-index', () => new Map())
  const key = cacheKey(licenseId, product)
  const hit = cache.get(key)
  if (hit && hit.version === version) {
    boundedSet(cache, key, hit, MAX_CACHED) // most recently used last
    return hit.index
  }
  // Rows listed after the version was read are as new or newer: at worst the next lookup rebuilds once more.
  const index = buildIndex(await listKnowledge(deps.db, licenseId, product))
  boundedSet(cache, key, { version, index }, MAX_CACHED)
  return index
}

// ---------------------------------------------------------------------------------------------------------
// Demo content (Harbor & Pine, a fictional homeware shop that uses the widget on its site)

export const DEMO_KNOWLEDGE: readonly KnowledgeInput[] = [
  {
    kind: 'qa',
    title: 'What are your opening hours?',
    body: 'Our shop and support team are open 9am to 5pm, Monday to Friday, and 10am to 2pm on Saturdays (UK time). We are closed on Sundays and bank holidays.',
  },
  {
    kind: 'qa',
    title: 'How much does shipping cost and how long does delivery take?',
    body: 'UK delivery is free on orders over £50, otherwise £4.95, and arrives in 2–3 working days. We ship to the EU and US for £12.95; international delivery takes 5–10 working days.',
  },
  {
    kind: 'qa',
    title: 'What is your refund and returns policy?',
    body: 'You can return any unused item within 30 days for a full refund. Start a return from your order page; once the parcel reaches us, the refund goes back to your original payment method within 5 working days.',
  },
  {
    kind: 'qa',
    title: 'How much do your products cost? Do you have a price list?',
    body: 'Prices are shown on each product page and include VAT. Most ceramics cost £18–£65 and furniture starts at £140. Subscribers to our newsletter get 10% off their first order.',
  },
  {
    kind: 'qa',
    title: 'How can I contact you?',
    body: 'Email hello@harborandpine.example or call 020 7946 0321 during opening hours. You can also leave your email in this chat and we will reply within one working day.',
  },
  {
    kind: 'qa',
    title: 'Can I track my order?',
    body: 'Yes. As soon as your order ships we email a tracking link. You can also see the status on your account page under Orders.',
  },
  {
    kind: 'qa',
    title: 'Do you offer gift cards or gift wrapping?',
    body: 'Digital gift cards from £20 to £250 are emailed instantly. Gift wrapping with a handwritten note costs £3.50 per item; choose it at checkout.',
  },
  {
    kind: 'qa',
    title: 'What does this chat assistant do? Am I talking to a bot or a real person?',
    body: 'This is the Intelagent chat widget. It answers common questions instantly from our help articles, and when it is not sure it says so and lets you leave your email so a person from our team can follow up.',
  },
  {
    kind: 'doc',
    title: 'About Harbor & Pine',
    body: `Harbor & Pine is a small homeware studio based in Bristol, founded in 2015. We make stoneware ceramics in our own workshop and work with three family-run furniture makers in Devon and Cornwall.

Sustainability: every piece is made to order in small batches, packaging is plastic-free and recyclable, and we offset the carbon of every delivery. Damaged in transit? Send us a photo within 7 days and we will replace it free of charge.

Care instructions: our stoneware is dishwasher and microwave safe. Oiled oak furniture should be wiped with a damp cloth and re-oiled once a year; we include a care kit with every furniture order.`,
  },
]
