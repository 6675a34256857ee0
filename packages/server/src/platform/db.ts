// Kysely over pg (DATABASE_URL) or PGlite (embedded), one table type per table.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type ColumnType, type Driver, type Generated, Kysely, type KyselyConfig, PGliteDialect, PostgresDialect, type Selectable, sql } from 'kysely'
import pg from 'pg'
import { lockDataDir } from './data-dir-lock.js'
import { coalesced, type Listen, pgListener, WAKE_CHANNEL, wakingDialect } from './notify.js'

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
  /** The user's role in their license's team; null for operators and for customers removed from their team. */
  team_role: ColumnType<TeamRole | null, TeamRole | null | undefined, TeamRole | null>
  name: ColumnType<string | null, string | null | undefined, string | null>
  created_at: Generated<Date>
}

export type TeamRole = 'owner' | 'admin' | 'member'

export interface TeamInvitationsTable {
  id: Generated<string>
  license_id: string
  email: string
  role: 'admin' | 'member'
  token_hash: string
  /** The inviter's email (kept as text: the audit trail names people the same way). */
  invited_by: string | null
  created_at: Generated<Date>
  expires_at: Timestamp
  accepted_at: NullableTimestamp
  accepted_user_id: string | null
  revoked_at: NullableTimestamp
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
  /** Last request seen on the session (written when the session is read from Postgres, so to within minutes). */
  last_seen_at: NullableTimestamp
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
  /** Set, with user_id, only for the one visitor of a verified user (Intelagent('identify')) per product. */
  product: ColumnType<string | null, string | null | undefined, string | null>
  user_id: ColumnType<string | null, string | null | undefined, string | null>
  /** The user's email and name as the page last gave them. */
  user_email: ColumnType<string | null, string | null | undefined, string | null>
  user_name: ColumnType<string | null, string | null | undefined, string | null>
  created_at: Generated<Date>
  last_seen_at: Generated<Date>
}

export interface ConversationsTable {
  id: Generated<string>
  license_id: string
  product: string
  product_key_id: string
  visitor_id: string
  status: Generated<'open' | 'waiting' | 'closed'>
  last_seq: Generated<number>
  page_url: string | null
  /** Custom attributes from Intelagent('update'): at most 20 scalar values. */
  attributes: ColumnType<Record<string, string | number | boolean>, string | undefined, string>
  /** The verified user (Intelagent('identify')), null for anonymous visitors. */
  user_id: ColumnType<string | null, string | null | undefined, string | null>
  user_email: ColumnType<string | null, string | null | undefined, string | null>
  user_name: ColumnType<string | null, string | null | undefined, string | null>
  /** Started past a quota or a visitor cap (src/usage/): a person answers it, no engine replies. Null: counted. */
  unmetered: ColumnType<'quota' | 'visitor_cap' | null, 'quota' | 'visitor_cap' | null | undefined, 'quota' | 'visitor_cap' | null>
  /** Flagged as abuse by the owner: its usage was given back and it counts no more. */
  flagged_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** Why it waits for a person (src/conversations/lifecycle.ts); null unless status is 'waiting'. */
  waiting_reason: ColumnType<WaitingReason | null, WaitingReason | null | undefined, WaitingReason | null>
  waiting_since: ColumnType<Date | null, Date | null | undefined, Date | null>
  closed_at: ColumnType<Date | null, Date | null | undefined, Date | null>
  closed_by: ColumnType<'owner' | 'inactivity' | null, 'owner' | 'inactivity' | null | undefined, 'owner' | 'inactivity' | null>
  /** Human takeover: while set, no engine replies in this conversation. */
  taken_over_at: ColumnType<Date | null, Date | null | undefined, Date | null>
  taken_over_by: ColumnType<string | null, string | null | undefined, string | null>
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type WaitingReason = 'unanswered' | 'visitor_request' | 'quota'
export type Rating = 'helpful' | 'not_helpful'

export interface UnansweredQuestionsTable {
  id: Generated<string>
  license_id: string
  product: string
  normalized: string
  question: string
  count: Generated<number>
  first_asked_at: Generated<Date>
  last_asked_at: Generated<Date>
  example_conversation_id: string | null
  example_message_id: string | null
  status: Generated<'open' | 'answered' | 'dismissed'>
  knowledge_item_id: string | null
  resolved_at: Date | null
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
  rating: ColumnType<Rating | null, Rating | null | undefined, Rating | null>
  rated_at: ColumnType<Date | null, Date | null | undefined, Date | null>
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

/** Bumped by a trigger on every write to a product's knowledge items (retrieval's index cache compares it). */
export interface KnowledgeVersionsTable {
  license_id: string
  product: string
  version: Generated<string>
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

export interface KnowledgeSourcesTable {
  id: string
  license_id: string
  product: string
  kind: 'site' | 'sitemap' | 'page' | 'file'
  url: string | null
  file_name: string | null
  file_body: string | null
  /** An uploaded PDF's bytes (file_body holds a text file's text). */
  file_bytes: Uint8Array | null
  status: Generated<'queued' | 'crawling' | 'ready' | 'failed'>
  error: string | null
  pages_found: Generated<number>
  pages_fetched: Generated<number>
  pages_skipped: Generated<number>
  chunks: Generated<number>
  sync_every_days: Generated<number>
  next_sync_at: Date | null
  last_synced_at: Date | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface KnowledgePagesTable {
  id: string
  source_id: string
  license_id: string
  url: string
  title: string | null
  status: 'indexed' | 'skipped'
  skip_reason: string | null
  skip_detail: string | null
  content_hash: string | null
  depth: Generated<number>
  bytes: Generated<number>
  chunks: Generated<number>
  fetched_at: Generated<Date>
}

export interface KnowledgeChunksTable {
  id: Generated<string>
  page_id: string
  source_id: string
  license_id: string
  product: string
  position: number
  url: string
  title: string
  heading_path: string
  text: string
  tsv: Generated<string>
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

export interface JobsTable {
  id: string
  name: string
  payload: Json<unknown>
  status: Generated<'queued' | 'running' | 'done' | 'dead'>
  attempts: Generated<number>
  max_attempts: Generated<number>
  run_at: Generated<Date>
  locked_by: string | null
  locked_until: NullableTimestamp
  last_error: string | null
  dedupe_key: string | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface EventsTable {
  id: string
  /** The order events were written in (an identity column; a bigint the driver returns as a string). */
  seq: Generated<string>
  type: string
  license_id: string | null
  data: Json<Record<string, unknown>>
  created_at: Generated<Date>
  dispatched_at: NullableTimestamp
}

export interface BillingAccountsTable {
  license_id: string
  stripe_customer_id: string
  stripe_subscription_id: string | null
  status: string | null
  price_id: string | null
  plan: string | null
  /** Minor units per interval (bigint: read back as a string). */
  amount: ColumnType<string | null, number | null | undefined, number | null>
  currency: string | null
  interval: string | null
  interval_count: number | null
  current_period_end: NullableTimestamp
  cancel_at_period_end: Generated<boolean>
  grace_ends_at: NullableTimestamp
  trial_start: NullableTimestamp
  first_paid_at: NullableTimestamp
  started_at: NullableTimestamp
  canceled_at: NullableTimestamp
  refunded_at: NullableTimestamp
  synced_at: NullableTimestamp
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface StripeEventsTable {
  id: string
  type: string
  license_id: string | null
  outcome: string
  via: 'webhook' | 'reconciliation'
  stripe_created_at: Timestamp
  received_at: Generated<Date>
}

export interface BillingReconciliationsTable {
  id: Generated<string>
  started_at: Timestamp
  finished_at: NullableTimestamp
  checked: Generated<number>
  missed_events: Generated<number>
  repairs: Json<unknown[]>
  error: string | null
}

export interface MailOutboxTable {
  id: string
  license_id: string | null
  to_email: string
  template: string
  subject: string
  body_text: string
  body_html: string
  status: Generated<'queued' | 'sent' | 'failed' | 'kept'>
  attempts: Generated<number>
  provider_message_id: string | null
  last_error: string | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
  sent_at: NullableTimestamp
  dedupe_key: string | null
}

export interface LicenseOrdersTable {
  id: Generated<string>
  license_id: string
  source: string
  order_id: string
  email: string
  products: string[]
  tier: string
  status: Generated<'active' | 'cancelled' | 'refunded'>
  created_at: Generated<Date>
  ended_at: NullableTimestamp
}

export interface AccountTokensTable {
  id: Generated<string>
  user_id: string
  kind: 'password_reset' | 'email_change'
  token_hash: string
  new_email: string | null
  expires_at: Timestamp
  used_at: NullableTimestamp
  created_at: Generated<Date>
}

export interface UsageTable {
  license_id: string
  metric: string
  kind: 'period' | 'day'
  starts_at: Timestamp
  used: number
  updated_at: Generated<Date>
}

export interface UsageWarningsTable {
  license_id: string
  metric: string
  period_start: Timestamp
  level: '80' | '100' | 'forecast'
  created_at: Generated<Date>
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
  knowledge_versions: KnowledgeVersionsTable
  unanswered_questions: UnansweredQuestionsTable
  knowledge_sources: KnowledgeSourcesTable
  knowledge_pages: KnowledgePagesTable
  knowledge_chunks: KnowledgeChunksTable
  integration_secrets: IntegrationSecretsTable
  api_keys: ApiKeysTable
  jobs: JobsTable
  events: EventsTable
  billing_accounts: BillingAccountsTable
  stripe_events: StripeEventsTable
  billing_reconciliations: BillingReconciliationsTable
  team_invitations: TeamInvitationsTable
  mail_outbox: MailOutboxTable
  license_orders: LicenseOrdersTable
  account_tokens: AccountTokensTable
  usage: UsageTable
  usage_warnings: UsageWarningsTable
}

export type Db = Kysely<Database>
export type License = Selectable<LicensesTable>
export type User = Selectable<UsersTable>
export type ProductKeyRow = Selectable<ProductKeysTable>
export type MessageRow = Selectable<MessagesTable>
export type ConversationRow = Selectable<ConversationsTable>
export type JobRow = Selectable<JobsTable>
export type KnowledgeSourceRow = Selectable<KnowledgeSourcesTable>
export type KnowledgePageRow = Selectable<KnowledgePagesTable>
export type EventRow = Selectable<EventsTable>
export type BillingAccount = Selectable<BillingAccountsTable>
export type MailRow = Selectable<MailOutboxTable>
export type LicenseOrderRow = Selectable<LicenseOrdersTable>

/** The database plus a way to hear NOTIFY, which Kysely does not offer: the job workers wake on it. */
class ListeningDb extends Kysely<Database> {
  constructor(
    config: KyselyConfig,
    readonly listen: Listen,
  ) {
    super(config)
  }
}

/** The NOTIFY listener of a database made by createDb (undefined for any other Kysely instance). */
export const listenerOf = (db: Db): Listen | undefined => (db instanceof ListeningDb ? db.listen : undefined)

export interface DbOptions {
  databaseUrl: string | undefined
  dataDir: string
  /** Postgres schema to use (tests give each run its own). */
  schema?: string
  /** PGlite in memory instead of under dataDir (tests). */
  memory?: boolean
  poolSize?: number
  /** Postgres: give up opening a connection after this long (unset: wait as long as the OS does). */
  connectTimeoutMs?: number
  /** Postgres: fail a query after this long, client side (a hung server) and server side (unset: no limit). */
  queryTimeoutMs?: number
  /** Postgres: prepare up to this many distinct parameterised statements per connection (0 or unset: none). */
  preparedStatements?: number
  /** Postgres: hears a connection that died (server restarted, network cut); the pool replaces it. */
  onConnectionError?: (err: Error) => void
}

/** Releases the DATA_DIR lock once Kysely has closed PGlite. */
class LockedPGliteDialect extends PGliteDialect {
  constructor(
    config: ConstructorParameters<typeof PGliteDialect>[0],
    private release: () => void,
  ) {
    super(config)
  }

  override createDriver(): Driver {
    const driver = super.createDriver()
    const destroy = driver.destroy.bind(driver)
    driver.destroy = async () => {
      try {
        await destroy()
      } finally {
        this.release()
      }
    }
    return driver
  }
}

/**
 * A pg client class that prepares each parameterised statement once per connection (a named statement): Postgres
 * then parses it once and, after a few runs, plans it once, instead of both on every run (they were over half of
 * its CPU on the message path). Statements without parameters (BEGIN, COMMIT, several statements in one string)
 * run as before. One pool's connections share the names (one text, one name), at most `limit` texts: beyond it a
 * new text runs unnamed, so a statement whose text varies with its input (an `in` list) cannot fill the server.
 *
 * A table altered under a prepared `select *` (a migration while this instance runs) fails the statement with
 * "cached plan must not change result type" before it does anything: the connection then prepares under fresh
 * names and sends it again. Outside a transaction that succeeds; inside one the transaction has failed already,
 * and the caller sees the error once (503, retry).
 */
export function preparingClient(limit: number): typeof pg.Client {
  const names = new Map<string, string>()
  return class PreparingClient extends pg.Client {
    private generation = 0

    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads (config object, callback, submittable) pass through.
    override query(config: any, values?: any, callback?: any): any {
      if (typeof config !== 'string' || !Array.isArray(values) || values.length === 0 || callback !== undefined) {
        return super.query(config, values, callback)
      }
      let name = names.get(config)
      if (name === undefined) {
        if (names.size >= limit) return super.query(config, values)
        name = `intl_${names.size}`
        names.set(config, name)
      }
      const named = (generation: number) => super.query({ name: generation ? `${name}_${generation}` : name, text: config, values })
      const sent = this.generation
      return named(sent).catch((err: unknown) => {
        if (!isStalePlan(err)) throw err
        if (this.generation === sent) this.generation++
        // In a transaction the retry meets "current transaction is aborted": the stale plan is the news.
        return named(this.generation).catch((again: unknown) => {
          throw (again as { code?: unknown } | null)?.code === '25P02' ? err : again
        })
      })
    }
  }
}

export const isStalePlan = (err: unknown): boolean =>
  (err as { code?: unknown } | null)?.code === '0A000' && /cached plan must not change result type/.test(String((err as Error).message))

export async function createDb(options: DbOptions): Promise<Db> {
  if (options.databaseUrl) {
    const timeout = options.queryTimeoutMs
    const pool = new pg.Pool({
      ...(options.preparedStatements ? { Client: preparingClient(options.preparedStatements) } : {}),
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
      ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
      ...(timeout ? { query_timeout: timeout, statement_timeout: timeout } : {}),
      keepAlive: true,
    })
    // A connection that dies emits 'error' on its client, and the pool re-emits it for idle ones; unheard,
    // either kills the process. The pool drops a dead client itself, and a query on it fails (503 unavailable).
    const lost = (err: Error) => options.onConnectionError?.(err)
    pool.on('connect', (client) => client.on('error', lost))
    pool.on('error', () => undefined) // already heard through the client's own listener
    // Its own short transaction, not flushed to disk: a NOTIFY holds Postgres's notify lock through its commit.
    const wake = coalesced(() => pool.query(`begin; set local synchronous_commit = off; select pg_notify('${WAKE_CHANNEL}', current_schema()); commit`))
    return new ListeningDb({ dialect: wakingDialect(new PostgresDialect({ pool }), wake) }, pgListener(options.databaseUrl))
  }
  const { PGlite } = await import('@electric-sql/pglite')
  // Tests run in memory: no folder, nothing to lock.
  const release = options.memory ? () => undefined : lockDataDir(options.dataDir)
  try {
    let dataDir: string | undefined
    if (!options.memory) {
      dataDir = join(options.dataDir, 'pgdata')
      mkdirSync(dataDir, { recursive: true })
    }
    const pglite = await PGlite.create(dataDir)
    const wake = coalesced(async () => {
      if (!pglite.closed) await pglite.query('select pg_notify($1, current_schema())', [WAKE_CHANNEL])
    })
    const listen: Listen = async (channel, onPayload) => {
      const unlisten = await pglite.listen(channel, onPayload)
      return async () => {
        if (!pglite.closed) await unlisten()
      }
    }
    return new ListeningDb({ dialect: wakingDialect(new LockedPGliteDialect({ pglite }, release), wake) }, listen)
  } catch (err) {
    release()
    throw err
  }
}

export async function pingDb(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}

// Node socket errors, and SQLSTATEs saying the server is going away, not there yet, or too busy: admin_shutdown,
// crash_shutdown, cannot_connect_now, too_many_connections, query_canceled (our statement timeout).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
])
// pg and pg-pool raise these without a code.
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end)/

/** The database is unreachable or going away (as opposed to a bad query): the caller should retry later. */
export function isDbUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const code = (error as { code?: unknown }).code
  // SQLSTATE class 08: connection exceptions.
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true
  if (error instanceof AggregateError) return error.errors.some(isDbUnavailable)
  // A migration changed a table under a prepared statement of a transaction: the connection has re-prepared.
  if (isStalePlan(error)) return true
  return error instanceof Error && UNAVAILABLE_MESSAGES.test(error.message)
}

/**
 * Runs `fn` in the caller's transaction when `db` is one, else in a transaction of its own: a service function
 * that must be atomic (issuing a license, ending an order) composes into a larger unit of work this way.
 */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn)
}

/** Postgres unique violation, the signal that an idempotent insert lost a race. */
export const isUniqueViolation = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'

/** Postgres chose this statement's transaction as a deadlock's victim (rolled back; the work may be tried again). */
export const isDeadlock = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '40P01'

/** What a Postgres array literal (pgArray) holds: text, numbers, booleans, instants, or nothing. */
export type ArrayElement = string | number | bigint | boolean | Date | null

const ARRAY_ESCAPED = /[\\"]/g

/**
 * The Postgres array literal of `values`, for a `${pgArray(ids)}::uuid[]` parameter (any element type Postgres parses
 * from text: uuid, text, jsonb, int, timestamptz…). pg's own conversion of a JS array runs two regular-expression
 * replacements over every element and allocates each step; the batched statements of the message path send
 * thousands of elements a second, among them JSON documents full of quotes. Strings are always quoted (so `NULL`,
 * `{`, `,` or a space inside one stay text), with only `"` and `\` escaped; null is NULL; an instant is its ISO form.
 */
export function pgArray(values: readonly ArrayElement[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    const v = values[i] as ArrayElement
    if (v === null) out += 'NULL'
    else if (typeof v === 'string') out += `"${v.includes('"') || v.includes('\\') ? v.replace(ARRAY_ESCAPED, '\\$&') : v}"`
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError(`pgArray: ${v} is not a finite number`)
      out += String(v)
    } else if (typeof v === 'bigint') out += v.toString()
    else if (typeof v === 'boolean') out += v ? 't' : 'f'
    else out += `"${v.toISOString()}"`
  }
  return `${out}}`
}
