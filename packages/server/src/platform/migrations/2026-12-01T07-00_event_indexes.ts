// Events are read by id (the dispatcher, in seq order) and swept by age, never by license: the two license indexes
// cost every event two index entries (four per widget message and its answer) and served no query. Frozen once landed.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('events_license_idx').ifExists().execute()
  await db.schema.dropIndex('events_license_seq_idx').ifExists().execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('events_license_idx').on('events').columns(['license_id', 'created_at']).execute()
  await db.schema.createIndex('events_license_seq_idx').on('events').columns(['license_id', 'seq']).execute()
}
