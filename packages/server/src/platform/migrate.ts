// Runs the migrations in order with Kysely's Migrator; its lock makes concurrent starts safe.
import { sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import type { Db } from './db.js'
import * as foundation from './migrations/2026-11-24T00-00_foundation.js'
import * as conversations from './migrations/2026-11-24T01-00_conversations.js'
import * as apiKeys from './migrations/2026-11-24T02-00_api_keys.js'
import * as keyPowers from './migrations/2026-11-30T02-00_key_powers.js'
import * as sessionSecretHash from './migrations/2026-11-30T04-00_session_secret_hash.js'
import * as jobsEvents from './migrations/2026-11-30T08-00_jobs_events.js'
import * as widgetIdentity from './migrations/2026-11-30T09-00_widget_identity.js'
import * as leadEnrichment from './migrations/2026-11-30T10-00_lead_enrichment.js'
import * as usage from './migrations/2026-11-30T11-00_usage.js'
import * as billing from './migrations/2026-11-30T12-00_billing.js'
import * as mail from './migrations/2026-11-30T13-00_mail.js'
import * as teams from './migrations/2026-11-30T14-00_teams.js'
import * as conversationListIndex from './migrations/2026-11-30T15-00_conversation_list_index.js'
import * as webhookEndpoints from './migrations/2026-11-30T16-00_webhook_endpoints.js'
import * as lifecycle from './migrations/2026-12-01T01-00_lifecycle.js'
import * as analytics from './migrations/2026-12-01T02-00_analytics.js'
import * as knowledgeSources from './migrations/2026-12-01T03-00_knowledge_sources.js'
import * as eventSequence from './migrations/2026-12-01T04-00_event_sequence.js'
import * as knowledgeVersions from './migrations/2026-12-01T05-00_knowledge_versions.js'
import * as knowledgeFileBytes from './migrations/2026-12-01T06-00_knowledge_file_bytes.js'
import * as eventIndexes from './migrations/2026-12-01T07-00_event_indexes.js'
import * as cheaperEventWrites from './migrations/2026-12-01T08-00_cheaper_event_writes.js'

const migrations: Record<string, Migration> = {
  '2026-11-24T00-00_foundation': foundation,
  '2026-11-24T01-00_conversations': conversations,
  '2026-11-24T02-00_api_keys': apiKeys,
  '2026-11-30T02-00_key_powers': keyPowers,
  '2026-11-30T04-00_session_secret_hash': sessionSecretHash,
  '2026-11-30T08-00_jobs_events': jobsEvents,
  '2026-11-30T09-00_widget_identity': widgetIdentity,
  '2026-11-30T10-00_lead_enrichment': leadEnrichment,
  '2026-11-30T15-00_conversation_list_index': conversationListIndex,
  '2026-11-30T12-00_billing': billing,
  '2026-11-30T14-00_teams': teams,
  '2026-11-30T13-00_mail': mail,
  '2026-11-30T11-00_usage': usage,
  '2026-11-30T16-00_webhook_endpoints': webhookEndpoints,
  '2026-12-01T02-00_analytics': analytics,
  '2026-12-01T01-00_lifecycle': lifecycle,
  '2026-12-01T03-00_knowledge_sources': knowledgeSources,
  '2026-12-01T04-00_event_sequence': eventSequence,
  '2026-12-01T05-00_knowledge_versions': knowledgeVersions,
  '2026-12-01T06-00_knowledge_file_bytes': knowledgeFileBytes,
  '2026-12-01T07-00_event_indexes': eventIndexes,
  '2026-12-01T08-00_cheaper_event_writes': cheaperEventWrites,
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

export async function migrateToLatest(db: Db): Promise<string[]> {
  // Without an explicit schema Kysely's Migrator takes a bookkeeping table found in ANY schema as its own,
  // so a second schema in the same database (another app, or tests) would skip creating its lock table
  // and fail. Pin the bookkeeping to the schema the migrations themselves land in.
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)
  const migrationTableSchema = rows[0]?.schema ?? undefined
  // Two instances racing to create Kysely's own bookkeeping tables can collide once; the lock
  // serialises everything after that, so a short retry is all that is needed.
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await new Migrator({ db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) }).migrateToLatest()
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    if (attempt >= 5) throw error
    await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 50))
  }
}
