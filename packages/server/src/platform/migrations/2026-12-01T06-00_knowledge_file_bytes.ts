// An uploaded binary file (a PDF) keeps its bytes here, as an uploaded text file keeps its text in file_body, so a
// re-sync (or a crashed job's retry) can read it again. Frozen once landed.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('knowledge_sources').addColumn('file_bytes', 'bytea').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('knowledge_sources').dropColumn('file_bytes').execute()
}
