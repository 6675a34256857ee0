// The analytics report (src/analytics/report.ts) at scale on real Postgres, in a throwaway schema:
//   DATABASE_URL=postgres://… npx tsx packages/server/bench/analytics-report.ts
// 5 licenses × 2 products × 366 days: 500 conversations a day each (1.8M conversation facts), 300 distinct
// questions a day per kind (2.2M question rows). The figures in docs/analytics.md come from here.

import { sql } from 'kysely'
import pg from 'pg'
import { analyticsReport } from '../src/analytics/report.js'
import { issueLicense } from '../src/licenses/queries.js'
import { createDb } from '../src/platform/db.js'
import { migrateToLatest } from '../src/platform/migrate.js'

const url = process.env.DATABASE_URL
if (!url) throw new Error('DATABASE_URL is required')
const schema = `bench_analytics_${Date.now()}`
const c = new pg.Client({ connectionString: url })
await c.connect()
await c.query(`create schema ${schema}`)
await c.end()
const db = await createDb({ databaseUrl: url, dataDir: '/tmp', schema, poolSize: 4 })
try {
  await migrateToLatest(db)
  const ids: string[] = []
  for (let i = 0; i < 5; i++)
    ids.push(
      (await issueLicense(db, { source: 'cli', orderId: `o${i}`, email: `b${i}@example.com`, products: ['chatbot', 'sales-agent'], tier: 'business' })).license
        .id,
    )
  const lic = sql.raw(`array['${ids.join("','")}']::uuid[]`)
  await sql`insert into analytics_daily (license_id, product, day, conversations, visitor_messages, bot_messages, answered_bot, leads)
    select l, p, d::date, 500, 2000, 2500, 400, 20 from unnest(${lic}) l, unnest(array['chatbot','sales-agent']) p, generate_series('2025-11-30'::date, '2026-11-30'::date, interval '1 day') d`.execute(
    db,
  )
  // 500 conversations a day per product and license: 1.8M facts rows.
  await sql`insert into analytics_conversations (conversation_id, license_id, product, day, first_response_ms, outcome)
    select gen_random_uuid(), l, p, d::date, (random() * 60000)::int, 'bot'
    from unnest(${lic}) l, unnest(array['chatbot','sales-agent']) p, generate_series('2025-11-30'::date, '2026-11-30'::date, interval '1 day') d, generate_series(1, 500) g`.execute(
    db,
  )
  // 300 distinct questions a day per kind, product and license: 2.2M rows.
  await sql`insert into analytics_questions (license_id, product, day, kind, normalized, count)
    select l, p, d::date, k, 'question number ' || (g * 7 % 1000), 1 + g % 5
    from unnest(${lic}) l, unnest(array['chatbot','sales-agent']) p, unnest(array['asked','unanswered']) k, generate_series('2025-11-30'::date, '2026-11-30'::date, interval '1 day') d, generate_series(1, 300) g`.execute(
    db,
  )
  await sql`insert into analytics_question_texts (license_id, product, kind, normalized, sample)
    select l, p, k, 'question number ' || g, 'Question number ' || g from unnest(${lic}) l, unnest(array['chatbot','sales-agent']) p, unnest(array['asked','unanswered']) k, generate_series(0, 999) g`.execute(
    db,
  )
  await sql`vacuum analyze`.execute(db)
  for (const [from, product] of [
    ['2026-11-01', 'chatbot'],
    ['2025-11-30', 'chatbot'],
    ['2025-11-30', null],
    ['2026-11-01', null],
  ] as const) {
    for (let run = 0; run < 3; run++) {
      const t = performance.now()
      const r = await analyticsReport(db, ids[0] as string, product, { from, to: '2026-11-30' })
      console.log(
        from,
        product ?? 'all',
        `${(performance.now() - t).toFixed(0)} ms`,
        r.days.length,
        r.totals.conversations,
        r.totals.medianFirstResponseMs,
        r.topQuestions.length,
      )
    }
  }
} finally {
  await db.destroy()
  const d = new pg.Client({ connectionString: url })
  await d.connect()
  await d.query(`drop schema ${schema} cascade`)
  await d.end()
}
