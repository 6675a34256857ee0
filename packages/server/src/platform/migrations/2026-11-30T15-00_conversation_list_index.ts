// The conversation list's keyset order (updated_at desc, id desc within a license and product) as one index, so a
// page is an index range scan that stops after `limit` rows (conversations/queries.ts has the plan). It replaces
// conversations_license_idx (license_id, product, updated_at), whose every use it also serves.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('conversations_list_idx')
    .on('conversations')
    .columns(['license_id', 'product'])
    .expression(sql`updated_at desc, id desc`)
    .execute()
  await db.schema.dropIndex('conversations_license_idx').ifExists().execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('conversations_license_idx').on('conversations').columns(['license_id', 'product', 'updated_at']).execute()
  await db.schema.dropIndex('conversations_list_idx').ifExists().execute()
}
