// Analytics (src/analytics/): daily rollups per license, product and UTC day; per-conversation facts (how it was
// answered, its first-response time, for the median); question counts per day by normalised text; and the events
// already counted, so a retried consumer job counts nothing twice. docs/analytics.md defines every figure.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('analytics_daily')
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('conversations', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('visitor_messages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bot_messages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('person_messages', 'integer', (c) => c.notNull().defaultTo(0))
    // Conversations started that day, by how they were answered (they move between these as they go on).
    .addColumn('answered_bot', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('answered_person', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('not_answered', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rated_helpful', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rated_not_helpful', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('leads', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unanswered_questions', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('analytics_daily_pkey', ['license_id', 'product', 'day'])
    .execute()
  // The report reads a license's days across products.
  await db.schema.createIndex('analytics_daily_license_day_idx').on('analytics_daily').columns(['license_id', 'day']).execute()

  await db.schema
    .createTable('analytics_conversations')
    .addColumn('conversation_id', 'uuid', (c) => c.primaryKey())
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('product', 'text', (c) => c.notNull())
    // The UTC day the conversation started: every per-conversation figure counts on it.
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('first_visitor_seq', 'integer')
    .addColumn('first_visitor_at', 'timestamptz')
    .addColumn('first_response_at', 'timestamptz')
    .addColumn('first_response_ms', 'integer')
    .addColumn('first_response_by', 'text', (c) => c.check(sql`first_response_by in ('bot', 'person')`))
    .addColumn('bot_replied', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('person_replied', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('waiting', 'boolean', (c) => c.notNull().defaultTo(false))
    // none (the visitor never wrote) | bot | person | not_answered: the rollup column it is counted in.
    .addColumn('outcome', 'text', (c) => c.notNull().defaultTo('none').check(sql`outcome in ('none', 'bot', 'person', 'not_answered')`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('analytics_conversations_day_idx')
    .on('analytics_conversations')
    .columns(['license_id', 'product', 'day', 'first_response_ms'])
    .execute()

  // A rating per rated message: a later rating replaces the earlier one in the counts.
  await db.schema
    .createTable('analytics_ratings')
    .addColumn('message_id', 'uuid', (c) => c.primaryKey())
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('rating', 'text', (c) => c.notNull().check(sql`rating in ('helpful', 'not_helpful')`))
    .addColumn('rated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .execute()

  // Per day, only the normalised text and its count: the top questions of a range are summed from this primary key
  // alone (an index-only scan, count INCLUDEd), however many days and distinct questions the range holds.
  await sql`
    create table analytics_questions (
      license_id uuid not null references licenses (id) on delete cascade,
      product text not null,
      day date not null,
      -- asked: a visitor's message; unanswered: a question the bot could not answer (question.unanswered).
      kind text not null check (kind in ('asked', 'unanswered')),
      normalized text not null,
      count integer not null default 0,
      constraint analytics_questions_pkey primary key (license_id, product, kind, day, normalized) include (count)
    )`.execute(db)
  // The wording shown for a normalised question: the first seen, once per license, product and kind.
  await db.schema
    .createTable('analytics_question_texts')
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('normalized', 'text', (c) => c.notNull())
    .addColumn('sample', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_question_texts_pkey', ['license_id', 'product', 'kind', 'normalized'])
    .execute()

  // Idempotency: the consumer records the event it counted in the same transaction as the counting. The row goes
  // when the event itself is pruned (a job for a pruned event finds nothing to do), so the table stays small.
  await db.schema
    .createTable('analytics_counted_events')
    .addColumn('event_id', 'text', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_counted_events_pkey', ['event_id', 'consumer'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'analytics_counted_events',
    'analytics_question_texts',
    'analytics_questions',
    'analytics_ratings',
    'analytics_conversations',
    'analytics_daily',
  ])
    await db.schema.dropTable(t).ifExists().execute()
}
