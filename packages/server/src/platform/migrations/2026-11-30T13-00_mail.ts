// Mail and the license lifecycle: the mail outbox (every message, its status and attempts), the orders a license
// holds (so a second purchase joins the buyer's license and a refund takes back only what its order granted), and
// single-use account tokens (password reset, email change). Frozen once landed: change the schema in a new file.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('license_id', 'uuid', (c) => c.references('licenses.id'))
    .addColumn('to_email', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    // Encrypted with ENCRYPTION_KEYS: bodies hold license keys and reset links.
    .addColumn('body_text', 'text', (c) => c.notNull())
    .addColumn('body_html', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued').check(sql`status in ('queued','sent','failed','kept')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('provider_message_id', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    // One message per cause (an event consumer that runs twice sends once).
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .execute()
  await db.schema.createIndex('mail_outbox_created_idx').on('mail_outbox').column('created_at').execute()
  await db.schema.createIndex('mail_outbox_license_idx').on('mail_outbox').columns(['license_id', 'created_at']).execute()
  await sql`create index mail_outbox_to_idx on mail_outbox (lower(to_email), created_at)`.execute(db)

  await db.schema
    .createTable('license_orders')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('products', sql`text[]`, (c) => c.notNull())
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active','cancelled','refunded')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .addUniqueConstraint('license_orders_source_order_unique', ['source', 'order_id'])
    .execute()
  await db.schema.createIndex('license_orders_license_idx').on('license_orders').column('license_id').execute()
  // Every license issued for an order so far held exactly that order.
  await sql`
    insert into license_orders (license_id, source, order_id, email, products, tier, created_at)
    select id, source, external_order_id, email, products, tier, created_at from licenses where external_order_id is not null`.execute(db)
  await sql`create index licenses_email_idx on licenses (lower(email))`.execute(db)

  await db.schema
    .createTable('account_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('password_reset','email_change')`))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('new_email', 'text')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('account_tokens_user_idx').on('account_tokens').columns(['user_id', 'kind']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('account_tokens').ifExists().execute()
  await sql`drop index if exists licenses_email_idx`.execute(db)
  await db.schema.dropTable('license_orders').ifExists().execute()
  await db.schema.dropTable('mail_outbox').ifExists().execute()
}
