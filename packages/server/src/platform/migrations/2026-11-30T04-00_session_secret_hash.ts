// Sessions keep only SHA-256 of a secret that the token carries (see auth/sessions.ts). Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('secret_hash', 'text').execute()
  // Older sessions have no secret to check, and their tokens lack one: they end now and their users log in again.
  await sql`update sessions set revoked_at = now() where revoked_at is null`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('secret_hash').execute()
}
