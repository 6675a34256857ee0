// The event consumers that keep the analytics rollups: each counts its event once (the event id is recorded in the
// transaction that counts it), per license, product and UTC day. docs/analytics.md defines every figure.
import { sql } from 'kysely'
import type { Deps } from '../platform/context.js'
import { pgArray } from '../platform/db.js'
import type { DomainEvent, Events, EventType } from '../platform/events.js'
import {
  type AnalyticsDb,
  adb,
  bump,
  countQuestion,
  countQuestions,
  DailyBumps,
  type DailyCounter,
  firstTime,
  firstTimes,
  type Outcome,
  utcDay,
} from './store.js'

const OUTCOME_COUNTER: Record<Exclude<Outcome, 'none'>, DailyCounter> = {
  bot: 'answered_bot',
  person: 'answered_person',
  not_answered: 'not_answered',
}

/** How a conversation counts, from what is known of it (docs/analytics.md, "Answered"). */
export function outcomeOf(f: { first_visitor_seq: number | null; bot_replied: boolean; person_replied: boolean; waiting: boolean }): Outcome {
  if (f.first_visitor_seq === null) return 'none'
  if (f.person_replied) return 'person'
  if (f.bot_replied && !f.waiting) return 'bot'
  return 'not_answered'
}

interface Facts {
  conversation_id: string
  license_id: string
  product: string
  day: string
  first_visitor_seq: number | null
  bot_replied: boolean
  person_replied: boolean
  waiting: boolean
  outcome: Outcome
  first_response_at: Date | null
}

/**
 * The conversation's facts row, created if missing and locked for this transaction (the outcome moves between
 * rollup columns, so two jobs of one conversation must take turns). The start day is the conversation's own; a
 * conversation of another license has none.
 */
async function lockFacts(trx: AnalyticsDb, licenseId: string, conversationId: string): Promise<Facts | undefined> {
  return (await lockAllFacts(trx, [{ licenseId, conversationId }])).get(conversationId)
}

/** lockFacts for many conversations in two statements, the rows locked in conversation id order (as every batch does). */
async function lockAllFacts(trx: AnalyticsDb, conversations: { licenseId: string; conversationId: string }[]): Promise<Map<string, Facts>> {
  const license = new Map(conversations.map((c) => [c.conversationId, c.licenseId]))
  const ids = [...license.keys()].sort()
  if (ids.length === 0) return new Map()
  const licenses = ids.map((id) => license.get(id) as string)
  await sql`
    insert into analytics_conversations (conversation_id, license_id, product, day)
    select c.id, c.license_id, c.product, (c.created_at at time zone 'UTC')::date
    from conversations c join unnest(${pgArray(ids)}::uuid[], ${pgArray(licenses)}::uuid[]) as n(id, license_id) on c.id = n.id and c.license_id = n.license_id
    order by c.id
    on conflict (conversation_id) do nothing`.execute(trx)
  const rows = await trx
    .selectFrom('analytics_conversations')
    .select([
      'conversation_id',
      'license_id',
      'product',
      sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'),
      'first_visitor_seq',
      'bot_replied',
      'person_replied',
      'waiting',
      'outcome',
      'first_response_at',
    ])
    .where('conversation_id', 'in', ids)
    .orderBy('conversation_id')
    .forUpdate()
    .execute()
  return new Map(rows.filter((r) => license.get(r.conversation_id) === r.license_id).map((r) => [r.conversation_id, r]))
}

/** Writes the facts and moves the conversation between the answered columns of its start day when its outcome changed. */
async function saveFacts(
  trx: AnalyticsDb,
  before: Facts,
  after: Omit<Partial<Facts>, 'outcome'> & Record<string, unknown>,
  now: Date,
  bumps?: DailyBumps,
): Promise<void> {
  const merged = { ...before, ...after } as Facts
  const outcome = outcomeOf(merged)
  await trx
    .updateTable('analytics_conversations')
    .set({ ...after, outcome, updated_at: now })
    .where('conversation_id', '=', before.conversation_id)
    .execute()
  if (outcome === before.outcome) return
  const amounts: Partial<Record<DailyCounter, number>> = {}
  if (before.outcome !== 'none') amounts[OUTCOME_COUNTER[before.outcome]] = -1
  if (outcome !== 'none') amounts[OUTCOME_COUNTER[outcome]] = 1
  const at = { licenseId: before.license_id, product: before.product, day: before.day }
  // In a batch, the daily rows are written together at its end (after every facts row it locks).
  if (bumps) bumps.add(at, amounts)
  else await bump(trx, at, amounts)
}

/**
 * Reads the conversation's first visitor message and what came after it from the messages themselves. Messages of
 * a conversation commit in seq order (its row lock allocates seq), and a message's event is handled only after it
 * committed, so whatever message triggered this sees every earlier one: the answer is exact whatever order the
 * events' jobs run in.
 */
async function readReplies(trx: AnalyticsDb, licenseId: string, conversationId: string) {
  const { rows } = await sql<{
    first_visitor_seq: number
    first_visitor_at: Date
    response_at: Date | null
    response_role: 'assistant' | 'agent' | null
    bot_replied: boolean
    person_replied: boolean
  }>`
    select fv.seq as first_visitor_seq, fv.created_at as first_visitor_at, r.created_at as response_at, r.role as response_role,
      exists (select 1 from messages m where m.conversation_id = ${conversationId} and m.seq > fv.seq and m.role = 'assistant') as bot_replied,
      exists (select 1 from messages m where m.conversation_id = ${conversationId} and m.seq > fv.seq and m.role = 'agent') as person_replied
    from (
      select seq, created_at from messages
      where conversation_id = ${conversationId} and license_id = ${licenseId} and role = 'visitor'
      order by seq limit 1
    ) fv
    left join lateral (
      select created_at, role from messages m
      where m.conversation_id = ${conversationId} and m.seq > fv.seq and m.role in ('assistant', 'agent')
      order by m.seq limit 1
    ) r on true`.execute(trx)
  return rows[0]
}

/** Whether a message can change what the facts say (else the messages need not be read again). */
function mayChange(f: Facts, role: string, seq: number): boolean {
  if (role === 'visitor') return f.first_visitor_seq === null || seq < f.first_visitor_seq
  // A message before the first visitor message (the greeting) answers nothing.
  if (f.first_visitor_seq !== null && seq < f.first_visitor_seq) return false
  if (role === 'assistant') return !f.bot_replied
  if (role === 'agent') return !f.person_replied
  return false
}

async function refreshReplies(trx: AnalyticsDb, f: Facts, now: Date, bumps?: DailyBumps): Promise<void> {
  const r = await readReplies(trx, f.license_id, f.conversation_id)
  if (!r) return
  const firstAt = new Date(r.first_visitor_at)
  const responseAt = r.response_at === null ? null : new Date(r.response_at)
  await saveFacts(
    trx,
    f,
    {
      first_visitor_seq: r.first_visitor_seq,
      first_visitor_at: firstAt,
      first_response_at: responseAt,
      first_response_ms: responseAt === null ? null : Math.max(0, responseAt.getTime() - firstAt.getTime()),
      first_response_by: r.response_role === null ? null : r.response_role === 'agent' ? 'person' : 'bot',
      bot_replied: r.bot_replied,
      person_replied: r.person_replied,
    },
    now,
    bumps,
  )
}

const MESSAGE_COUNTER: Partial<Record<string, DailyCounter>> = { visitor: 'visitor_messages', assistant: 'bot_messages', agent: 'person_messages' }

/** Registers the analytics consumers on the events dispatcher (one durable job per event and consumer). */
export function registerAnalyticsConsumers(deps: Deps, events: Events): void {
  /** Runs `count` once per event: in one transaction with the record that it ran. */
  const once = <T extends EventType>(type: T, count: (trx: AnalyticsDb, event: DomainEvent<T>, licenseId: string) => Promise<void>) => {
    const name = `analytics.${type}`
    events.onEvent(type, name, async (event) => {
      const licenseId = event.licenseId
      if (!licenseId) return
      await deps.db.transaction().execute(async (t) => {
        const trx = adb(t)
        if (await firstTime(trx, event.id, name)) await count(trx, event, licenseId)
      })
    })
  }
  const now = () => new Date(deps.clock.now())

  // Lock order, so concurrent jobs never wait on each other in a circle: the conversation's facts row first, then
  // daily rows oldest day first (a conversation's start day is never after its messages' days), then question rows.
  once('conversation.created', async (trx, event, licenseId) => {
    await lockFacts(trx, licenseId, event.data.conversationId)
    await bump(trx, { licenseId, product: event.data.product, day: utcDay(event.createdAt) }, { conversations: 1 })
  })

  // Messages are most of the events: a dispatcher pass's are counted together, in one transaction of a few
  // statements (facts rows of its conversations, then daily rows, then question rows, each in key order).
  const messages = 'analytics.message.created'
  events.onEvents('message.created', messages, async (list) => {
    await deps.db.transaction().execute(async (t) => {
      const trx = adb(t)
      const fresh = await firstTimes(
        trx,
        list.map((e) => e.id),
        messages,
      )
      const counted = list.filter((e) => fresh.has(e.id) && e.licenseId && MESSAGE_COUNTER[e.data.message.role])
      if (counted.length === 0) return
      const facts = await lockAllFacts(
        trx,
        counted.map((e) => ({ licenseId: e.licenseId as string, conversationId: e.data.conversationId })),
      )
      const bumps = new DailyBumps()
      for (const [conversationId, f] of facts) {
        // The messages themselves are read once per conversation: they say what every message of the batch changed.
        const changes = counted.some((e) => e.data.conversationId === conversationId && mayChange(f, e.data.message.role, e.data.message.seq))
        if (changes) await refreshReplies(trx, f, now(), bumps)
      }
      const asked: Parameters<typeof countQuestions>[1] = []
      for (const e of counted) {
        const { message, product } = e.data
        const at = { licenseId: e.licenseId as string, product, day: utcDay(message.createdAt) }
        bumps.add(at, { [MESSAGE_COUNTER[message.role] as DailyCounter]: 1 })
        if (message.role === 'visitor') asked.push({ at, kind: 'asked', text: message.text })
      }
      await bumps.apply(trx)
      await countQuestions(trx, asked)
    })
  })

  once('conversation.waiting', async (trx, event, licenseId) => {
    const facts = await lockFacts(trx, licenseId, event.data.conversationId)
    if (facts && !facts.waiting) await saveFacts(trx, facts, { waiting: true }, now())
  })

  once('lead.created', async (trx, event, licenseId) => {
    await bump(trx, { licenseId, product: event.data.product, day: utcDay(event.createdAt) }, { leads: 1 })
  })

  once('question.unanswered', async (trx, event, licenseId) => {
    const at = { licenseId, product: event.data.product, day: utcDay(event.createdAt) }
    await bump(trx, at, { unanswered_questions: 1 })
    await countQuestion(trx, at, 'unanswered', event.data.question)
  })

  // One rating per message: a later rating replaces the earlier (moving the count to its own day); an older rating
  // whose job runs late changes nothing.
  once('message.rated', async (trx, event, licenseId) => {
    const { messageId, rating, product } = event.data
    const day = utcDay(event.createdAt)
    const ratedAt = new Date(event.createdAt)
    const counter: Record<typeof rating, DailyCounter> = { helpful: 'rated_helpful', not_helpful: 'rated_not_helpful' }
    const inserted = await trx
      .insertInto('analytics_ratings')
      .values({ message_id: messageId, license_id: licenseId, product, day, rating, rated_at: ratedAt, event_id: event.id })
      .onConflict((oc) => oc.column('message_id').doNothing())
      .returning('message_id')
      .executeTakeFirst()
    if (inserted) {
      await bump(trx, { licenseId, product, day }, { [counter[rating]]: 1 })
      return
    }
    const prev = await trx
      .selectFrom('analytics_ratings')
      .select(['license_id', 'product', sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'rating', 'rated_at', 'event_id'])
      .where('message_id', '=', messageId)
      .forUpdate()
      .executeTakeFirstOrThrow()
    // Another license's message id is not this license's to change.
    if (prev.license_id !== licenseId) return
    const newer = prev.rated_at.getTime() < ratedAt.getTime() || (prev.rated_at.getTime() === ratedAt.getTime() && prev.event_id < event.id)
    if (!newer) return
    await trx
      .updateTable('analytics_ratings')
      .set({ day, rating, rated_at: ratedAt, event_id: event.id, product })
      .where('message_id', '=', messageId)
      .execute()
    await bump(trx, { licenseId, product: prev.product, day: prev.day }, { [counter[prev.rating]]: -1 })
    await bump(trx, { licenseId, product, day }, { [counter[rating]]: 1 })
  })
}
