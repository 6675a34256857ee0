// The analytics report: a license's daily figures for a range of UTC days (optionally one product), read from the
// rollups in ONE query, with the range's totals, the median first-response times and the top questions; and the
// same daily figures as CSV.
import { sql } from 'kysely'
import type { Db } from '../platform/db.js'
import { AppError } from '../platform/errors.js'

/** The longest range one request may ask for, in days (both ends included). */
export const MAX_RANGE_DAYS = 366
/** The range when none is given: the last 30 days up to today (UTC). */
export const DEFAULT_RANGE_DAYS = 30
/** How many top questions (and top unanswered questions) the report lists. */
export const TOP_QUESTIONS = 10

const DAY_MS = 86_400_000

export interface DayFigures {
  day: string
  conversations: number
  messages: number
  visitorMessages: number
  botMessages: number
  personMessages: number
  answeredByBot: number
  answeredByPerson: number
  notAnswered: number
  ratedHelpful: number
  ratedNotHelpful: number
  leads: number
  /** leads ÷ conversations, null without conversations. */
  conversion: number | null
  unansweredQuestions: number
  /** The median first-response time of the conversations started that day, in ms; null when none was answered. */
  medianFirstResponseMs: number | null
}

export type Totals = Omit<DayFigures, 'day'>

export interface QuestionCount {
  question: string
  count: number
}

/** The products with conversations. */
export const ANALYTICS_PRODUCTS = ['chatbot', 'sales-agent'] as const
export type AnalyticsProduct = (typeof ANALYTICS_PRODUCTS)[number]

export interface AnalyticsReport {
  product: AnalyticsProduct | null
  from: string
  to: string
  totals: Totals
  days: DayFigures[]
  topQuestions: QuestionCount[]
  topUnansweredQuestions: QuestionCount[]
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/
const dayMs = (day: string): number => Date.parse(`${day}T00:00:00Z`)
const isDay = (day: string): boolean => ISO_DAY.test(day) && !Number.isNaN(dayMs(day)) && new Date(dayMs(day)).toISOString().startsWith(day)

/**
 * The range asked for, checked: real calendar days, from ≤ to, at most MAX_RANGE_DAYS. `to` defaults to today (UTC),
 * `from` to DEFAULT_RANGE_DAYS days ending with `to`.
 */
export function rangeOf(query: { from?: string | undefined; to?: string | undefined }, now: number): { from: string; to: string } {
  for (const [name, value] of [
    ['from', query.from],
    ['to', query.to],
  ] as const)
    if (value !== undefined && !isDay(value)) throw new AppError('invalid_range', `${name}: must be a calendar day as YYYY-MM-DD (UTC), got "${value}"`)
  const to = query.to ?? new Date(now).toISOString().slice(0, 10)
  const from = query.from ?? new Date(dayMs(to) - (DEFAULT_RANGE_DAYS - 1) * DAY_MS).toISOString().slice(0, 10)
  if (from > to) throw new AppError('invalid_range', `from (${from}) is after to (${to})`)
  const days = (dayMs(to) - dayMs(from)) / DAY_MS + 1
  if (days > MAX_RANGE_DAYS) throw new AppError('invalid_range', `The range spans ${days} days; at most ${MAX_RANGE_DAYS} per request`)
  return { from, to }
}

const ratio = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null)
const ms = (v: number | string | null): number | null => (v === null ? null : Math.round(Number(v)))

interface Row {
  days: {
    day: string
    conversations: number
    visitor_messages: number
    bot_messages: number
    person_messages: number
    answered_bot: number
    answered_person: number
    not_answered: number
    rated_helpful: number
    rated_not_helpful: number
    leads: number
    unanswered_questions: number
    median: number | null
  }[]
  median: number | string | null
  asked: QuestionCount[] | null
  unanswered: QuestionCount[] | null
}

type Counts = Omit<Row['days'][number], 'day' | 'median'>

function figures(c: Counts, median: number | null): Totals {
  const n = (v: number | string) => Number(v)
  const conversations = n(c.conversations)
  const leads = n(c.leads)
  return {
    conversations,
    messages: n(c.visitor_messages) + n(c.bot_messages) + n(c.person_messages),
    visitorMessages: n(c.visitor_messages),
    botMessages: n(c.bot_messages),
    personMessages: n(c.person_messages),
    answeredByBot: n(c.answered_bot),
    answeredByPerson: n(c.answered_person),
    notAnswered: n(c.not_answered),
    ratedHelpful: n(c.rated_helpful),
    ratedNotHelpful: n(c.rated_not_helpful),
    leads,
    conversion: ratio(leads, conversations),
    unansweredQuestions: n(c.unanswered_questions),
    medianFirstResponseMs: median,
  }
}

/** The report for one license: one statement reads the rollups, the medians and the top questions together. */
export async function analyticsReport(
  db: Db,
  licenseId: string,
  product: AnalyticsProduct | null,
  range: { from: string; to: string },
): Promise<AnalyticsReport> {
  // Always a product condition, even for "every product": the indexes lead with (license_id, product), and a list of
  // two products still walks them (two index ranges) instead of scanning the table.
  const products = product === null ? ANALYTICS_PRODUCTS : [product]
  const productIs = (col: string) => sql`${sql.ref(col)} in (${sql.join(products)})`
  const from = sql`${range.from}::date`
  const to = sql`${range.to}::date`
  // Summed from the daily counts alone (index-only), then the wording of just the ten winners.
  const top = (kind: 'asked' | 'unanswered') => sql`(
    select json_agg(json_build_object('question', coalesce(x.sample, t.normalized), 'count', t.n) order by t.n desc, t.normalized)
    from (
      select q.normalized, sum(q.count)::int as n from analytics_questions q
      where q.license_id = ${licenseId} and ${productIs('q.product')} and q.kind = ${kind} and q.day between ${from} and ${to}
      group by q.normalized order by n desc, q.normalized limit ${TOP_QUESTIONS}
    ) t
    left join lateral (
      select min(s.sample) as sample from analytics_question_texts s
      where s.license_id = ${licenseId} and ${productIs('s.product')} and s.kind = ${kind} and s.normalized = t.normalized
    ) x on true)`
  const { rows } = await sql<Row>`
    with roll as (
      select d.day,
        sum(d.conversations)::int as conversations, sum(d.visitor_messages)::int as visitor_messages,
        sum(d.bot_messages)::int as bot_messages, sum(d.person_messages)::int as person_messages,
        sum(d.answered_bot)::int as answered_bot, sum(d.answered_person)::int as answered_person,
        sum(d.not_answered)::int as not_answered, sum(d.rated_helpful)::int as rated_helpful,
        sum(d.rated_not_helpful)::int as rated_not_helpful, sum(d.leads)::int as leads,
        sum(d.unanswered_questions)::int as unanswered_questions
      from analytics_daily d
      where d.license_id = ${licenseId} and ${productIs('d.product')} and d.day between ${from} and ${to}
      group by d.day
    ),
    answered as (
      select c.day, c.first_response_ms from analytics_conversations c
      where c.license_id = ${licenseId} and ${productIs('c.product')} and c.day between ${from} and ${to} and c.first_response_ms is not null
    ),
    med as (
      select a.day, percentile_cont(0.5) within group (order by a.first_response_ms) as median from answered a group by a.day
    ),
    cal as (
      select g::date as day from generate_series(${from}, ${to}, interval '1 day') g
    )
    select
      (select json_agg(json_build_object(
          'day', to_char(cal.day, 'YYYY-MM-DD'),
          'conversations', coalesce(r.conversations, 0), 'visitor_messages', coalesce(r.visitor_messages, 0),
          'bot_messages', coalesce(r.bot_messages, 0), 'person_messages', coalesce(r.person_messages, 0),
          'answered_bot', coalesce(r.answered_bot, 0), 'answered_person', coalesce(r.answered_person, 0),
          'not_answered', coalesce(r.not_answered, 0), 'rated_helpful', coalesce(r.rated_helpful, 0),
          'rated_not_helpful', coalesce(r.rated_not_helpful, 0), 'leads', coalesce(r.leads, 0),
          'unanswered_questions', coalesce(r.unanswered_questions, 0), 'median', m.median
        ) order by cal.day)
        from cal left join roll r on r.day = cal.day left join med m on m.day = cal.day) as days,
      (select percentile_cont(0.5) within group (order by a.first_response_ms) from answered a) as median,
      ${top('asked')} as asked,
      ${top('unanswered')} as unanswered`.execute(db)
  const row = rows[0]
  const parse = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v)
  const dayRows = parse(row?.days ?? null) ?? []
  const days = dayRows.map((d) => ({ day: d.day, ...figures(d, ms(d.median)) }))
  const sums = Object.fromEntries(
    (
      [
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
    ).map((k) => [k, dayRows.reduce((s, d) => s + Number(d[k]), 0)]),
  ) as Counts
  return {
    product,
    from: range.from,
    to: range.to,
    totals: figures(sums, ms(row?.median ?? null)),
    days,
    topQuestions: (parse(row?.asked ?? null) ?? []).map((q) => ({ question: q.question, count: Number(q.count) })),
    topUnansweredQuestions: (parse(row?.unanswered ?? null) ?? []).map((q) => ({ question: q.question, count: Number(q.count) })),
  }
}

/** The CSV columns, in order: the day, then every daily figure under its API name. */
export const CSV_COLUMNS = [
  'day',
  'conversations',
  'messages',
  'visitorMessages',
  'botMessages',
  'personMessages',
  'answeredByBot',
  'answeredByPerson',
  'notAnswered',
  'ratedHelpful',
  'ratedNotHelpful',
  'leads',
  'conversion',
  'unansweredQuestions',
  'medianFirstResponseMs',
] as const satisfies readonly (keyof DayFigures)[]

/** RFC 4180: one header line, one line per day, CRLF line ends; empty cells for figures that do not exist (null). */
export function toCsv(report: AnalyticsReport): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const d of report.days) lines.push(CSV_COLUMNS.map((c) => (d[c] === null ? '' : String(d[c]))).join(','))
  return `${lines.join('\r\n')}\r\n`
}
