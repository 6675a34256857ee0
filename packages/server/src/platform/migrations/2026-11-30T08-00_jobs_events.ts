// Durable jobs (claimed with FOR UPDATE SKIP LOCKED, leased so a dead worker's job is taken over) and the
// domain events outbox, written in the same transaction as the change each event describes.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued').check(sql`status in ('queued','running','done','dead')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(5).check(sql`max_attempts >= 1`))
    .addColumn('run_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('dedupe_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // The worker's two questions, each served by a small partial index: what is due, whose lease ran out.
  await db.schema.createIndex('jobs_due_idx').on('jobs').column('run_at').where(sql.ref('status'), '=', 'queued').execute()
  await db.schema.createIndex('jobs_lease_idx').on('jobs').column('locked_until').where(sql.ref('status'), '=', 'running').execute()
  // One live job per dedupe key; once it is done or dead the same key may be enqueued again.
  await sql`create unique index jobs_dedupe_idx on jobs (dedupe_key) where dedupe_key is not null and status in ('queued', 'running')`.execute(db)
  // The operator listing (by status, newest first) and the pruning of old finished jobs.
  await db.schema.createIndex('jobs_status_idx').on('jobs').columns(['status', 'updated_at']).execute()

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('license_id', 'uuid')
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('dispatched_at', 'timestamptz')
    .execute()
  await sql`create index events_undispatched_idx on events (created_at) where dispatched_at is null`.execute(db)
  await db.schema.createIndex('events_license_idx').on('events').columns(['license_id', 'created_at']).execute()
  // Pruning by age.
  await db.schema.createIndex('events_created_idx').on('events').column('created_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('events').ifExists().execute()
  await db.schema.dropTable('jobs').ifExists().execute()
}
