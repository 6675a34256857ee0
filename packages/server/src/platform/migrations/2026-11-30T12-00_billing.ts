// Stripe billing: one Stripe customer (and at most one current subscription) per license, the Stripe event ids
// already acted on, and the nightly reconciliation's record of what it repaired. Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('billing_accounts')
    .addColumn('license_id', 'uuid', (c) => c.primaryKey().references('licenses.id').onDelete('cascade'))
    .addColumn('stripe_customer_id', 'text', (c) => c.notNull().unique())
    .addColumn('stripe_subscription_id', 'text', (c) => c.unique())
    // The subscription as Stripe last told us (fetched, never taken from an event's possibly stale copy).
    .addColumn('status', 'text')
    .addColumn('price_id', 'text')
    .addColumn('plan', 'text')
    // Price amounts copied from Stripe's price object: MRR and ARR are computed from these, never from config.
    .addColumn('amount', 'bigint')
    .addColumn('currency', 'text')
    .addColumn('interval', 'text')
    .addColumn('interval_count', 'integer')
    .addColumn('current_period_end', 'timestamptz')
    .addColumn('cancel_at_period_end', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('grace_ends_at', 'timestamptz')
    .addColumn('trial_start', 'timestamptz')
    .addColumn('first_paid_at', 'timestamptz')
    .addColumn('started_at', 'timestamptz')
    .addColumn('canceled_at', 'timestamptz')
    .addColumn('refunded_at', 'timestamptz')
    .addColumn('synced_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // Claimed in the transaction that applies the event: a replay or a concurrent duplicate finds the id taken.
  await db.schema
    .createTable('stripe_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('license_id', 'uuid')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull().check(sql`via in ('webhook','reconciliation')`))
    .addColumn('stripe_created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('billing_reconciliations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('checked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('missed_events', 'integer', (c) => c.notNull().defaultTo(0))
    // [{licenseId, subscriptionId, field, before, after, reason}]
    .addColumn('repairs', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error', 'text')
    .execute()
  await db.schema.createIndex('billing_reconciliations_started_idx').on('billing_reconciliations').column('started_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('billing_reconciliations').execute()
  await db.schema.dropTable('stripe_events').execute()
  await db.schema.dropTable('billing_accounts').execute()
}
