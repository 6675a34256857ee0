// A version per (license, product) that every write to its knowledge items bumps, kept by a trigger so that plain
// SQL and other instances are seen too. Retrieval reads it in the same statement as the chunk search and rebuilds
// its in-memory index only when it moved: no per-message signature query. No foreign key to licenses: a license's
// cascade deleting its items bumps its version while the license row is going away. Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('knowledge_versions')
    .addColumn('license_id', 'uuid', (c) => c.notNull())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint('knowledge_versions_pk', ['license_id', 'product'])
    .execute()
  await sql`
    create function bump_knowledge_version() returns trigger language plpgsql as $$
    begin
      if tg_op in ('UPDATE', 'DELETE') then
        insert into knowledge_versions (license_id, product) values (old.license_id, old.product)
        on conflict (license_id, product) do update set version = knowledge_versions.version + 1;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        insert into knowledge_versions (license_id, product) values (new.license_id, new.product)
        on conflict (license_id, product) do update set version = knowledge_versions.version + 1;
      end if;
      return null;
    end $$`.execute(db)
  await sql`create trigger knowledge_items_version after insert or update or delete on knowledge_items
    for each row execute function bump_knowledge_version()`.execute(db)
  // Items written before this migration: their products start at version 1.
  await sql`insert into knowledge_versions (license_id, product) select distinct license_id, product from knowledge_items
    on conflict do nothing`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists knowledge_items_version on knowledge_items`.execute(db)
  await sql`drop function if exists bump_knowledge_version()`.execute(db)
  await db.schema.dropTable('knowledge_versions').ifExists().execute()
}
