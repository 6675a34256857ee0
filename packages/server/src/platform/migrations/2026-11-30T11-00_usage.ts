// Usage metering (src/usage/): the counters flushed from the cache, the warnings already sent (once per period each),
// and per conversation whether it counts (started past a quota or a visitor cap) and whether the owner flagged it.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('usage')
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    // conversations | messages | aiReplies | apiCalls
    .addColumn('metric', 'text', (c) => c.notNull())
    // 'period': the billing period's total; 'day': one UTC day's (the dashboard's chart).
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('period', 'day')`))
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('usage_pkey', ['license_id', 'metric', 'kind', 'starts_at'])
    .execute()

  await db.schema
    .createTable('usage_warnings')
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('period_start', 'timestamptz', (c) => c.notNull())
    // '80' | '100' | 'forecast'
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('usage_warnings_pkey', ['license_id', 'metric', 'period_start', 'level'])
    .execute()

  await db.schema
    .alterTable('conversations')
    // null: counted; 'quota' or 'visitor_cap': started past one, so a person answers it (no engine replies).
    .addColumn('unmetered', 'text')
    .addColumn('flagged_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('conversations').dropColumn('unmetered').dropColumn('flagged_at').execute()
  await db.schema.dropTable('usage_warnings').execute()
  await db.schema.dropTable('usage').execute()
}
