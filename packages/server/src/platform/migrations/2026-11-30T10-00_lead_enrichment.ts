// Leads keep what enrichment reads (page, referrer, user agent, the visitor's network) and what it found. Frozen once landed.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('leads')
    .addColumn('page_url', 'text')
    .addColumn('referrer', 'text')
    .addColumn('user_agent', 'text')
    // The network only (IPv4 /24, IPv6 /48): enough for a country, not the visitor's address.
    .addColumn('ip_network', 'text')
    .addColumn('enrichment', 'jsonb')
    .addColumn('enriched_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('leads')
    .dropColumn('page_url')
    .dropColumn('referrer')
    .dropColumn('user_agent')
    .dropColumn('ip_network')
    .dropColumn('enrichment')
    .dropColumn('enriched_at')
    .execute()
}
