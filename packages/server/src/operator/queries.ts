// SQL of the operator's license console (operator/routes.ts); the caller passes `db` (or its transaction).
import { sql } from 'kysely'
import type { Db, License } from '../platform/db.js'
import { pendingInvitations } from '../team/queries.js'

export interface LicenseSearch {
  /** A license key (or its start), an email (or part of one, buyer or member), or an order id. */
  q?: string
  status?: License['status']
  tier?: string
  /** The id of the last row of the previous page: rows continue after its (created_at, id). */
  after?: string
}

/** Licenses matching the search, newest first, keyset paginated on (created_at, id); `limit` rows at most. */
export async function searchLicenses(db: Db, { q, status, tier, after }: LicenseSearch, limit: number) {
  let query = db.selectFrom('licenses').selectAll()
  if (status) query = query.where('status', '=', status)
  if (tier) query = query.where('tier', '=', tier)
  if (q) {
    const like = `%${q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`
    const keyStart = `${q.toUpperCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`
    query = query.where((eb) =>
      eb.or([
        eb('key', 'like', keyStart),
        eb('external_order_id', '=', q),
        eb(eb.fn('lower', ['email']), 'like', like),
        eb.exists(
          eb
            .selectFrom('users')
            .select(sql`1`.as('one'))
            .whereRef('users.license_id', '=', 'licenses.id')
            .where((u) => u(u.fn('lower', ['users.email']), 'like', like)),
        ),
      ]),
    )
  }
  if (after) {
    // Row comparison on (created_at, id) read from the row itself: no timestamp round-trips through JavaScript.
    query = query.where(({ eb, refTuple, selectFrom }) =>
      eb(
        refTuple('created_at', 'id'),
        '<',
        selectFrom('licenses as c').select(['c.created_at', 'c.id']).where('c.id', '=', after).$asTuple('created_at', 'id'),
      ),
    )
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
}

export const findLicense = (db: Db, id: string) => db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirst()

/** The license, locked FOR UPDATE until the transaction ends. */
export const lockLicense = (trx: Db, id: string) => trx.selectFrom('licenses').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()

/** Active product keys per product (count as a string, as Postgres returns it). */
export const activeProductKeyCounts = (db: Db, licenseId: string) =>
  db
    .selectFrom('product_keys')
    .select(['product', (eb) => eb.fn.countAll<string>().as('n')])
    .where('license_id', '=', licenseId)
    .where('status', '=', 'active')
    .groupBy('product')
    .execute()

/** Active, unexpired API keys (count as a string). */
export const activeApiKeyCount = (db: Db, licenseId: string, now: Date) =>
  db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('license_id', '=', licenseId)
    .where('status', '=', 'active')
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow()

/** Pending invitations, newest first. */
export const pendingInvitationList = (db: Db, licenseId: string, now: Date) =>
  pendingInvitations(db, licenseId, now).select(['id', 'email', 'role', 'expires_at']).orderBy('created_at', 'desc').execute()

export const findBillingAccount = (db: Db, licenseId: string) =>
  db.selectFrom('billing_accounts').selectAll().where('license_id', '=', licenseId).executeTakeFirst()

/** Every outbox message about the license (count as a string). */
export const mailTotal = (db: Db, licenseId: string) =>
  db
    .selectFrom('mail_outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('license_id', '=', licenseId)
    .executeTakeFirstOrThrow()

/** The latest `limit` outbox messages about the license, newest first. */
export const recentMail = (db: Db, licenseId: string, limit: number) =>
  db
    .selectFrom('mail_outbox')
    .select(['id', 'to_email', 'template', 'subject', 'status', 'created_at', 'sent_at'])
    .where('license_id', '=', licenseId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()

/** Sets the license's tier and products; the row after the change. */
export const setLicensePlan = (trx: Db, id: string, plan: { tier: string; products: string[] }, now: Date) =>
  trx.updateTable('licenses').set({ tier: plan.tier, products: plan.products, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
