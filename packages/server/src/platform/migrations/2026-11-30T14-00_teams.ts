// Teams: a license has several users (owner / admin / member), invitations to join it, and sessions that remember
// when they were last used. Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  // One license, many users: the foundation made users.license_id unique (one person per license).
  await sql`alter table users drop constraint if exists users_license_id_key`.execute(db)
  await db.schema
    .alterTable('users')
    .addColumn('team_role', 'text', (c) => c.check(sql`team_role in ('owner','admin','member')`))
    .addColumn('name', 'text')
    .execute()
  // Whoever registered a license so far is its owner.
  await sql`update users set team_role = 'owner' where license_id is not null`.execute(db)
  await db.schema.createIndex('users_license_idx').on('users').column('license_id').execute()
  // A customer account belongs to a team (license) with a role, or to none (removed); operators have neither.
  await sql`alter table users add constraint users_team_role_license check ((license_id is null) = (team_role is null))`.execute(db)
  // Exactly one owner per license.
  await sql`create unique index users_one_owner on users (license_id) where team_role = 'owner'`.execute(db)

  await db.schema
    .createTable('team_invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin','member')`))
    // SHA-256 of the token the accept link carries; the token itself is shown once to the inviter.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('invited_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('accepted_user_id', 'uuid')
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  // One open invitation per address and license: inviting again replaces it (closed in the same transaction).
  await sql`create unique index team_invitations_open on team_invitations (license_id, lower(email)) where accepted_at is null and revoked_at is null`.execute(
    db,
  )

  await db.schema.alterTable('sessions').addColumn('last_seen_at', 'timestamptz').execute()
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_user_idx').execute()
  await db.schema.alterTable('sessions').dropColumn('last_seen_at').execute()
  await db.schema.dropTable('team_invitations').execute()
  await sql`drop index users_one_owner`.execute(db)
  await sql`alter table users drop constraint users_team_role_license`.execute(db)
  await db.schema.dropIndex('users_license_idx').execute()
  await db.schema.alterTable('users').dropColumn('team_role').dropColumn('name').execute()
  await sql`alter table users add constraint users_license_id_key unique (license_id)`.execute(db)
}
