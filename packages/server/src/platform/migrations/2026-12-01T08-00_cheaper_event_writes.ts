// Two writes fewer for every event (four events' worth per widget message and its answer), behaviour unchanged:
// - The analytics consumers' record of the events they counted loses its foreign key to events: checking it locked
//   every counted event's row (FOR KEY SHARE, one more write to a row the dispatcher had just rewritten). The records
//   still go with their events: a statement-level trigger deletes them when events are deleted (the hourly prune),
//   one statement per prune instead of a check per record.
// - The prune's index on created_at becomes a BRIN index: events are written in time order and only the prune reads
//   by age, so a summary per range of pages serves it; the B-tree took an entry for every insert and for every
//   dispatch (which rewrites the row). Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table analytics_counted_events drop constraint if exists analytics_counted_events_event_id_fkey`.execute(db)
  await sql`
    create function forget_counted_events() returns trigger language plpgsql as $$
    begin
      delete from analytics_counted_events where event_id in (select id from gone);
      return null;
    end $$`.execute(db)
  await sql`create trigger events_forget_counted after delete on events
    referencing old table as gone for each statement execute function forget_counted_events()`.execute(db)
  // Records whose event is already gone (none while the foreign key held; this keeps the migration total).
  await sql`delete from analytics_counted_events c where not exists (select 1 from events e where e.id = c.event_id)`.execute(db)

  await db.schema.dropIndex('events_created_idx').ifExists().execute()
  await sql`create index events_created_brin on events using brin (created_at)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('events_created_brin').ifExists().execute()
  await db.schema.createIndex('events_created_idx').on('events').column('created_at').execute()
  await sql`drop trigger if exists events_forget_counted on events`.execute(db)
  await sql`drop function if exists forget_counted_events()`.execute(db)
  await sql`alter table analytics_counted_events add constraint analytics_counted_events_event_id_fkey
    foreign key (event_id) references events (id) on delete cascade`.execute(db)
}
