// The audit trail names the key that acted; keys:write no longer covers rotate and revoke (now keys:revoke),
// so every existing API key that held keys:write is given keys:revoke and keeps exactly what it could do.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('actor_kind', 'text').addColumn('actor_key_id', 'uuid').execute()
  await sql`update api_keys set scopes = array_append(scopes, 'keys:revoke') where 'keys:write' = any(scopes) and not ('keys:revoke' = any(scopes))`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`update api_keys set scopes = array_remove(scopes, 'keys:revoke')`.execute(db)
  await db.schema.alterTable('audit_log').dropColumn('actor_key_id').dropColumn('actor_kind').execute()
}
