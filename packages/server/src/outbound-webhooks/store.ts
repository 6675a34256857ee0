// Outbound webhooks' tables and the queries over them. The tables are typed here, beside the only code that
// touches them, rather than in platform/db.ts.
import type { ColumnType, Generated, Kysely, Selectable } from 'kysely'
import type { Database, Db } from '../platform/db.js'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface WebhookEndpointsTable {
  id: string
  license_id: string
  url: string
  events: ColumnType<string[], string, string>
  description: string | null
  enabled: Generated<boolean>
  disabled_reason: string | null
  secret_ciphertext: string
  previous_secret_ciphertext: string | null
  previous_secret_expires_at: NullableTimestamp
  failing_since: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed'

export interface WebhookDeliveriesTable {
  id: string
  endpoint_id: string
  license_id: string
  event_id: string
  event_type: string
  body: string
  status: Generated<DeliveryStatus>
  attempts: Generated<number>
  last_error: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface WebhookAttemptsTable {
  id: Generated<string>
  delivery_id: string
  status_code: number | null
  latency_ms: number
  response_excerpt: string | null
  error: string | null
  created_at: Timestamp
}

export interface WebhookTables {
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_attempts: WebhookAttemptsTable
}

export type WebhookDb = Kysely<Database & WebhookTables>
export type EndpointRow = Selectable<WebhookEndpointsTable>
export type DeliveryRow = Selectable<WebhookDeliveriesTable>
export type AttemptRow = Selectable<WebhookAttemptsTable>

/** A webhook-typed database or transaction seen as the app's (for enqueue and emit). */
export const appDb = (db: WebhookDb): Kysely<Database> => db as unknown as Kysely<Database>

/** The app's database seen with the webhook tables (any Kysely over the same connection, a transaction included). */
export const wdb = (db: Db | Kysely<Database>): WebhookDb => db as unknown as WebhookDb

export async function endpointOf(db: WebhookDb, licenseId: string, id: string): Promise<EndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('license_id', '=', licenseId).executeTakeFirst()
}

export async function deliveryOf(db: WebhookDb, licenseId: string, id: string): Promise<DeliveryRow | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).where('license_id', '=', licenseId).executeTakeFirst()
}
