// The team rules: who may invite whom, seats per plan (pending invitations included), one-time invitation tokens,
// role changes and removal (which ends the member's sessions at once). Routes stay thin; the rules live here.
import { createHash } from 'node:crypto'
import { hashPassword, verifyPassword } from '../account/password.js'
import { dropCachedSessions, revokeUserSessions } from '../account/sessions.js'
import { sendMail } from '../mail/mailer.js'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps, Principal } from '../platform/context.js'
import { randomToken } from '../platform/crypto.js'
import { isUniqueViolation, type License, type TeamRole, type User } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { requireRole, seatLimit } from '../platform/roles.js'
import { countMembers, countPending, findUserByEmail, listMembers, liveSessionIds, pendingInvitations } from './queries.js'

export const INVITATION_TTL_MS = 7 * 24 * 3600_000

/** Invitation tokens are 192 random bits: a plain SHA-256 is enough to keep the stored value useless to a reader. */
export const hashInvitationToken = (token: string): string => createHash('sha256').update(token).digest('hex')

export const acceptUrl = (publicUrl: string, token: string): string => `${publicUrl}/dashboard/invite?token=${encodeURIComponent(token)}`

type Role = 'admin' | 'member'

function licenseOf(p: Principal): string {
  if (!p.licenseId) throw new AppError('forbidden', 'This route needs a customer account bound to a license')
  return p.licenseId
}

/** Owners invite and manage admins and members; admins invite and manage members only. */
function requireManage(p: Principal, targetRole: TeamRole): void {
  requireRole(p, 'admin')
  if (targetRole === 'owner') throw new AppError('forbidden', 'The owner cannot be changed or removed')
  if (targetRole === 'admin') requireRole(p, 'owner')
}

export async function teamOf(deps: Deps, licenseId: string, tier: string) {
  const now = new Date(deps.clock.now())
  const [members, invitations] = await Promise.all([
    listMembers(deps.db, licenseId),
    pendingInvitations(deps.db, licenseId, now).selectAll().orderBy('created_at', 'desc').execute(),
  ])
  return {
    seats: { used: members.length + invitations.length, limit: seatLimit(deps.config.plans, tier) },
    members: members.map((m) => ({
      id: m.id,
      email: m.email,
      name: m.name,
      role: m.team_role as TeamRole,
      joinedAt: m.created_at.toISOString(),
      lastSeenAt: m.last_seen_at ? new Date(m.last_seen_at).toISOString() : null,
    })),
    invitations: invitations.map((i) => ({
      id: i.id,
      email: i.email,
      role: i.role,
      invitedBy: i.invited_by,
      createdAt: i.created_at.toISOString(),
      expiresAt: i.expires_at.toISOString(),
    })),
  }
}

export async function createInvitation(deps: Deps, p: Principal, input: { email: string; role: Role }, ip: string) {
  const licenseId = licenseOf(p)
  requireManage(p, input.role)
  const email = input.email.trim()
  const existing = await findUserByEmail(deps.db, email)
  if (existing?.license_id === licenseId) throw new AppError('conflict', `${email} is already a member of this team`)
  if (existing && (existing.license_id !== null || existing.role !== 'customer'))
    throw new AppError('email_taken', 'An account with this email already belongs to another team')
  const token = randomToken(24)
  const now = new Date(deps.clock.now())
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS)
  const url = acceptUrl(deps.config.publicUrl, token)
  const invitation = await deps.db.transaction().execute(async (trx) => {
    // The license row is the team's lock: two invitations racing for the last seat are counted one after the other.
    const license = await trx.selectFrom('licenses').select(['tier', 'status']).where('id', '=', licenseId).forUpdate().executeTakeFirst()
    if (!license) throw notFound('License')
    if (license.status !== 'active') throw new AppError('license_inactive', `This license is ${license.status}`)
    // Inviting the same address again replaces its open invitation: the old link stops working, its seat is reused.
    await trx
      .updateTable('team_invitations')
      .set({ revoked_at: now })
      .where('license_id', '=', licenseId)
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute()
    const limit = seatLimit(deps.config.plans, license.tier)
    const used = (await countMembers(trx, licenseId)) + (await countPending(trx, licenseId, now))
    if (used >= limit)
      throw new AppError('seat_limit', `Your ${license.tier} plan has ${limit} seat${limit === 1 ? '' : 's'}, all taken (pending invitations included)`, {
        details: { used, limit },
      })
    const row = await trx
      .insertInto('team_invitations')
      .values({ license_id: licenseId, email, role: input.role, token_hash: hashInvitationToken(token), invited_by: p.email, expires_at: expiresAt })
      .returningAll()
      .executeTakeFirstOrThrow()
    await audit(trx, { licenseId, ...actorOf(p), action: 'team.invitation_created', target: row.id, ip, meta: { email, role: input.role } })
    await emit(trx, {
      type: 'team.invitation.created',
      licenseId,
      data: { invitationId: row.id, licenseId, email, role: input.role, expiresAt: expiresAt.toISOString() },
    })
    // The link holds the one-time token: it travels only in the (encrypted at rest) mail, never in an event.
    await sendMail(trx, deps.config, {
      to: email,
      template: 'team-invitation',
      licenseId,
      data: { invitedBy: p.email ?? 'A teammate', role: input.role, acceptUrl: url, expiresDays: Math.round(INVITATION_TTL_MS / 86_400_000) },
    })
    return row
  })
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    invitedBy: invitation.invited_by,
    createdAt: invitation.created_at.toISOString(),
    expiresAt: invitation.expires_at.toISOString(),
    acceptUrl: url,
  }
}

export async function revokeInvitation(deps: Deps, p: Principal, id: string, ip: string): Promise<void> {
  const licenseId = licenseOf(p)
  requireRole(p, 'admin')
  const row = await deps.db
    .updateTable('team_invitations')
    .set({ revoked_at: new Date(deps.clock.now()) })
    .where('id', '=', id)
    .where('license_id', '=', licenseId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returning(['id', 'email', 'role'])
    .executeTakeFirst()
  if (!row) throw notFound('Invitation')
  await audit(deps.db, { licenseId, ...actorOf(p), action: 'team.invitation_revoked', target: row.id, ip, meta: { email: row.email, role: row.role } })
}

/**
 * Joins the team: a new account with this password, or an account without a team (someone removed earlier) that
 * proves itself with its own password. An account in another team cannot join: a person belongs to one license.
 */
export async function acceptInvitation(deps: Deps, input: { token: string; password: string; name?: string | undefined }, ip: string) {
  const tokenHash = hashInvitationToken(input.token)
  const now = new Date(deps.clock.now())
  const preview = await deps.db.selectFrom('team_invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
  if (!preview || preview.accepted_at || preview.revoked_at)
    throw new AppError('invitation_invalid', 'This invitation link is not valid (used, withdrawn or mistyped)')
  if (preview.expires_at <= now) throw new AppError('invitation_expired', 'This invitation has expired; ask for a new one')
  const existing = await findUserByEmail(deps.db, preview.email)
  if (existing && (existing.license_id !== null || existing.role !== 'customer'))
    throw new AppError('email_taken', 'An account with this email already belongs to another team')
  if (existing && !(await verifyPassword(input.password, existing.password_hash)))
    throw new AppError('invalid_credentials', 'You already have an account: enter its password to join')
  // Hashing is slow, so it happens before the transaction takes its locks.
  const passwordHash = existing ? null : await hashPassword(input.password, deps.config.scryptLogN)
  const name = input.name?.trim() || null
  return deps.db
    .transaction()
    .execute(async (trx): Promise<{ user: User; license: License }> => {
      const invitation = await trx.selectFrom('team_invitations').selectAll().where('id', '=', preview.id).forUpdate().executeTakeFirstOrThrow()
      if (invitation.accepted_at || invitation.revoked_at)
        throw new AppError('invitation_invalid', 'This invitation link is not valid (used, withdrawn or mistyped)')
      const license = await trx.selectFrom('licenses').selectAll().where('id', '=', invitation.license_id).forUpdate().executeTakeFirstOrThrow()
      if (license.status !== 'active') throw new AppError('license_inactive', `This license is ${license.status}`)
      const limit = seatLimit(deps.config.plans, license.tier)
      // The invitation held a seat; a downgrade since then may have taken it away.
      if ((await countMembers(trx, license.id)) >= limit) throw new AppError('seat_limit', `This team has no free seat (${limit} on the ${license.tier} plan)`)
      let user: User | undefined
      if (existing) {
        user = await trx
          .updateTable('users')
          .set({ license_id: license.id, team_role: invitation.role, ...(name ? { name } : {}) })
          .where('id', '=', existing.id)
          .where('license_id', 'is', null)
          .returningAll()
          .executeTakeFirst()
        if (!user) throw new AppError('email_taken', 'An account with this email already belongs to another team')
      } else {
        user = await trx
          .insertInto('users')
          .values({
            license_id: license.id,
            email: invitation.email,
            password_hash: passwordHash as string,
            role: 'customer',
            team_role: invitation.role,
            name,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
      }
      await trx.updateTable('team_invitations').set({ accepted_at: now, accepted_user_id: user.id }).where('id', '=', invitation.id).execute()
      await audit(trx, {
        licenseId: license.id,
        actor: user.email,
        actorKind: 'session',
        action: 'team.invitation_accepted',
        target: user.id,
        ip,
        meta: { invitationId: invitation.id, role: invitation.role, existingAccount: existing !== undefined },
      })
      return { user, license }
    })
    .catch((err) => {
      if (isUniqueViolation(err)) throw new AppError('email_taken', 'An account with this email already exists')
      throw err
    })
}

async function memberOf(deps: Deps, licenseId: string, id: string) {
  const row = await deps.db.selectFrom('users').selectAll().where('id', '=', id).where('license_id', '=', licenseId).executeTakeFirst()
  if (!row) throw notFound('Member')
  return row
}

export async function changeRole(deps: Deps, p: Principal, id: string, role: Role, ip: string) {
  const licenseId = licenseOf(p)
  requireRole(p, 'admin')
  if (id === p.userId) throw new AppError('forbidden', 'You cannot change your own role')
  const member = await memberOf(deps, licenseId, id)
  requireManage(p, member.team_role as TeamRole)
  requireManage(p, role)
  if (member.team_role !== role) {
    await deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ team_role: role }).where('id', '=', id).where('license_id', '=', licenseId).execute()
      await audit(trx, {
        licenseId,
        ...actorOf(p),
        action: 'team.role_changed',
        target: id,
        ip,
        meta: { email: member.email, from: member.team_role, to: role },
      })
    })
    // Sessions carry the role in their cached copy: drop it so the new role applies on the next request.
    await dropCachedSessions(deps, p.licenseKey, await liveSessionIds(deps.db, id, new Date(deps.clock.now())))
  }
  return { id: member.id, email: member.email, name: member.name, role, joinedAt: member.created_at.toISOString() }
}

/** The account stays (its email can be invited again) but leaves the license, and its sessions end everywhere now. */
export async function removeMember(deps: Deps, p: Principal, id: string, ip: string): Promise<void> {
  const licenseId = licenseOf(p)
  requireRole(p, 'admin')
  if (id === p.userId) throw new AppError('forbidden', 'You cannot remove yourself; ask the owner')
  const member = await memberOf(deps, licenseId, id)
  requireManage(p, member.team_role as TeamRole)
  await deps.db.transaction().execute(async (trx) => {
    const left = await trx
      .updateTable('users')
      .set({ license_id: null, team_role: null })
      .where('id', '=', id)
      .where('license_id', '=', licenseId)
      .executeTakeFirst()
    if (Number(left.numUpdatedRows) !== 1) throw notFound('Member')
    await audit(trx, { licenseId, ...actorOf(p), action: 'team.member_removed', target: id, ip, meta: { email: member.email, role: member.team_role } })
  })
  await revokeUserSessions(deps, p.licenseKey, id)
}
