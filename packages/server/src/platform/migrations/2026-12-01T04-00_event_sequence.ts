// Events get a sequence: two events written in the same millisecond (or the same transaction, which shares one
// now()) still have an order, and a reader lists them in the order they happened. Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events add column seq bigint generated always as identity`.execute(db)
  await db.schema.createIndex('events_license_seq_idx').on('events').columns(['license_id', 'seq']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('events_license_seq_idx').ifExists().execute()
  await sql`alter table events drop column seq`.execute(db)
}
