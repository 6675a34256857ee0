// Kysely over pg (DATABASE_URL) or PGlite (embedded), one table type per table.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type ColumnType, type Generated, Kysely, PGliteDialect, PostgresDialect, type Selectable, sql } from 'kysely'
import pg from 'pg'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
type Json<T> = ColumnType<T, string, string>
type RawBuilderLike = ReturnType<typeof sql<string>>

export interface LicensesTable {
  id: Generated<string>
  key: string
  email: string
  products: string[]
  tier: string
  status: 'active' | 'suspended' | 'revoked'
  source: string
  external_order_id: string | null
  claimed_at: NullableTimestamp
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface WebhookEventsTable {
  id: Generated<string>
  source: string
  event_id: string
  topic: string
  status: Generated<string>
  error: string | null
  payload: Json<unknown>
  created_at: Generated<Date>
  processed_at: NullableTimestamp
}

export interface UsersTable {
  id: Generated<string>
  license_id: string | null
  email: string
  password_hash: string
  role: 'customer' | 'admin'
  created_at: Generated<Date>
}

export interface SessionsTable {
  id: string
  /** SHA-256 (hex) of the session secret the token carries; null only on rows from before hashed sessions (revoked). */
  secret_hash: string | null
  user_id: string
  license_id: string | null
  ip: string | null
  user_agent: string | null
  created_at: Generated<Date>
  expires_at: Timestamp
  revoked_at: NullableTimestamp
}

export interface ProductKeysTable {
  id: Generated<string>
  license_id: string
  product: string
  kind: 'publishable' | 'secret'
  lookup: string
  plaintext: string | null
  start: string
  allowed_origins: string[]
  status: Generated<'active' | 'revoked'>
  expires_at: NullableTimestamp
  replaced_by: string | null
  created_at: Generated<Date>
  revoked_at: NullableTimestamp
  last_used_at: NullableTimestamp
}

export interface ProductSettingsTable {
  license_id: string
  product: string
  settings: Json<Record<string, unknown>>
  updated_at: Generated<Date>
}

export interface AuditLogTable {
  id: Generated<string>
  license_id: string | null
  actor: string | null
  actor_kind: string | null
  actor_key_id: string | null
  action: string
  target: string | null
  ip: string | null
  meta: Json<Record<string, unknown>>
  created_at: Generated<Date>
}

export interface VisitorsTable {
  id: Generated<string>
  license_id: string
  secret_hash: string
  created_at: Generated<Date>
  last_seen_at: Generated<Date>
}

export interface ConversationsTable {
  id: Generated<string>
  license_id: string
  product: string
  product_key_id: string
  visitor_id: string
  status: Generated<'open' | 'closed'>
  last_seq: Generated<number>
  page_url: string | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface MessagesTable {
  id: Generated<string>
  license_id: string
  conversation_id: string
  seq: number
  role: 'visitor' | 'assistant' | 'agent' | 'system'
  text: string
  client_message_id: string | null
  meta: Json<Record<string, unknown>>
  created_at: Generated<Date>
}

export interface LeadsTable {
  id: Generated<string>
  license_id: string
  product: string
  conversation_id: string | null
  name: string
  email: string
  company: string | null
  message: string | null
  consent: boolean
  answers: Json<Record<string, string>>
  created_at: Generated<Date>
  page_url: string | null
  referrer: string | null
  user_agent: string | null
  /** The visitor's network (IPv4 /24, IPv6 /48), never the full address. */
  ip_network: string | null
  /** What enrichment found (enrichment/service.ts EnrichResult); null until it ran. */
  enrichment: Json<Record<string, unknown>> | null
  enriched_at: NullableTimestamp
}

export interface KnowledgeItemsTable {
  id: Generated<string>
  license_id: string
  product: string
  kind: 'qa' | 'doc'
  title: string
  body: string
  created_at: Generated<Date>
}

export interface IntegrationSecretsTable {
  license_id: string
  product: string
  /** e.g. 'webhook_signing_secret', 'openai_api_key' */
  name: string
  /** AES-256-GCM, see platform/secrets.ts */
  ciphertext: string
  /** Last 4 characters, for display. */
  hint: string
  updated_at: Generated<Date>
}

export interface ApiKeysTable {
  id: Generated<string>
  license_id: string
  name: string
  lookup: string
  start: string
  scopes: string[]
  status: Generated<'active' | 'revoked'>
  expires_at: Timestamp
  last_used_at: NullableTimestamp
  use_count: ColumnType<string, never, RawBuilderLike>
  created_by: string | null
  created_at: Generated<Date>
  revoked_at: NullableTimestamp
}

export interface Database {
  licenses: LicensesTable
  webhook_events: WebhookEventsTable
  users: UsersTable
  sessions: SessionsTable
  product_keys: ProductKeysTable
  product_settings: ProductSettingsTable
  audit_log: AuditLogTable
  visitors: VisitorsTable
  conversations: ConversationsTable
  messages: MessagesTable
  leads: LeadsTable
  knowledge_items: KnowledgeItemsTable
  integration_secrets: IntegrationSecretsTable
  api_keys: ApiKeysTable
}

export type Db = Kysely<Database>
export type License = Selectable<LicensesTable>
export type User = Selectable<UsersTable>
export type ProductKeyRow = Selectable<ProductKeysTable>
export type MessageRow = Selectable<MessagesTable>
export type ConversationRow = Selectable<ConversationsTable>

export interface DbOptions {
  databaseUrl: string | undefined
  dataDir: string
  /** Postgres schema to use (tests give each run its own). */
  schema?: string
  /** PGlite in memory instead of under dataDir (tests). */
  memory?: boolean
  poolSize?: number
}

export async function createDb(options: DbOptions): Promise<Db> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    })
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  }
  const { PGlite } = await import('@electric-sql/pglite')
  let dataDir: string | undefined
  if (!options.memory) {
    dataDir = join(options.dataDir, 'pgdata')
    mkdirSync(dataDir, { recursive: true })
  }
  const pglite = await PGlite.create(dataDir)
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) })
}

export async function pingDb(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}

/** Postgres unique violation, the signal that an idempotent insert lost a race. */
export const isUniqueViolation = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'
