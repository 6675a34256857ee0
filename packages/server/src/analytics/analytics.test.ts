// Analytics end to end: events from the real routes (and the lifecycle events emitted directly, as their emitters
// will) become daily rollups; a retried consumer job counts nothing twice; events handled out of order give the same
// figures; days are UTC; the median first-response time is exact; a license sees only its own figures; bad ranges
// answer 400 invalid_range; the CSV carries the same figures.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { type EventData, type EventType, emit } from '../platform/events.js'
import { enqueue } from '../platform/jobs.js'
import { type AnalyticsReport, CSV_COLUMNS } from './report.js'
import { adb, normalizeQuestion } from './store.js'

const ORIGIN = 'https://shop.example.com'
const today = () => new Date().toISOString().slice(0, 10)

interface Started {
  conversation: { id: string }
  visitorToken: string
}

describe('analytics', () => {
  let app: TestApp
  let owner: Customer
  let key: string

  const widget = (path: string, init: RequestInit & { json?: unknown; token?: string } = {}) =>
    app.request(path, { ...init, headers: { 'x-product-key': key, origin: ORIGIN, ...(init.headers as Record<string, string>) } })
  const start = async (): Promise<Started> => {
    const res = await widget('/api/widget/conversations', { method: 'POST', json: {} })
    expect(res.status).toBe(201)
    return (await res.json()) as Started
  }
  const say = async (conv: Started, text: string) => {
    const res = await widget(`/api/widget/conversations/${conv.conversation.id}/messages`, {
      method: 'POST',
      token: conv.visitorToken,
      json: { clientMessageId: `m-${Math.random().toString(36).slice(2)}`, text },
    })
    expect(res.status).toBe(201)
    return (await res.json()) as { message: { id: string }; replies: { id: string }[] }
  }
  const report = async (who: Customer, query = ''): Promise<AnalyticsReport> => {
    await app.jobs.idle()
    const res = await app.request(`/api/analytics${query}`, { token: who.token })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as AnalyticsReport
  }
  /** Emits an event in its own transaction, as the capability that owns it will; `at` back-dates it. */
  const emitNow = async <T extends EventType>(type: T, licenseId: string, data: EventData<T>, at?: string) =>
    app.deps.db.transaction().execute(async (trx) => {
      const id = await emit(trx, { type, licenseId, data })
      if (at)
        await trx
          .updateTable('events')
          .set({ created_at: new Date(at) })
          .where('id', '=', id)
          .execute()
      return id
    })
  /** A message written straight into a conversation at a chosen instant, with its event (as appendMessage does). */
  const addMessage = async (conversationId: string, role: 'visitor' | 'assistant' | 'agent', at: Date, options: { emit?: boolean } = {}) =>
    app.deps.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        last_seq: number
      }>`update conversations set last_seq = last_seq + 1 where id = ${conversationId} returning last_seq`.execute(trx)
      const seq = rows[0]?.last_seq as number
      const m = await trx
        .insertInto('messages')
        .values({
          license_id: owner.licenseId,
          conversation_id: conversationId,
          seq,
          role,
          text: `${role} ${seq}`,
          client_message_id: null,
          meta: '{}',
          created_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      const data = {
        conversationId,
        product: 'chatbot' as const,
        message: { id: m.id, seq, role, text: m.text, clientMessageId: null, sources: [], createdAt: m.created_at.toISOString() },
      }
      if (options.emit !== false) await emit(trx, { type: 'message.created', licenseId: owner.licenseId, data })
      return data
    })

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app, { products: ['chatbot', 'sales-agent'] })
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN], settings: { greeting: 'Hello there!' } })).key
    // The bot knows one answer; anything else is an honest "I don't know" that waits for a person.
    const known = await app.request('/api/products/chatbot/knowledge', {
      method: 'POST',
      token: owner.token,
      json: { kind: 'qa', title: 'What are your opening hours?', body: 'We are open 9am to 5pm, Monday to Friday.' },
    })
    expect(known.status).toBe(201)
  })
  afterAll(async () => {
    await app.shutdown()
  })

  it('counts conversations, messages, how each was answered, leads and conversion per UTC day', async () => {
    // 1: the bot answers.
    const one = await start()
    expect((await say(one, 'What are your opening hours?')).replies).toHaveLength(1)
    // 2: the bot cannot answer; the conversation waits for a person, who answers later.
    const two = await start()
    await say(two, 'Can I speak to a human?')
    await emitNow('conversation.waiting', owner.licenseId, { conversationId: two.conversation.id, product: 'chatbot', reason: 'visitor_request' })
    // 3: the visitor only opened the widget.
    await start()
    // A lead from the first conversation.
    const lead = await widget('/api/widget/leads', {
      method: 'POST',
      token: one.visitorToken,
      json: { conversationId: one.conversation.id, name: 'Ada', email: 'ada@example.org', consent: true },
    })
    expect(lead.status).toBe(201)

    let r = await report(owner, '?product=chatbot')
    let day = r.days.at(-1)
    expect(day?.day).toBe(today())
    expect(day).toMatchObject({
      conversations: 3,
      visitorMessages: 2,
      // Three greetings and two bot replies.
      botMessages: 5,
      personMessages: 0,
      messages: 7,
      answeredByBot: 1,
      answeredByPerson: 0,
      notAnswered: 1,
      leads: 1,
      conversion: 0.3333,
    })
    expect(day?.medianFirstResponseMs).not.toBeNull()

    // A person replies in the waiting conversation: it moves from "not answered" to "answered by a person".
    const reply = await app.request(`/api/conversations/${two.conversation.id}/messages`, {
      method: 'POST',
      token: owner.token,
      json: { text: 'Hi, Sam here.' },
    })
    expect(reply.status).toBe(201)
    r = await report(owner, '?product=chatbot')
    day = r.days.at(-1)
    expect(day).toMatchObject({ personMessages: 1, answeredByBot: 1, answeredByPerson: 1, notAnswered: 0 })
    expect(r.totals).toMatchObject({ conversations: 3, answeredByPerson: 1, leads: 1 })
    expect(r.topQuestions.map((q) => q.question)).toEqual(expect.arrayContaining(['What are your opening hours?', 'Can I speak to a human?']))
    expect(r.days).toHaveLength(30)
    expect(r.from).toBe(new Date(Date.parse(`${today()}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10))

    // The sales agent's figures are its own; without a product, the products together.
    expect((await report(owner, '?product=sales-agent')).totals.conversations).toBe(0)
    expect((await report(owner)).totals.conversations).toBe(3)
  })

  it('counts a retried or repeated consumer job once', async () => {
    const other = await newCustomer(app, { products: ['chatbot', 'sales-agent'] })
    const eventId = await emitNow('lead.created', other.licenseId, { leadId: crypto.randomUUID(), product: 'sales-agent', conversationId: null })
    await app.jobs.idle()
    expect((await report(other)).totals.leads).toBe(1)
    // The job runs again, three times at once (a retry after a crash between commit and completion, or two workers).
    await Promise.all([1, 2, 3].map(() => enqueue(app.deps.db, 'event.analytics.lead.created', { eventId })))
    expect((await report(other)).totals.leads).toBe(1)
    // The record of what was counted goes with the event when it is pruned.
    const counted = await adb(app.deps.db).selectFrom('analytics_counted_events').select(['consumer']).where('event_id', '=', eventId).execute()
    expect(counted).toEqual([{ consumer: 'analytics.lead.created' }])
    await app.deps.db.deleteFrom('events').where('id', '=', eventId).execute()
    expect(await adb(app.deps.db).selectFrom('analytics_counted_events').select(['consumer']).where('event_id', '=', eventId).execute()).toEqual([])
  })

  it('attributes figures to UTC days and gives every day of the range, zeros included', async () => {
    const other = await newCustomer(app, { products: ['chatbot', 'sales-agent'] })
    const lead = () => ({ leadId: crypto.randomUUID(), product: 'sales-agent' as const, conversationId: null })
    await emitNow('lead.created', other.licenseId, lead(), '2026-03-09T23:59:59.999Z')
    await emitNow('lead.created', other.licenseId, lead(), '2026-03-10T00:00:00.000Z')
    await emitNow('lead.created', other.licenseId, lead(), '2026-03-10T23:00:00.000-02:00')
    const r = await report(other, '?from=2026-03-08&to=2026-03-11')
    expect(r.days.map((d) => [d.day, d.leads])).toEqual([
      ['2026-03-08', 0],
      ['2026-03-09', 1],
      ['2026-03-10', 1],
      ['2026-03-11', 1],
    ])
    expect(r.totals).toMatchObject({ leads: 3, conversations: 0, conversion: null, medianFirstResponseMs: null })
  })

  it('takes the median first-response time over the conversations of each day and of the range', async () => {
    const base = Date.parse('2026-12-02T10:00:00Z')
    const conv = async (responseMs: number | null, by: 'assistant' | 'agent' = 'assistant') => {
      const c = await start()
      await addMessage(c.conversation.id, 'visitor', new Date(base))
      if (responseMs !== null) await addMessage(c.conversation.id, by, new Date(base + responseMs))
      return c
    }
    await conv(1_000)
    await conv(3_000, 'agent')
    await conv(10_000)
    await conv(null)
    await app.jobs.idle()
    const facts = await adb(app.deps.db)
      .selectFrom('analytics_conversations')
      .select(['first_response_ms', 'first_response_by'])
      .where('license_id', '=', owner.licenseId)
      .where('first_response_ms', 'in', [1_000, 3_000, 10_000])
      .orderBy('first_response_ms')
      .execute()
    expect(facts).toEqual([
      { first_response_ms: 1_000, first_response_by: 'bot' },
      { first_response_ms: 3_000, first_response_by: 'person' },
      { first_response_ms: 10_000, first_response_by: 'bot' },
    ])
    const r = await report(owner, `?product=chatbot&from=${today()}&to=${today()}`)
    // Started today (the conversations' own day), whatever instant their messages carry.
    expect(r.days).toHaveLength(1)
    const all = await adb(app.deps.db)
      .selectFrom('analytics_conversations')
      .select(sql<number>`percentile_cont(0.5) within group (order by first_response_ms)`.as('m'))
      .where('license_id', '=', owner.licenseId)
      .executeTakeFirstOrThrow()
    expect(r.totals.medianFirstResponseMs).toBe(Math.round(Number(all.m)))
    expect(r.days[0]?.medianFirstResponseMs).toBe(r.totals.medianFirstResponseMs)
  })

  it('gives the exact median on a license of its own', async () => {
    const solo = await newCustomer(app, { products: ['chatbot'] })
    const soloKey = (await configure(app, solo, 'chatbot', { allowedOrigins: [ORIGIN], settings: { greeting: '' } })).key
    const saved = { owner, key }
    owner = solo
    key = soloKey
    try {
      const base = Date.parse('2026-12-02T10:00:00Z')
      for (const responseMs of [4_000, 1_000, 60_000, null]) {
        const c = await start()
        await addMessage(c.conversation.id, 'visitor', new Date(base))
        if (responseMs !== null) await addMessage(c.conversation.id, 'assistant', new Date(base + responseMs))
      }
      const r = await report(solo, `?product=chatbot&from=${today()}&to=2026-12-02`)
      expect(r.totals).toMatchObject({ conversations: 4, medianFirstResponseMs: 4_000, answeredByBot: 3, notAnswered: 1, botMessages: 3, visitorMessages: 4 })
      // Per-conversation figures count on the day the conversation started, messages on their own day.
      expect(r.days[0]).toMatchObject({ conversations: 4, medianFirstResponseMs: 4_000, answeredByBot: 3, visitorMessages: 0 })
      expect(r.days.at(-1)).toMatchObject({ day: '2026-12-02', conversations: 0, medianFirstResponseMs: null, visitorMessages: 4, botMessages: 3 })
    } finally {
      owner = saved.owner
      key = saved.key
    }
  })

  it('gives the same figures when a conversation’s events are handled out of order', async () => {
    const solo = await newCustomer(app, { products: ['chatbot'] })
    const soloKey = (await configure(app, solo, 'chatbot', { allowedOrigins: [ORIGIN], settings: { greeting: 'Hi' } })).key
    const saved = { owner, key }
    owner = solo
    key = soloKey
    try {
      const c = await start()
      const t = Date.now()
      // The visitor's message is stored but its event not yet handled when the person's reply is.
      const visitor = await addMessage(c.conversation.id, 'visitor', new Date(t), { emit: false })
      await addMessage(c.conversation.id, 'agent', new Date(t + 2_500))
      let r = await report(solo, '?product=chatbot')
      expect(r.totals).toMatchObject({ answeredByPerson: 1, medianFirstResponseMs: 2_500, visitorMessages: 0, personMessages: 1 })
      await emitNow('message.created', solo.licenseId, visitor)
      r = await report(solo, '?product=chatbot')
      expect(r.totals).toMatchObject({
        conversations: 1,
        answeredByPerson: 1,
        notAnswered: 0,
        medianFirstResponseMs: 2_500,
        visitorMessages: 1,
        personMessages: 1,
      })
    } finally {
      owner = saved.owner
      key = saved.key
    }
  })

  it('gives the same figures for a pass’s messages counted together as for messages counted one at a time', async () => {
    const saved = { owner, key }
    const figures: AnalyticsReport[] = []
    let batchedEvents: string[] = []
    try {
      for (const together of [false, true]) {
        owner = await newCustomer(app, { products: ['chatbot'] })
        key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN], settings: { greeting: 'Hi' } })).key
        const [bot, person, unanswered] = [await start(), await start(), await start()]
        await app.jobs.idle()
        const t = Date.parse(`${today()}T00:00:00Z`) + 60_000
        const script: [Started, 'visitor' | 'assistant' | 'agent', number][] = [
          [bot, 'visitor', 0],
          [person, 'visitor', 500],
          [bot, 'assistant', 1_000],
          [unanswered, 'visitor', 1_500],
          [bot, 'visitor', 2_000],
          [person, 'agent', 3_500],
          [person, 'visitor', 4_000],
        ]
        const written: Awaited<ReturnType<typeof addMessage>>[] = []
        for (const [conv, role, ms] of script) {
          written.push(await addMessage(conv.conversation.id, role, new Date(t + ms), { emit: !together }))
          if (!together) await app.jobs.idle()
        }
        if (together) {
          // One transaction: one dispatcher pass hands all seven events to the consumer as one batch.
          batchedEvents = await app.deps.db.transaction().execute(async (trx) => {
            const ids = []
            for (const data of written) ids.push(await emit(trx, { type: 'message.created', licenseId: owner.licenseId, data }))
            return ids
          })
        }
        figures.push(await report(owner, '?product=chatbot'))
      }
      const [oneByOne, together] = figures as [AnalyticsReport, AnalyticsReport]
      expect(together.totals).toEqual(oneByOne.totals)
      expect(together.days).toEqual(oneByOne.days)
      expect(together.topQuestions).toEqual(oneByOne.topQuestions)
      expect(oneByOne.totals).toMatchObject({
        conversations: 3,
        visitorMessages: 5,
        botMessages: 4,
        personMessages: 1,
        answeredByBot: 1,
        answeredByPerson: 1,
        notAnswered: 1,
      })
      // They were one batch, and a retried job of one of them counts nothing twice.
      const batches = await app.deps.db.selectFrom('jobs').select('payload').where('name', '=', 'batch.event.analytics.message.created').execute()
      const ids = batches.map((b) => (typeof b.payload === 'string' ? JSON.parse(b.payload) : b.payload) as { eventIds: string[] })
      expect(ids.some((p) => batchedEvents.every((id) => p.eventIds.includes(id)))).toBe(true)
      await enqueue(app.deps.db, 'event.analytics.message.created', { eventId: batchedEvents[0] })
      expect((await report(owner, '?product=chatbot')).totals).toEqual(together.totals)
    } finally {
      owner = saved.owner
      key = saved.key
    }
  })

  it('counts a message’s latest rating; a late older rating changes nothing', async () => {
    const solo = await newCustomer(app, { products: ['chatbot'] })
    const c = crypto.randomUUID()
    const messageId = crypto.randomUUID()
    const rated = (rating: 'helpful' | 'not_helpful', at?: string) =>
      emitNow('message.rated', solo.licenseId, { conversationId: c, product: 'chatbot', messageId, rating }, at)
    await rated('helpful')
    expect((await report(solo)).totals).toMatchObject({ ratedHelpful: 1, ratedNotHelpful: 0 })
    await rated('not_helpful')
    expect((await report(solo)).totals).toMatchObject({ ratedHelpful: 0, ratedNotHelpful: 1 })
    // Handled after the newer one, but given earlier: ignored.
    await rated('helpful', new Date(Date.now() - 3_600_000).toISOString())
    expect((await report(solo)).totals).toMatchObject({ ratedHelpful: 0, ratedNotHelpful: 1 })
    // Another message rated on another day counts on that day.
    await emitNow(
      'message.rated',
      solo.licenseId,
      { conversationId: c, product: 'chatbot', messageId: crypto.randomUUID(), rating: 'helpful' },
      '2026-01-05T12:00:00Z',
    )
    const jan = await report(solo, '?from=2026-01-01&to=2026-01-31')
    expect(jan.days.find((d) => d.day === '2026-01-05')).toMatchObject({ ratedHelpful: 1 })
  })

  it('ranks unanswered questions by their normalised text', async () => {
    const solo = await newCustomer(app, { products: ['chatbot'] })
    const conversationId = crypto.randomUUID()
    const ask = (question: string) =>
      emitNow('question.unanswered', solo.licenseId, { conversationId, product: 'chatbot', messageId: crypto.randomUUID(), question })
    for (const q of ['Do you ship to Canada?', '  do you SHIP to   canada ', 'Do you ship to Canada??', 'Is there a student discount?', '???']) await ask(q)
    const r = await report(solo)
    expect(r.topUnansweredQuestions).toEqual([
      { question: expect.stringMatching(/^do you ship to canada/i), count: 3 },
      { question: 'Is there a student discount?', count: 1 },
    ])
    expect(r.totals.unansweredQuestions).toBe(5)
    expect(normalizeQuestion('  Opening   HOURS? ')).toBe('opening hours')
    expect(normalizeQuestion('¿Qué tal?')).toBe('qué tal')
  })

  it('shows a license only its own figures', async () => {
    const intruder = await newCustomer(app, { products: ['chatbot', 'sales-agent'] })
    const mine = await report(owner)
    expect(mine.totals.conversations).toBeGreaterThan(0)
    const theirs = await report(intruder)
    expect(theirs.totals).toMatchObject({ conversations: 0, messages: 0, leads: 0, answeredByBot: 0 })
    expect(theirs.topQuestions).toEqual([])
    // An event of another license naming this license's conversation changes nothing here.
    const conv = await app.deps.db.selectFrom('conversations').select('id').where('license_id', '=', owner.licenseId).executeTakeFirstOrThrow()
    await emitNow('conversation.waiting', intruder.licenseId, { conversationId: conv.id, product: 'chatbot', reason: 'unanswered' })
    const after = await report(owner)
    expect(after.totals).toEqual(mine.totals)
    expect((await report(intruder)).totals.notAnswered).toBe(0)
  })

  it('answers 400 invalid_range for a bad range, and needs analytics:read', async () => {
    for (const q of ['?from=2026-11-30&to=2026-11-01', '?from=2025-01-01&to=2026-01-02', '?from=2026-02-30', '?to=30.11.2026', '?from=2026-1-1']) {
      const res = await app.request(`/api/analytics${q}`, { token: owner.token })
      expect(res.status, q).toBe(400)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code, q).toBe('invalid_range')
      const csv = await app.request(`/api/analytics/export${q}`, { token: owner.token })
      expect(csv.status, q).toBe(400)
    }
    // 366 days is the most one request may span.
    expect((await app.request('/api/analytics?from=2025-01-01&to=2026-01-01', { token: owner.token })).status).toBe(200)
    expect((await app.request('/api/analytics?product=data-enrichment', { token: owner.token })).status).toBe(422)
    expect((await app.request('/api/analytics')).status).toBe(401)
    const keyOf = async (scopes: string[]) => {
      const res = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'analytics', scopes } })
      expect(res.status).toBe(201)
      return ((await res.json()) as { key: string }).key
    }
    const without = await app.request('/api/analytics', { token: await keyOf(['usage:read']) })
    expect(without.status).toBe(403)
    expect(((await without.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope')
    expect((await app.request('/api/analytics/export', { token: await keyOf(['analytics:read']) })).status).toBe(200)
  })

  it('exports the same daily figures as CSV', async () => {
    const q = `?product=chatbot&from=2026-11-25&to=${today()}`
    const json = await report(owner, q)
    const res = await app.request(`/api/analytics/export${q}`, { token: owner.token })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="intelagent-analytics-chatbot-2026-11-25-${today()}.csv"`)
    const text = await res.text()
    expect(text.endsWith('\r\n')).toBe(true)
    const lines = text.trimEnd().split('\r\n')
    expect(lines[0]).toBe(CSV_COLUMNS.join(','))
    expect(lines).toHaveLength(json.days.length + 1)
    const rows = lines.slice(1).map((l) => l.split(','))
    for (const [i, d] of json.days.entries()) {
      const row = rows[i] as string[]
      expect(row).toHaveLength(CSV_COLUMNS.length)
      CSV_COLUMNS.forEach((c, j) => {
        expect(row[j], `${d.day} ${c}`).toBe(d[c] === null ? '' : String(d[c]))
      })
    }
    expect(rows.at(-1)?.[0]).toBe(today())
    expect(Number(rows.at(-1)?.[1])).toBeGreaterThan(0)
  })
})
