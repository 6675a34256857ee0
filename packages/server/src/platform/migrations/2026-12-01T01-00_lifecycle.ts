// The conversation lifecycle (open → waiting for a person → closed, human takeover), answer ratings and the
// unanswered questions collected per product. Frozen once landed: change the schema in a new file.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table conversations add constraint conversations_status_check check (status in ('open','waiting','closed'))`.execute(db)
  await db.schema
    .alterTable('conversations')
    // Why it waits for a person (conversation.waiting's reason); null unless status = 'waiting'.
    .addColumn('waiting_reason', 'text', (c) => c.check(sql`waiting_reason in ('unanswered','visitor_request','quota')`))
    .addColumn('waiting_since', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('closed_by', 'text', (c) => c.check(sql`closed_by in ('owner','inactivity')`))
    // Human takeover: while set, no engine replies in this conversation (who took it over is in taken_over_by).
    .addColumn('taken_over_at', 'timestamptz')
    .addColumn('taken_over_by', 'text')
    .execute()
  // The inactivity sweep reads only conversations that are not closed, oldest activity first.
  await sql`create index conversations_inactive_idx on conversations (updated_at) where status <> 'closed'`.execute(db)

  await db.schema
    .alterTable('messages')
    .addColumn('rating', 'text', (c) => c.check(sql`rating in ('helpful','not_helpful')`))
    .addColumn('rated_at', 'timestamptz')
    .execute()

  await db.schema
    .createTable('unanswered_questions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('product', 'text', (c) => c.notNull())
    // What groups repeats: lowercased, accents folded, punctuation and spacing collapsed.
    .addColumn('normalized', 'text', (c) => c.notNull())
    // The latest wording a visitor used.
    .addColumn('question', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('first_asked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_asked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('example_conversation_id', 'uuid', (c) => c.references('conversations.id'))
    .addColumn('example_message_id', 'uuid')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open','answered','dismissed')`))
    .addColumn('knowledge_item_id', 'uuid')
    .addColumn('resolved_at', 'timestamptz')
    .execute()
  // One open entry per question: a repeat counts on it (a dismissed or answered one asked again opens a new entry).
  await sql`create unique index unanswered_open_unique on unanswered_questions (license_id, product, normalized) where status = 'open'`.execute(db)
  await sql`create index unanswered_rank_idx on unanswered_questions (license_id, product, count desc, last_asked_at desc) where status = 'open'`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('unanswered_questions').ifExists().execute()
  await db.schema.alterTable('messages').dropColumn('rated_at').dropColumn('rating').execute()
  await sql`drop index if exists conversations_inactive_idx`.execute(db)
  await db.schema
    .alterTable('conversations')
    .dropColumn('taken_over_by')
    .dropColumn('taken_over_at')
    .dropColumn('closed_by')
    .dropColumn('closed_at')
    .dropColumn('waiting_since')
    .dropColumn('waiting_reason')
    .execute()
  await sql`alter table conversations drop constraint if exists conversations_status_check`.execute(db)
}
