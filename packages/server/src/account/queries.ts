// SQL of /api/account (account/routes.ts); the caller passes `db` (or its transaction). Session writes and the
// session cache stay in sessions.ts.
import type { Db } from '../platform/db.js'

/** The user's password hash, or undefined when the user is gone. */
export const findPasswordHash = (db: Db, userId: string) => db.selectFrom('users').select(['password_hash']).where('id', '=', userId).executeTakeFirst()

export async function setPasswordHash(trx: Db, userId: string, passwordHash: string) {
  await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute()
}

/** The user's sessions neither revoked nor expired at `now`, newest first. */
export const listLiveSessions = (db: Db, userId: string, now: Date) =>
  db
    .selectFrom('sessions')
    .select(['id', 'user_agent', 'ip', 'created_at', 'last_seen_at', 'expires_at'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute()

/** The session's id when it is the user's own and not revoked (expiry is not checked). */
export const findOwnSession = (db: Db, userId: string, id: string) =>
  db.selectFrom('sessions').select('id').where('id', '=', id).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst()
