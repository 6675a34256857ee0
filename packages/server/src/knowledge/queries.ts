// Retrieval for the reply engines: crawled chunks ranked by Postgres full-text search (the generated tsvector and
// its GIN index; the same SQL on PGlite) fused with the owner's Q&A index (BM25, knowledge.ts) by reciprocal rank
// fusion. Each candidate carries a confidence in [0,1] (how much of the question it covers) for the threshold.
import { sql } from 'kysely'
import { perDatabase, perTurn } from '../platform/batch.js'
import { type Db, pgArray } from '../platform/db.js'
import type { Memo } from '../platform/memo.js'
import { loadIndex, search, splitPassages, tokenize, trimText } from './knowledge.js'

/** RRF's constant: 60, as in the paper (Cormack et al. 2009) and in Chatwoot, Elastic and others. */
export const RRF_K = 60
/** Chunks read from full-text search per question, before fusion. */
const CHUNK_CANDIDATES = 20

export interface Citation {
  url: string | null
  title: string
}

export interface ChunkHit {
  id: string
  url: string
  title: string
  headingPath: string
  text: string
  rank: number
  /** Share of the question's words (stemmed by Postgres) the chunk contains. */
  coverage: number
}

export interface Candidate {
  kind: 'qa' | 'doc' | 'chunk'
  /** What the offline engine would say: a Q&A answer, or the best passage of a document or chunk. */
  answer: string
  /** The whole text (the prompt of the OpenAI-compatible engine gets this). */
  text: string
  title: string
  headingPath: string | null
  url: string | null
  itemId: string | null
  confidence: number
  score: number
}

interface ChunkSearch {
  licenseId: string
  product: string
  question: string
}

/**
 * Chunks matching any of the question's words, best first (ts_rank_cd, normalised by length), and the product's
 * knowledge version (for the Q&A index cache) read in the same statement: retrieval costs one round trip, and the
 * questions of one event-loop turn share it (platform/batch.ts), each searched on its own (a lateral join).
 */
export async function searchChunks(
  deps: { db: Db; memo: Memo },
  licenseId: string,
  product: string,
  question: string,
): Promise<{ version: string; hits: ChunkHit[] }> {
  const load = perDatabase(deps.memo, 'chunk-searches', deps.db, (db) =>
    perTurn((keys: string[]) =>
      searchMany(
        db,
        keys.map((k) => JSON.parse(k) as ChunkSearch),
      ).then((found) => new Map(keys.map((k, i) => [k, found[i]]))),
    ),
  )
  return (await load(JSON.stringify({ licenseId, product, question } satisfies ChunkSearch))) ?? { version: '0', hits: [] }
}

async function searchMany(db: Db, searches: ChunkSearch[]): Promise<{ version: string; hits: ChunkHit[] }[]> {
  // plainto_tsquery ANDs the words; a question rarely holds only words the page has, so OR them instead.
  const { rows } = await sql<{
    n: string
    version: string
    id: string | null
    url: string
    title: string
    heading_path: string
    text: string
    rank: number
    lexemes: string[]
    query_lexemes: string[]
  }>`
    with s as (
      select s.n, s.license_id, s.product,
             nullif(replace(replace(plainto_tsquery('english', s.question)::text, ' & ', ' | '), ' <-> ', ' | '), '')::tsquery as query,
             tsvector_to_array(to_tsvector('english', s.question)) as query_lexemes
      from unnest(${pgArray(searches.map((q) => q.licenseId))}::uuid[], ${pgArray(searches.map((q) => q.product))}::text[], ${pgArray(searches.map((q) => q.question))}::text[])
        with ordinality as s(license_id, product, question, n)
    )
    select s.n::text as n,
           coalesce((select version::text from knowledge_versions v where v.license_id = s.license_id and v.product = s.product), '0') as version,
           hits.*
    from s
    left join lateral (
      select c.id::text as id, c.url, c.title, c.heading_path, c.text, top.rank::float8 as rank,
             tsvector_to_array(c.tsv) as lexemes, s.query_lexemes
      from (
        select c.id, ts_rank_cd(c.tsv, s.query, 1) as rank
        from knowledge_chunks c
        where s.query is not null and c.license_id = s.license_id and c.product = s.product and c.tsv @@ s.query
        order by rank desc, c.id
        limit ${CHUNK_CANDIDATES}
      ) top join knowledge_chunks c on c.id = top.id
    ) hits on true
    order by s.n, hits.rank desc nulls last, hits.id`.execute(db)
  const out = searches.map(() => ({ version: '0', hits: [] as ChunkHit[] }))
  for (const r of rows) {
    const one = out[Number(r.n) - 1]
    if (!one) continue
    one.version = r.version
    if (r.id === null) continue
    const have = new Set(r.lexemes)
    const query = r.query_lexemes ?? []
    const coverage = query.length ? query.filter((l) => have.has(l)).length / query.length : 0
    one.hits.push({ id: r.id, url: r.url, title: r.title, headingPath: r.heading_path, text: r.text, rank: Number(r.rank), coverage })
  }
  return out
}

/** The passage of a chunk that covers most of the question (ties: the earlier one), trimmed to an answer's length. */
export function bestPassage(text: string, question: string, max = 500): string {
  const terms = new Set(tokenize(question))
  let best = ''
  let bestScore = -1
  for (const passage of splitPassages(text, 400)) {
    const words = new Set(tokenize(passage))
    let score = 0
    for (const t of terms) if (words.has(t)) score++
    if (score > bestScore) {
      best = passage
      bestScore = score
    }
  }
  return trimText(best || text, max)
}

/**
 * The owner's Q&A pairs and documents, and the crawled chunks, as one list by reciprocal rank fusion: each list
 * ranks on its own terms, and an item's score is the sum of 1/(k + rank) over the lists it appears in. Ties go to
 * the higher confidence.
 */
export async function retrieve(deps: { db: Db; memo: Memo }, licenseId: string, product: string, question: string, limit = 5): Promise<Candidate[]> {
  const { version, hits: chunks } = await searchChunks(deps, licenseId, product, question)
  const index = await loadIndex(deps, licenseId, product, version)
  const fused: Candidate[] = []
  search(index, question, CHUNK_CANDIDATES).forEach((m, i) => {
    fused.push({
      kind: m.kind,
      answer: m.answer,
      text: m.answer,
      title: m.title,
      headingPath: null,
      url: null,
      itemId: m.itemId,
      confidence: m.confidence,
      score: 1 / (RRF_K + i + 1),
    })
  })
  const seen = new Set<string>()
  let rank = 0
  for (const c of chunks) {
    // Overlapping chunks of one page section say much the same: the best one stands for them.
    const key = `${c.url}\u0000${c.headingPath}`
    if (seen.has(key)) continue
    seen.add(key)
    rank++
    fused.push({
      kind: 'chunk',
      answer: bestPassage(c.text, question),
      text: c.text,
      title: c.title,
      headingPath: c.headingPath || null,
      url: c.url || null,
      itemId: null,
      confidence: Math.round(c.coverage * 1000) / 1000,
      score: 1 / (RRF_K + rank),
    })
  }
  fused.sort((a, b) => b.score - a.score || b.confidence - a.confidence)
  return fused.slice(0, limit)
}

/** How a candidate is cited on a message: crawled ones with their URL. */
export const citationOf = (c: Candidate): Citation => ({ url: c.url, title: c.title })

/**
 * The system prompt of the OpenAI-compatible engine with the top passages appended, numbered, and the rule to
 * answer only from them and cite them as [n]. Without passages the prompt is unchanged.
 */
export function promptWithPassages(systemPrompt: string, passages: readonly Candidate[]): string {
  if (passages.length === 0) return systemPrompt
  const numbered = passages
    .map((p, i) => `[${i + 1}] ${p.title}${p.headingPath ? ` > ${p.headingPath}` : ''}${p.url ? ` (${p.url})` : ''}\n${p.text}`)
    .join('\n\n')
  return `${systemPrompt.trim() ? `${systemPrompt.trim()}\n\n` : ''}Answer only from the numbered passages below. Cite each passage you use as [n]. If they do not contain the answer, say you do not know; do not guess.\n\n${numbered}`
}

/** The passages an answer cites as [n], as the message's sources (each URL once). */
export function citedSources(text: string, passages: readonly Candidate[]): Citation[] {
  const out: Citation[] = []
  const seen = new Set<string>()
  for (const m of text.matchAll(/\[(\d{1,2})\]/g)) {
    const p = passages[Number(m[1]) - 1]
    if (p?.kind !== 'chunk') continue
    const c = citationOf(p)
    const key = `${c.url}\u0000${c.title}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(c)
  }
  return out
}
