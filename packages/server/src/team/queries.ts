// Team rows: members (users bound to a license) and invitations, counted together against the plan's seats.
import type { Kysely } from 'kysely'
import type { Database } from '../platform/db.js'

/** Open invitations that still hold a seat: not accepted, not revoked, not expired. */
export function pendingInvitations(db: Kysely<Database>, licenseId: string, now: Date) {
  return db
    .selectFrom('team_invitations')
    .where('license_id', '=', licenseId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
}

export async function countMembers(db: Kysely<Database>, licenseId: string): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('license_id', '=', licenseId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function countPending(db: Kysely<Database>, licenseId: string, now: Date): Promise<number> {
  const row = await pendingInvitations(db, licenseId, now)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export function listMembers(db: Kysely<Database>, licenseId: string) {
  return db
    .selectFrom('users')
    .select((eb) => [
      'users.id',
      'users.email',
      'users.name',
      'users.team_role',
      'users.created_at',
      eb
        .selectFrom('sessions')
        .select((s) => s.fn.max('sessions.last_seen_at').as('m'))
        .whereRef('sessions.user_id', '=', 'users.id')
        .as('last_seen_at'),
    ])
    .where('users.license_id', '=', licenseId)
    .orderBy('users.created_at', 'asc')
    .execute()
}

export const findUserByEmail = (db: Kysely<Database>, email: string) =>
  db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .executeTakeFirst()

/** The live sessions of a user (not revoked, not expired). */
export const liveSessionIds = async (db: Kysely<Database>, userId: string, now: Date): Promise<string[]> =>
  (await db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now).execute()).map(
    (r) => r.id,
  )
