// /api/team: the license's members and invitations (owner / admin / member), and accepting an invitation.
import { z } from '@hono/zod-openapi'
import { setCookie } from 'hono/cookie'
import { Session } from '../account/schemas.js'
import { createSession, SESSION_COOKIE } from '../account/sessions.js'
import { publicUser } from '../account/users.js'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { enforce } from '../platform/ratelimit.js'
import { ASSIGNABLE_ROLES, TEAM_ROLES } from '../platform/roles.js'
import { access, declareRoute, empty, json } from '../platform/route.js'
import { acceptInvitation, changeRole, createInvitation, removeMember, revokeInvitation, teamOf } from './service.js'

const TAG = 'team'
const idParam = z.object({ id: z.uuid() })
const role = z.enum(ASSIGNABLE_ROLES)

const Member = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(TEAM_ROLES),
    joinedAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime().nullable(),
  })
  .openapi('TeamMember')

const Invitation = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role,
    invitedBy: z.string().nullable(),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  })
  .openapi('TeamInvitation')

const Team = z
  .object({
    seats: z.object({ used: z.number().int(), limit: z.number().int() }).openapi({ description: 'Members plus pending invitations, and the plan’s seats' }),
    members: z.array(Member),
    invitations: z.array(Invitation).openapi({ description: 'Pending invitations (not accepted, withdrawn or expired), newest first' }),
  })
  .openapi('Team')

const getTeam = declareRoute({
  method: 'get',
  path: '/api/team',
  operationId: 'getTeam',
  summary: 'The team of the caller’s license: members with their roles, pending invitations and seats',
  tag: TAG,
  access: access.session,
  responses: { 200: json(Team, 'The team') },
})

const invite = declareRoute({
  method: 'post',
  path: '/api/team/invitations',
  operationId: 'createTeamInvitation',
  summary: 'Invite someone by email (owner: admin or member; admin: member). The accept link is returned only here, once',
  tag: TAG,
  access: access.session,
  errors: ['seat_limit', 'email_taken', 'conflict', 'license_inactive'],
  request: { body: jsonBody(z.strictObject({ email: z.email().max(320), role: role.default('member') })) },
  responses: {
    201: json(
      Invitation.extend({ acceptUrl: z.string().openapi({ description: 'The one-time link to send to the invitee; valid for 7 days' }) }).openapi(
        'CreatedTeamInvitation',
      ),
      'The invitation and its accept link',
    ),
  },
})

const revoke = declareRoute({
  method: 'delete',
  path: '/api/team/invitations/{id}',
  operationId: 'revokeTeamInvitation',
  summary: 'Withdraw a pending invitation: its link stops working and its seat is free again',
  tag: TAG,
  access: access.session,
  errors: ['not_found'],
  request: { params: idParam },
  responses: { 204: empty('Withdrawn') },
})

const accept = declareRoute({
  method: 'post',
  path: '/api/team/invitations/accept',
  operationId: 'acceptTeamInvitation',
  summary: 'Accept an invitation: creates the account (or, for an account without a team, joins with its password) and logs in',
  tag: TAG,
  access: access.public,
  errors: ['invitation_invalid', 'invitation_expired', 'email_taken', 'invalid_credentials', 'seat_limit', 'license_inactive', 'rate_limited'],
  request: {
    body: jsonBody(
      z.strictObject({
        token: z.string().min(10).max(200),
        password: z.string().min(10, 'must be at least 10 characters').max(200),
        name: z.string().trim().max(100).optional(),
      }),
    ),
  },
  responses: { 201: json(Session, 'Joined and logged in') },
})

const patchMember = declareRoute({
  method: 'patch',
  path: '/api/team/members/{id}',
  operationId: 'updateTeamMember',
  summary: 'Change a member’s role (owner only; the owner’s own role cannot change). Applies on the member’s next request',
  tag: TAG,
  access: access.session,
  errors: ['not_found'],
  request: { params: idParam, body: jsonBody(z.strictObject({ role })) },
  responses: { 200: json(Member.omit({ lastSeenAt: true }), 'The member with the new role') },
})

const deleteMember = declareRoute({
  method: 'delete',
  path: '/api/team/members/{id}',
  operationId: 'removeTeamMember',
  summary: 'Remove a member: their sessions and live streams end at once; the account can be invited again',
  tag: TAG,
  access: access.session,
  errors: ['not_found'],
  request: { params: idParam },
  responses: { 204: empty('Removed') },
})

export function teamRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(getTeam, async (c) => {
    const p = c.get('principal')
    if (!p.licenseId) throw new AppError('forbidden', 'This route needs a customer account bound to a license')
    return c.json(await teamOf(deps, p.licenseId, p.tier), 200)
  })

  app.openapi(invite, async (c) => c.json(await createInvitation(deps, c.get('principal'), c.req.valid('json'), clientIp(c)), 201))

  app.openapi(revoke, async (c) => {
    await revokeInvitation(deps, c.get('principal'), c.req.valid('param').id, clientIp(c))
    return c.body(null, 204)
  })

  app.openapi(accept, async (c) => {
    const ip = clientIp(c)
    await enforce(deps, c, [{ policy: 'invite-accept-ip', key: `invite-accept:ip:${ip}`, limit: 20, windowMs: 15 * 60_000 }])
    const { user, license } = await acceptInvitation(deps, c.req.valid('json'), ip)
    const session = await createSession(deps, user, license, { ip, userAgent: c.req.header('user-agent') ?? null })
    setCookie(c, SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: deps.config.publicUrl.startsWith('https:'),
      path: '/',
      expires: new Date(session.expiresAt),
    })
    return c.json({ token: session.token, expiresAt: new Date(session.expiresAt).toISOString(), user: publicUser(user, license) }, 201)
  })

  app.openapi(patchMember, async (c) => c.json(await changeRole(deps, c.get('principal'), c.req.valid('param').id, c.req.valid('json').role, clientIp(c)), 200))

  app.openapi(deleteMember, async (c) => {
    await removeMember(deps, c.get('principal'), c.req.valid('param').id, clientIp(c))
    return c.body(null, 204)
  })

  return app
}
