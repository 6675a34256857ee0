// SQL of /api/auth register and login (auth/routes.ts); the caller passes `db` (or its transaction). Password reset
// and email change keep theirs (password-reset.ts, email-change.ts).
import type { Db } from '../platform/db.js'

/**
 * Claims an unclaimed license: a conditional update, so of two racing registrations exactly one gets true.
 */
export async function claimLicense(trx: Db, licenseId: string, now: Date): Promise<boolean> {
  const claimed = await trx.updateTable('licenses').set({ claimed_at: now }).where('id', '=', licenseId).where('claimed_at', 'is', null).executeTakeFirst()
  return Number(claimed.numUpdatedRows) === 1
}

/** Creates the license's owner account; the new user row (a unique violation when the email is taken). */
export const insertOwner = (trx: Db, licenseId: string, email: string, passwordHash: string) =>
  trx
    .insertInto('users')
    .values({ license_id: licenseId, email, password_hash: passwordHash, role: 'customer', team_role: 'owner' })
    .returningAll()
    .executeTakeFirstOrThrow()

/** The user with this email, compared case-insensitively (the caller trims it). */
export const findUserByEmail = (db: Db, email: string) =>
  db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst()
