// Analytics' tables and the writes the consumers make to them. The tables are typed here, beside the only code that
// touches them, rather than in platform/db.ts.
import { type ColumnType, type Kysely, sql } from 'kysely'
import { type Database, type Db, pgArray } from '../platform/db.js'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
/** A `date` column: written as 'YYYY-MM-DD', read back as text (queries select `to_char(day, …)`). */
type Day = ColumnType<string, string, string>

/** The counters of one license, product and UTC day. */
export const DAILY_COUNTERS = [
  'conversations',
  'visitor_messages',
  'bot_messages',
  'person_messages',
  'answered_bot',
  'answered_person',
  'not_answered',
  'rated_helpful',
  'rated_not_helpful',
  'leads',
  'unanswered_questions',
] as const
export type DailyCounter = (typeof DAILY_COUNTERS)[number]

export type AnalyticsDailyTable = { license_id: string; product: string; day: Day } & { [K in DailyCounter]: ColumnType<number, number | undefined, number> }

export type Outcome = 'none' | 'bot' | 'person' | 'not_answered'

export interface AnalyticsConversationsTable {
  conversation_id: string
  license_id: string
  product: string
  day: Day
  first_visitor_seq: number | null
  first_visitor_at: NullableTimestamp
  first_response_at: NullableTimestamp
  first_response_ms: number | null
  first_response_by: 'bot' | 'person' | null
  bot_replied: ColumnType<boolean, boolean | undefined, boolean>
  person_replied: ColumnType<boolean, boolean | undefined, boolean>
  waiting: ColumnType<boolean, boolean | undefined, boolean>
  outcome: ColumnType<Outcome, Outcome | undefined, Outcome>
  updated_at: Timestamp
}

export interface AnalyticsRatingsTable {
  message_id: string
  license_id: string
  product: string
  day: Day
  rating: 'helpful' | 'not_helpful'
  rated_at: Timestamp
  event_id: string
}

export interface AnalyticsQuestionsTable {
  license_id: string
  product: string
  day: Day
  kind: 'asked' | 'unanswered'
  normalized: string
  count: number
}

export interface AnalyticsQuestionTextsTable {
  license_id: string
  product: string
  kind: 'asked' | 'unanswered'
  normalized: string
  sample: string
}

export interface AnalyticsCountedEventsTable {
  event_id: string
  consumer: string
}

export interface AnalyticsTables {
  analytics_daily: AnalyticsDailyTable
  analytics_conversations: AnalyticsConversationsTable
  analytics_ratings: AnalyticsRatingsTable
  analytics_questions: AnalyticsQuestionsTable
  analytics_question_texts: AnalyticsQuestionTextsTable
  analytics_counted_events: AnalyticsCountedEventsTable
}

export type AnalyticsDb = Kysely<Database & AnalyticsTables>

/** The app's database (or a transaction) seen with the analytics tables. */
export const adb = (db: Db | Kysely<Database>): AnalyticsDb => db as unknown as AnalyticsDb

/** The UTC day of an instant, as 'YYYY-MM-DD'. */
export const utcDay = (at: Date | string): string => (typeof at === 'string' ? new Date(at) : at).toISOString().slice(0, 10)

/**
 * Records that `consumer` counted `eventId`; false when it already had (a retried job). Called first in the
 * transaction that counts, so the record and the counting commit together or not at all.
 */
export async function firstTime(trx: AnalyticsDb, eventId: string, consumer: string): Promise<boolean> {
  const row = await trx
    .insertInto('analytics_counted_events')
    .values({ event_id: eventId, consumer })
    .onConflict((oc) => oc.columns(['event_id', 'consumer']).doNothing())
    .returning('event_id')
    .executeTakeFirst()
  return row !== undefined
}

/** The event ids of `eventIds` that `consumer` had not counted yet, now recorded as counted (one statement). */
export async function firstTimes(trx: AnalyticsDb, eventIds: string[], consumer: string): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set()
  // One statement text whatever the batch's size (a values list of n rows is a text, and a plan, per n).
  const { rows } = await sql<{ event_id: string }>`
    insert into analytics_counted_events (event_id, consumer) select unnest(${pgArray(eventIds)}::text[]), ${consumer}::text
    on conflict (event_id, consumer) do nothing returning event_id`.execute(trx)
  return new Set(rows.map((r) => r.event_id))
}

type DayKey = { licenseId: string; product: string; day: string }

/**
 * Daily counter changes gathered over a batch of events and written in one statement (`apply`), rows in key order:
 * two batches that touch the same days lock their rows in the same order, so neither waits on the other in a circle.
 */
export class DailyBumps {
  private rows = new Map<string, { at: DayKey; amounts: Partial<Record<DailyCounter, number>> }>()

  add(at: DayKey, amounts: Partial<Record<DailyCounter, number>>): void {
    const key = `${at.licenseId}|${at.product}|${at.day}`
    const row = this.rows.get(key) ?? { at, amounts: {} }
    for (const [k, v] of Object.entries(amounts) as [DailyCounter, number][]) row.amounts[k] = (row.amounts[k] ?? 0) + v
    this.rows.set(key, row)
  }

  async apply(trx: AnalyticsDb): Promise<void> {
    const rows = [...this.rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r)
    this.rows.clear()
    const counters = DAILY_COUNTERS.filter((k) => rows.some((r) => (r.amounts[k] ?? 0) !== 0))
    if (counters.length === 0) return
    await trx
      .insertInto('analytics_daily')
      .values(
        rows.map((r) => ({
          license_id: r.at.licenseId,
          product: r.at.product,
          day: r.at.day,
          ...Object.fromEntries(counters.map((k) => [k, r.amounts[k] ?? 0])),
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['license_id', 'product', 'day'])
          .doUpdateSet(Object.fromEntries(counters.map((k) => [k, sql<number>`${sql.ref(`analytics_daily.${k}`)} + ${sql.ref(`excluded.${k}`)}`]))),
      )
      .execute()
  }
}

/** Adds to (or, with negative amounts, takes from) the counters of one license, product and day. */
export async function bump(trx: AnalyticsDb, at: { licenseId: string; product: string; day: string }, amounts: Partial<Record<DailyCounter, number>>) {
  const entries = Object.entries(amounts).filter(([k, v]) => v !== 0 && (DAILY_COUNTERS as readonly string[]).includes(k)) as [DailyCounter, number][]
  if (entries.length === 0) return
  await trx
    .insertInto('analytics_daily')
    .values({ license_id: at.licenseId, product: at.product, day: at.day, ...Object.fromEntries(entries) })
    .onConflict((oc) =>
      oc
        .columns(['license_id', 'product', 'day'])
        .doUpdateSet(Object.fromEntries(entries.map(([k]) => [k, sql<number>`${sql.ref(`analytics_daily.${k}`)} + ${sql.ref(`excluded.${k}`)}`]))),
    )
    .execute()
}

/** Counts one question (asked or unanswered) under its normalised text; empty text counts nothing. */
export async function countQuestion(
  trx: AnalyticsDb,
  at: { licenseId: string; product: string; day: string },
  kind: 'asked' | 'unanswered',
  text: string,
): Promise<void> {
  const normalized = normalizeQuestion(text)
  if (!normalized) return
  await trx
    .insertInto('analytics_questions')
    .values({ license_id: at.licenseId, product: at.product, day: at.day, kind, normalized, count: 1 })
    .onConflict((oc) => oc.columns(['license_id', 'product', 'kind', 'day', 'normalized']).doUpdateSet({ count: sql<number>`analytics_questions.count + 1` }))
    .execute()
  await trx
    .insertInto('analytics_question_texts')
    .values({ license_id: at.licenseId, product: at.product, kind, normalized, sample: sampleOf(text) })
    .onConflict((oc) => oc.columns(['license_id', 'product', 'kind', 'normalized']).doNothing())
    .execute()
}

/** Counts many questions at once (countQuestion's rows, gathered per normalised text): two statements, rows in key order. */
export async function countQuestions(trx: AnalyticsDb, questions: { at: DayKey; kind: 'asked' | 'unanswered'; text: string }[]): Promise<void> {
  const counts = new Map<string, { at: DayKey; kind: 'asked' | 'unanswered'; normalized: string; count: number; sample: string }>()
  for (const q of questions) {
    const normalized = normalizeQuestion(q.text)
    if (!normalized) continue
    const key = JSON.stringify([q.at.licenseId, q.at.product, q.kind, q.at.day, normalized])
    const c = counts.get(key)
    if (c) c.count++
    else counts.set(key, { at: q.at, kind: q.kind, normalized, count: 1, sample: sampleOf(q.text) })
  }
  if (counts.size === 0) return
  const rows = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c)
  await trx
    .insertInto('analytics_questions')
    .values(rows.map((c) => ({ license_id: c.at.licenseId, product: c.at.product, day: c.at.day, kind: c.kind, normalized: c.normalized, count: c.count })))
    .onConflict((oc) =>
      oc.columns(['license_id', 'product', 'kind', 'day', 'normalized']).doUpdateSet({ count: sql<number>`analytics_questions.count + excluded.count` }),
    )
    .execute()
  // One sample per text (the first seen of the batch, as countQuestion keeps the first ever).
  const samples = new Map<string, (typeof rows)[number]>()
  for (const c of rows) {
    const key = JSON.stringify([c.at.licenseId, c.at.product, c.kind, c.normalized])
    if (!samples.has(key)) samples.set(key, c)
  }
  await trx
    .insertInto('analytics_question_texts')
    .values([...samples.values()].map((c) => ({ license_id: c.at.licenseId, product: c.at.product, kind: c.kind, normalized: c.normalized, sample: c.sample })))
    .onConflict((oc) => oc.columns(['license_id', 'product', 'kind', 'normalized']).doNothing())
    .execute()
}

/** Longest question text kept, in characters (code points). */
export const QUESTION_MAX = 200

const cut = (s: string): string => Array.from(s).slice(0, QUESTION_MAX).join('')

/**
 * The text questions are grouped by: Unicode-compatibility folded (NFKC), lower case, runs of white space as one
 * space, punctuation and symbols trimmed from both ends, at most 200 characters. "Opening hours?" and
 * "  opening   HOURS " are one question.
 */
export function normalizeQuestion(text: string): string {
  const folded = text.normalize('NFKC').toLocaleLowerCase('en').replace(/\s+/gu, ' ')
  return cut(folded.replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')).trim()
}

/** The wording shown for a question: white space collapsed, at most 200 characters. */
export const sampleOf = (text: string): string => cut(text.replace(/\s+/gu, ' ').trim())
