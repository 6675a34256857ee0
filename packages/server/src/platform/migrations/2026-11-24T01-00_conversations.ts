// Visitors, conversations, messages, leads and the knowledge base behind the widget.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('visitors')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('conversations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('product_key_id', 'uuid', (c) => c.notNull().references('product_keys.id'))
    .addColumn('visitor_id', 'uuid', (c) => c.notNull().references('visitors.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('page_url', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('conversations_license_idx').on('conversations').columns(['license_id', 'product', 'updated_at']).execute()

  await db.schema
    .createTable('messages')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('conversation_id', 'uuid', (c) => c.notNull().references('conversations.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('visitor','assistant','agent','system')`))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('client_message_id', 'text')
    .addColumn('meta', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('messages_conversation_seq_unique', ['conversation_id', 'seq'])
    .addUniqueConstraint('messages_client_id_unique', ['conversation_id', 'client_message_id'])
    .execute()

  await db.schema
    .createTable('leads')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'uuid', (c) => c.references('conversations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('company', 'text')
    .addColumn('message', 'text')
    .addColumn('consent', 'boolean', (c) => c.notNull())
    .addColumn('answers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('leads_license_idx').on('leads').columns(['license_id', 'created_at']).execute()

  await db.schema
    .createTable('knowledge_items')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('qa','doc')`))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createTable('integration_secrets')
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('integration_secrets_pk', ['license_id', 'product', 'name'])
    .execute()

  await db.schema.createIndex('knowledge_license_idx').on('knowledge_items').columns(['license_id', 'product']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['integration_secrets', 'knowledge_items', 'leads', 'messages', 'conversations', 'visitors'])
    await db.schema.dropTable(t).ifExists().execute()
}
