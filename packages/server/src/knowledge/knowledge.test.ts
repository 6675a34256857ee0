import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newLicense, replyContext, silentSink } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { createKnowledgeEngine } from '../replies/knowledge-engine.js'
import type { ReplyEngine } from '../replies/types.js'
import {
  addKnowledge,
  buildIndex,
  DEMO_KNOWLEDGE,
  deleteKnowledge,
  knowledgeItemSchema,
  listKnowledge,
  search,
  splitPassages,
  tokenize,
  trimText,
} from './knowledge.js'

describe('tokenize', () => {
  it('lowercases, folds accents, drops stop words and punctuation, keeps unicode letters and digits', () => {
    expect(tokenize('What are YOUR opening-hours, Café?')).toEqual(['open', 'hour', 'caf'])
    expect(tokenize('Open 9am–5pm')).toEqual(['open', '9am', '5pm'])
    expect(tokenize('Öffnungszeiten café')).toEqual(tokenize('offnungszeiten CAFE'))
    expect(tokenize('营业时间')).toEqual(['营业时间'])
  })

  it('stems plurals and -ing/-ed/-ly so word forms meet', () => {
    const same = (a: string, b: string) => expect(tokenize(a)).toEqual(tokenize(b))
    same('refunds', 'refund')
    same('refunded', 'refund')
    same('shipping', 'ship')
    same('shipped', 'ships')
    same('prices', 'pricing')
    same('deliveries', 'delivery')
    same('monthly', 'month')
    expect(tokenize('business class')).toEqual(['business', 'class'])
  })
})

describe('passages', () => {
  it('splits a long document along paragraphs and sentences, and trims answers at a sentence', () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} talks about topic ${i}.`).join(' ')
    const passages = splitPassages(`Intro paragraph.\n\n${long}`)
    expect(passages.length).toBeGreaterThan(2)
    for (const p of passages) expect(p.length).toBeLessThanOrEqual(650)
    const trimmed = trimText(long, 500)
    expect(trimmed.length).toBeLessThanOrEqual(500)
    expect(trimmed.endsWith('.')).toBe(true)
  })
})

describe('search', () => {
  const index = buildIndex(DEMO_KNOWLEDGE.map((item, i) => ({ id: `demo-${i}`, ...item })))
  const top = (q: string) => search(index, q, 1)[0]

  it('ranks the right item among several', () => {
    expect(top('How much is shipping to the US?')?.title).toMatch(/shipping/)
    expect(top('Can I get my money back? What about refunds?')?.title).toMatch(/refund/)
    expect(top('How do I contact you?')?.title).toMatch(/contact/)
    expect(top('Is the stoneware dishwasher safe?')?.title).toBe('About Harbor & Pine')
  })

  it('gives full confidence to a fully covered query and none to an unrelated one', () => {
    expect(top('What are your opening hours?')?.confidence).toBeGreaterThan(0.9)
    expect(search(index, 'Can I bring my pet giraffe to the quantum lab?')).toEqual([])
    expect(search(index, 'the and of')).toEqual([])
  })

  it('lowers confidence when part of the query is unknown to the knowledge', () => {
    const partial = top('shipping giraffes to antarctica by submarine')
    expect(partial?.title).toMatch(/shipping/)
    expect(partial?.confidence).toBeGreaterThan(0)
    expect(partial?.confidence).toBeLessThan(0.35)
  })
})

describe('knowledge engine', () => {
  let app: TestApp
  let engine: ReplyEngine
  let a: string
  let b: string
  beforeAll(async () => {
    app = await createTestApp()
    engine = createKnowledgeEngine(app.deps)
    a = (await newLicense(app)).id
    b = (await newLicense(app)).id
    for (const item of DEMO_KNOWLEDGE) await addKnowledge(app.deps.db, a, 'chatbot', item)
  })
  afterAll(async () => app.shutdown())

  it('answers the demo opening-hours question with its answer, confidence and source', async () => {
    const result = await engine.reply(replyContext(a, 'What are your opening hours?'), silentSink)
    expect(result.kind).toBe('answer')
    if (result.kind !== 'answer') return
    expect(result.text).toContain('9am')
    const items = await listKnowledge(app.deps.db, a, 'chatbot')
    const source = items.find((i) => i.title === 'What are your opening hours?')
    expect(result.meta).toEqual({ confidence: expect.any(Number), source: { id: source?.id, title: 'What are your opening hours?' } })
    expect(result.meta?.confidence as number).toBeGreaterThanOrEqual(0.35)
  })

  it('finds "refund" when asked about "refunds"', async () => {
    const result = await engine.reply(replyContext(a, 'refunds?'), silentSink)
    expect(result).toMatchObject({ kind: 'answer', text: expect.stringMatching(/full refund/) })
  })

  it('answers from a document with the best passage, trimmed', async () => {
    const result = await engine.reply(replyContext(a, 'Is your stoneware dishwasher safe?'), silentSink)
    expect(result.kind).toBe('answer')
    if (result.kind !== 'answer') return
    expect(result.text).toMatch(/dishwasher and microwave safe/)
    expect(result.text).not.toMatch(/founded in 2015/)
    expect(result.text.length).toBeLessThanOrEqual(501)
    expect(result.meta).toMatchObject({ source: { title: 'About Harbor & Pine' } })
  })

  it('falls back with the product’s text below the threshold', async () => {
    const settings = { fallback: 'Leave your email and we will get back to you.' }
    const none = await engine.reply(replyContext(a, 'Can I bring my pet giraffe to the quantum lab?', settings), silentSink)
    expect(none).toEqual({ kind: 'fallback', text: 'Leave your email and we will get back to you.', meta: { confidence: 0 } })
    // A real but partial match answers at the default threshold and falls back under a strict one.
    const question = 'When are you open on Saturday?'
    const loose = await engine.reply(replyContext(a, question, { threshold: 0.35 }), silentSink)
    expect(loose.kind).toBe('answer')
    const strict = await engine.reply(replyContext(a, 'Are you open on public holidays in Wales?', { ...settings, threshold: 0.95 }), silentSink)
    expect(strict.kind).toBe('fallback')
    expect(strict.meta?.confidence as number).toBeGreaterThan(0)
    expect(strict.meta?.confidence as number).toBeLessThan(0.95)
  })

  it('never answers one license from another license’s knowledge', async () => {
    await addKnowledge(app.deps.db, b, 'chatbot', { kind: 'qa', title: 'Do you have parking?', body: 'Yes, free parking behind the building.' })
    const fromB = await engine.reply(replyContext(b, 'What are your opening hours?'), silentSink)
    expect(fromB.kind).toBe('fallback')
    const fromA = await engine.reply(replyContext(a, 'Do you have parking?'), silentSink)
    expect(fromA.kind === 'answer' ? fromA.text : '').not.toContain('free parking')
    // Nor across products of the same license.
    const sales = await engine.reply(replyContext(a, 'What are your opening hours?', {}, 'sales-agent'), silentSink)
    expect(sales.kind).toBe('fallback')
  })

  it('sees added and deleted items at once, including rows written behind the cache’s back', async () => {
    const license = (await newLicense(app)).id
    const ask = (q: string) => engine.reply(replyContext(license, q), silentSink)
    expect((await ask('Do you sell vinyl records?')).kind).toBe('fallback')
    const item = await addKnowledge(app.deps.db, license, 'chatbot', {
      kind: 'qa',
      title: 'Do you sell vinyl records?',
      body: 'Yes, a small selection of vinyl records.',
    })
    expect(await ask('Do you sell vinyl records?')).toMatchObject({ kind: 'answer', meta: { source: { id: item.id } } })
    // Another instance (or plain SQL) adds an item: no invalidate call reaches this process.
    await app.deps.db
      .insertInto('knowledge_items')
      .values({ license_id: license, product: 'chatbot', kind: 'qa', title: 'Do you buy used turntables?', body: 'We buy turntables.' })
      .execute()
    expect(await ask('Do you buy used turntables?')).toMatchObject({ kind: 'answer', text: 'We buy turntables.' })
    // A plain SQL edit of an answer is seen too (the trigger bumps the version on update).
    await app.deps.db.updateTable('knowledge_items').set({ body: 'We buy and sell turntables.' }).where('title', '=', 'Do you buy used turntables?').execute()
    expect(await ask('Do you buy used turntables?')).toMatchObject({ kind: 'answer', text: 'We buy and sell turntables.' })
    expect(await deleteKnowledge(app.deps.db, license, 'chatbot', item.id)).toBe(true)
    expect((await ask('Do you sell vinyl records?')).kind).toBe('fallback')
  })

  it('rebuilds the index only when the product’s knowledge version moves', async () => {
    const license = (await newLicense(app)).id
    await addKnowledge(app.deps.db, license, 'chatbot', { kind: 'qa', title: 'Do you repair chairs?', body: 'Yes, bring them in.' })
    const version = async () =>
      (
        await app.deps.db
          .selectFrom('knowledge_versions')
          .select('version')
          .where('license_id', '=', license)
          .where('product', '=', 'chatbot')
          .executeTakeFirst()
      )?.version
    const cached = () => app.deps.memo.slot<Map<string, { version: string; index: unknown }>>('knowledge-index', () => new Map()).get(`${license}\u0000chatbot`)
    await engine.reply(replyContext(license, 'Do you repair chairs?'), silentSink)
    const first = cached()
    expect(first?.version).toBe(String(await version()))
    await engine.reply(replyContext(license, 'Do you repair tables?'), silentSink)
    // The same built index object: nothing was listed or rebuilt for the second question.
    expect(cached()?.index).toBe(first?.index)
    // Another product's write does not move this one.
    await addKnowledge(app.deps.db, license, 'sales-agent', { kind: 'qa', title: 'Any discounts?', body: 'Ten percent off.' })
    await engine.reply(replyContext(license, 'Do you repair chairs?'), silentSink)
    expect(cached()?.index).toBe(first?.index)
    await addKnowledge(app.deps.db, license, 'chatbot', { kind: 'qa', title: 'Do you repair tables?', body: 'Tables too.' })
    expect(Number(await version())).toBe(Number(first?.version) + 1)
    expect(await engine.reply(replyContext(license, 'Do you repair tables?'), silentSink)).toMatchObject({ kind: 'answer', text: 'Tables too.' })
    expect(cached()?.index).not.toBe(first?.index)
  })
})

describe('knowledge queries', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  it('lists, adds and deletes only within one license and product', async () => {
    const a = (await newLicense(app)).id
    const b = (await newLicense(app)).id
    const item = await addKnowledge(app.deps.db, a, 'chatbot', { kind: 'doc', title: 'Guide', body: 'Text' })
    expect(item).toMatchObject({ license_id: a, product: 'chatbot', kind: 'doc', title: 'Guide', body: 'Text', created_at: expect.any(Date) })
    expect(await listKnowledge(app.deps.db, b, 'chatbot')).toEqual([])
    expect(await listKnowledge(app.deps.db, a, 'sales-agent')).toEqual([])
    expect(await deleteKnowledge(app.deps.db, b, 'chatbot', item.id)).toBe(false)
    expect(await deleteKnowledge(app.deps.db, a, 'sales-agent', item.id)).toBe(false)
    expect((await listKnowledge(app.deps.db, a, 'chatbot')).map((i) => i.id)).toEqual([item.id])
    expect(await deleteKnowledge(app.deps.db, a, 'chatbot', item.id)).toBe(true)
    expect(await listKnowledge(app.deps.db, a, 'chatbot')).toEqual([])
  })

  it('validates items: known kinds, non-empty text, no unknown fields', () => {
    expect(knowledgeItemSchema.parse({ kind: 'qa', title: '  Hi?  ', body: 'Hello' })).toEqual({ kind: 'qa', title: 'Hi?', body: 'Hello' })
    expect(knowledgeItemSchema.safeParse({ kind: 'faq', title: 'x', body: 'y' }).success).toBe(false)
    expect(knowledgeItemSchema.safeParse({ kind: 'qa', title: '   ', body: 'y' }).success).toBe(false)
    expect(knowledgeItemSchema.safeParse({ kind: 'qa', title: 'x', body: 'y', license_id: 'other' }).success).toBe(false)
  })
})
