// The widget's page API: custom attributes and the verified user on a conversation (Intelagent('update'),
// Intelagent('identify')), and one visitor per verified user and product, so the user finds their
// conversations on any device.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('conversations')
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('user_id', 'text')
    .addColumn('user_email', 'text')
    .addColumn('user_name', 'text')
    .execute()
  await db.schema
    .createIndex('conversations_user_idx')
    .on('conversations')
    .columns(['license_id', 'product', 'user_id', 'updated_at'])
    .where(sql.ref('user_id'), 'is not', null)
    .execute()

  await db.schema
    .alterTable('visitors')
    .addColumn('product', 'text')
    .addColumn('user_id', 'text')
    .addColumn('user_email', 'text')
    .addColumn('user_name', 'text')
    .execute()
  // One visitor per verified user: a unique key, so two devices identifying at once still share it.
  await db.schema
    .createIndex('visitors_user_unique')
    .on('visitors')
    .columns(['license_id', 'product', 'user_id'])
    .unique()
    .where(sql.ref('user_id'), 'is not', null)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('visitors_user_unique').ifExists().execute()
  await db.schema.alterTable('visitors').dropColumn('user_name').dropColumn('user_email').dropColumn('user_id').dropColumn('product').execute()
  await db.schema.dropIndex('conversations_user_idx').ifExists().execute()
  await db.schema.alterTable('conversations').dropColumn('user_name').dropColumn('user_email').dropColumn('user_id').dropColumn('attributes').execute()
}
