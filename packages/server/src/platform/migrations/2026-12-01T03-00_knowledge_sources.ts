// Knowledge sources (a site, a sitemap, a page, an uploaded file), the pages a crawl found with why each was
// skipped, and the chunks retrieval ranks with Postgres full-text search (a generated tsvector under a GIN index,
// the same on PGlite). Frozen once landed.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('knowledge_sources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('site','sitemap','page','file')`))
    .addColumn('url', 'text')
    .addColumn('file_name', 'text')
    // An uploaded file's text, kept so a re-sync (or a crashed job's retry) can index it again.
    .addColumn('file_body', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued').check(sql`status in ('queued','crawling','ready','failed')`))
    .addColumn('error', 'text')
    .addColumn('pages_found', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pages_fetched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pages_skipped', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sync_every_days', 'integer', (c) => c.notNull().defaultTo(7))
    .addColumn('next_sync_at', 'timestamptz')
    .addColumn('last_synced_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('knowledge_sources_license_idx').on('knowledge_sources').columns(['license_id', 'product', 'created_at']).execute()

  await db.schema
    .createTable('knowledge_pages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull().references('knowledge_sources.id').onDelete('cascade'))
    .addColumn('license_id', 'uuid', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('title', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('indexed','skipped')`))
    .addColumn('skip_reason', 'text')
    .addColumn('skip_detail', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('depth', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('knowledge_pages_source_url_idx').on('knowledge_pages').columns(['source_id', 'url']).unique().execute()
  await db.schema.createIndex('knowledge_pages_license_idx').on('knowledge_pages').columns(['license_id', 'status']).execute()

  await db.schema
    .createTable('knowledge_chunks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('knowledge_pages.id').onDelete('cascade'))
    .addColumn('source_id', 'text', (c) => c.notNull().references('knowledge_sources.id').onDelete('cascade'))
    .addColumn('license_id', 'uuid', (c) => c.notNull())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('heading_path', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    // Title and headings weigh more than the body (A, B, then D).
    .addColumn('tsv', sql`tsvector`, (c) =>
      c
        .generatedAlwaysAs(
          sql`setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', heading_path), 'B') || setweight(to_tsvector('english', text), 'D')`,
        )
        .stored(),
    )
    .execute()
  await db.schema.createIndex('knowledge_chunks_tsv_idx').on('knowledge_chunks').using('gin').column('tsv').execute()
  await db.schema.createIndex('knowledge_chunks_scope_idx').on('knowledge_chunks').columns(['license_id', 'product']).execute()
  await db.schema.createIndex('knowledge_chunks_page_idx').on('knowledge_chunks').columns(['page_id', 'position']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('knowledge_chunks').ifExists().execute()
  await db.schema.dropTable('knowledge_pages').ifExists().execute()
  await db.schema.dropTable('knowledge_sources').ifExists().execute()
}
