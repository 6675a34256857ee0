// Teams end to end through the HTTP API: invitations (one-time, hashed, expiring, seat-limited), accepting them,
// roles (members cannot manage keys), role changes applying at once, and removal ending the member's sessions.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, newCustomer, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import { mailBodies } from '../mail/mailer.js'
import { hashInvitationToken, INVITATION_TTL_MS } from './service.js'

const PASSWORD = 'member password 123'

interface Created {
  id: string
  email: string
  role: string
  acceptUrl: string
  expiresAt: string
}
interface TeamBody {
  seats: { used: number; limit: number }
  members: { id: string; email: string; role: string; name: string | null }[]
  invitations: { id: string; email: string; role: string }[]
}

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('teams', () => {
  let app: TestApp

  beforeAll(async () => {
    // Seats set through PLANS, as an operator would: the limits below are the plan's, not a constant in the code.
    app = await createTestApp({ env: { PLANS: JSON.stringify({ professional: { quotas: { seats: 3 } }, business: { quotas: { seats: 10 } } }) } })
  })
  afterAll(async () => app.shutdown())

  const invite = (token: string, email: string, role?: 'admin' | 'member') =>
    app.request('/api/team/invitations', { method: 'POST', token, json: role ? { email, role } : { email } })
  async function invited(owner: Customer, email = uniqueEmail('mate'), role?: 'admin' | 'member'): Promise<Created & { token: string }> {
    const res = await invite(owner.token, email, role)
    if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${await res.text()}`)
    const body = (await res.json()) as Created
    return { ...body, token: new URL(body.acceptUrl).searchParams.get('token') ?? '' }
  }
  const accept = (json: Record<string, unknown>) =>
    app.request('/api/team/invitations/accept', { method: 'POST', headers: { 'x-forwarded-for': uniqueIp(), 'user-agent': 'vitest' }, json })
  async function joined(owner: Customer, role?: 'admin' | 'member') {
    const inv = await invited(owner, undefined, role)
    const res = await accept({ token: inv.token, password: PASSWORD, name: 'Mate' })
    expect(res.status).toBe(201)
    const body = (await res.json()) as { token: string; user: { id: string; email: string } }
    return { token: body.token, id: body.user.id, email: inv.email }
  }
  const team = async (token: string) => (await (await app.request('/api/team', { token })).json()) as TeamBody

  it('makes the registering user the owner and lists the team with its seats', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const res = await app.request('/api/team', { token: owner.token })
    expect(res.status).toBe(200)
    const body = (await res.json()) as TeamBody
    expect(body.seats).toEqual({ used: 1, limit: 3 })
    expect(body.members).toEqual([expect.objectContaining({ email: owner.email, role: 'owner' })])
    expect(body.invitations).toEqual([])
    const me = (await (await app.request('/api/auth/me', { token: owner.token })).json()) as { user: { teamRole: string } }
    expect(me.user.teamRole).toBe('owner')
  })

  it('invites with a one-time link whose token is stored only as a hash, and emits the invitation event with an audit entry', async () => {
    const owner = await newCustomer(app)
    const email = uniqueEmail('invitee')
    const inv = await invited(owner, email)
    expect(inv).toMatchObject({ email, role: 'member' })
    expect(inv.acceptUrl).toMatch(/^http:\/\/intelagent\.test\/dashboard\/invite\?token=[A-Za-z0-9_-]{32}$/)
    expect(new Date(inv.expiresAt).getTime() - Date.now()).toBeGreaterThan(INVITATION_TTL_MS - 60_000)
    const row = await app.deps.db.selectFrom('team_invitations').selectAll().where('id', '=', inv.id).executeTakeFirstOrThrow()
    expect(row.token_hash).toBe(hashInvitationToken(inv.token))
    expect(JSON.stringify(row)).not.toContain(inv.token)
    const event = await app.deps.db
      .selectFrom('events')
      .selectAll()
      .where('type', '=', 'team.invitation.created')
      .where('license_id', '=', owner.licenseId)
      .executeTakeFirstOrThrow()
    expect(event.data).toMatchObject({ invitationId: inv.id, licenseId: owner.licenseId, email, role: 'member' })
    // The one-time link is in the invitee's mail (encrypted at rest), never in the event stream.
    expect(JSON.stringify(event.data)).not.toContain(inv.token)
    const mail = await app.deps.db.selectFrom('mail_outbox').selectAll().where('to_email', '=', email).execute()
    expect(mail).toEqual([expect.objectContaining({ template: 'team-invitation', license_id: owner.licenseId })])
    expect(mailBodies(app.deps.config, mail[0] as NonNullable<(typeof mail)[0]>).text).toContain(inv.acceptUrl)
    expect(mail[0]?.body_text).not.toContain(inv.token)
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .selectAll()
      .where('license_id', '=', owner.licenseId)
      .where('action', '=', 'team.invitation_created')
      .execute()
    expect(audit).toEqual([expect.objectContaining({ actor: owner.email, target: inv.id })])
    expect((await team(owner.token)).invitations).toEqual([expect.objectContaining({ id: inv.id, email, role: 'member' })])
  })

  it('accepts once: creates the member, logs them in, and refuses the link a second time', async () => {
    const owner = await newCustomer(app)
    const inv = await invited(owner)
    const res = await accept({ token: inv.token, password: PASSWORD, name: 'Ada' })
    expect(res.status).toBe(201)
    expect(res.headers.get('set-cookie')).toMatch(/^intl_session=[^;]+;.*HttpOnly/i)
    const body = (await res.json()) as { token: string; user: { email: string; teamRole: string; licenseKey: string } }
    expect(body.user).toMatchObject({ email: inv.email, teamRole: 'member', licenseKey: owner.licenseKey })
    const me = (await (await app.request('/api/auth/me', { token: body.token })).json()) as { user: { teamRole: string; licenseKey: string } }
    expect(me.user).toMatchObject({ teamRole: 'member', licenseKey: owner.licenseKey })
    const login = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { email: inv.email, password: PASSWORD },
    })
    expect(login.status).toBe(200)

    const again = await accept({ token: inv.token, password: PASSWORD })
    expect(again.status).toBe(404)
    expect(await codeOf(again)).toBe('invitation_invalid')
    const t = await team(owner.token)
    expect(t.members.map((m) => [m.email, m.role, m.name])).toEqual([
      [owner.email, 'owner', null],
      [inv.email, 'member', 'Ada'],
    ])
    expect(t.invitations).toEqual([])
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select('action')
      .where('license_id', '=', owner.licenseId)
      .where('action', '=', 'team.invitation_accepted')
      .execute()
    expect(audit).toHaveLength(1)
  })

  it('refuses an unknown, expired or withdrawn invitation, each with its own code', async () => {
    const owner = await newCustomer(app)
    const unknown = await accept({ token: 'x'.repeat(32), password: PASSWORD })
    expect([unknown.status, await codeOf(unknown)]).toEqual([404, 'invitation_invalid'])

    const expiring = await invited(owner)
    await app.deps.db
      .updateTable('team_invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', expiring.id)
      .execute()
    const expired = await accept({ token: expiring.token, password: PASSWORD })
    expect([expired.status, await codeOf(expired)]).toEqual([410, 'invitation_expired'])

    const withdrawn = await invited(owner)
    const del = await app.request(`/api/team/invitations/${withdrawn.id}`, { method: 'DELETE', token: owner.token })
    expect(del.status).toBe(204)
    const refused = await accept({ token: withdrawn.token, password: PASSWORD })
    expect([refused.status, await codeOf(refused)]).toEqual([404, 'invitation_invalid'])

    const weak = await accept({ token: (await invited(owner)).token, password: 'short' })
    expect([weak.status, await codeOf(weak)]).toEqual([422, 'validation_failed'])
  })

  it('counts pending invitations against the plan’s seats and frees a seat when an invitation is withdrawn', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const first = await invited(owner)
    await invited(owner)
    const full = await invite(owner.token, uniqueEmail())
    expect(full.status).toBe(409)
    const body = (await full.json()) as { error: { code: string; details: unknown } }
    expect(body.error).toMatchObject({ code: 'seat_limit', details: { used: 3, limit: 3 } })
    // An expired invitation no longer holds its seat.
    await app.deps.db
      .updateTable('team_invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', first.id)
      .execute()
    expect((await invite(owner.token, uniqueEmail())).status).toBe(201)
    expect((await invite(owner.token, uniqueEmail())).status).toBe(409)
    const pending = (await team(owner.token)).invitations
    expect((await app.request(`/api/team/invitations/${pending[0]?.id}`, { method: 'DELETE', token: owner.token })).status).toBe(204)
    expect((await invite(owner.token, uniqueEmail())).status).toBe(201)

    const starter = await newCustomer(app, { tier: 'starter' })
    const none = await invite(starter.token, uniqueEmail())
    expect([none.status, await codeOf(none)]).toEqual([409, 'seat_limit'])
  })

  it('never overshoots the seats when invitations race for the last one', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const results = await Promise.all(Array.from({ length: 6 }, () => invite(owner.token, uniqueEmail())))
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 409, 409, 409, 409])
  })

  it('replaces an open invitation to the same address: the old link stops working', async () => {
    const owner = await newCustomer(app)
    const email = uniqueEmail()
    const old = await invited(owner, email)
    const fresh = await invited(owner, email.toUpperCase())
    expect((await team(owner.token)).invitations.map((i) => i.id)).toEqual([fresh.id])
    expect(await codeOf(await accept({ token: old.token, password: PASSWORD }))).toBe('invitation_invalid')
    expect((await accept({ token: fresh.token, password: PASSWORD })).status).toBe(201)
  })

  it('keeps members away from keys and team management; admins manage members but not admins', async () => {
    const owner = await newCustomer(app, { tier: 'business' })
    const member = await joined(owner)
    const forbidden = async (res: Response) => expect([res.status, await codeOf(res)]).toEqual([403, 'forbidden'])
    await forbidden(await app.request('/api/api-keys', { token: member.token }))
    await forbidden(await app.request('/api/api-keys', { method: 'POST', token: member.token, json: { name: 'x', scopes: ['keys:read'] } }))
    await forbidden(await app.request('/api/products/chatbot/configure', { method: 'POST', token: member.token, json: {} }))
    await forbidden(await invite(member.token, uniqueEmail()))
    await forbidden(await app.request(`/api/team/members/${owner.licenseId}`, { method: 'DELETE', token: member.token }))
    // Members still see the team and the product keys (no secret is ever listed).
    expect((await app.request('/api/team', { token: member.token })).status).toBe(200)
    expect((await app.request('/api/products/keys', { token: member.token })).status).toBe(200)
    // The owner can do all of it.
    expect((await app.request('/api/api-keys', { token: owner.token })).status).toBe(200)
    const configured = await app.request('/api/products/chatbot/configure', { method: 'POST', token: owner.token, json: {} })
    expect(configured.status).toBe(201)
    const keyId = ((await configured.json()) as { id: string }).id
    await forbidden(await app.request(`/api/products/keys/${keyId}/rotate`, { method: 'POST', token: member.token, json: {} }))
    await forbidden(await app.request(`/api/products/keys/${keyId}/revoke`, { method: 'POST', token: member.token }))
    await forbidden(await app.request(`/api/products/keys/${keyId}/origins`, { method: 'PUT', token: member.token, json: { allowedOrigins: [] } }))
    expect((await app.request('/api/products/keys', { token: owner.token })).status).toBe(200)

    const admin = await joined(owner, 'admin')
    expect((await app.request('/api/api-keys', { token: admin.token })).status).toBe(200)
    await forbidden(await invite(admin.token, uniqueEmail(), 'admin'))
    const byAdmin = await invited({ ...owner, token: admin.token })
    expect(byAdmin.role).toBe('member')
    const other = await joined(owner, 'admin')
    await forbidden(await app.request(`/api/team/members/${other.id}`, { method: 'DELETE', token: admin.token }))
    await forbidden(await app.request(`/api/team/members/${member.id}`, { method: 'PATCH', token: admin.token, json: { role: 'admin' } }))
    const ownerId = (await team(owner.token)).members.find((m) => m.role === 'owner')?.id
    await forbidden(await app.request(`/api/team/members/${ownerId}`, { method: 'DELETE', token: admin.token }))
    await forbidden(await app.request(`/api/team/members/${ownerId}`, { method: 'PATCH', token: owner.token, json: { role: 'member' } }))
    const ownerRole = await app.request(`/api/team/members/${member.id}`, { method: 'PATCH', token: owner.token, json: { role: 'owner' } })
    expect([ownerRole.status, await codeOf(ownerRole)]).toEqual([422, 'validation_failed'])
    // An admin removes a member.
    expect((await app.request(`/api/team/members/${member.id}`, { method: 'DELETE', token: admin.token })).status).toBe(204)
  })

  it('applies a role change on the member’s very next request', async () => {
    const owner = await newCustomer(app)
    const member = await joined(owner)
    // Warm the session cache with the member role.
    expect((await app.request('/api/api-keys', { token: member.token })).status).toBe(403)
    const res = await app.request(`/api/team/members/${member.id}`, { method: 'PATCH', token: owner.token, json: { role: 'admin' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: member.id, role: 'admin' })
    expect((await app.request('/api/api-keys', { token: member.token })).status).toBe(200)
    await app.request(`/api/team/members/${member.id}`, { method: 'PATCH', token: owner.token, json: { role: 'member' } })
    expect((await app.request('/api/api-keys', { token: member.token })).status).toBe(403)
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select('meta')
      .where('license_id', '=', owner.licenseId)
      .where('action', '=', 'team.role_changed')
      .execute()
    // Both changes are audited (rows written in the same millisecond come back in any order).
    expect(audit).toHaveLength(2)
    expect(audit.map((a) => a.meta)).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: 'member', to: 'admin' }), expect.objectContaining({ from: 'admin', to: 'member' })]),
    )
  })

  it('removal ends the member’s sessions and open streams at once; the account can come back only by invitation', async () => {
    const owner = await newCustomer(app)
    const member = await joined(owner)
    expect((await app.request('/api/auth/me', { token: member.token })).status).toBe(200)
    const res = await app.request('/api/events', { token: member.token })
    expect(res.status).toBe(200)
    const stream = new StreamReader(res)
    await stream.until((t) => t.includes('retry:'))

    expect((await app.request(`/api/team/members/${member.id}`, { method: 'DELETE', token: owner.token })).status).toBe(204)
    const after = await app.request('/api/auth/me', { token: member.token })
    expect([after.status, await codeOf(after)]).toEqual([401, 'session_revoked'])
    expect(await stream.toEnd()).toContain('session_revoked')
    expect((await team(owner.token)).members.map((m) => m.email)).toEqual([owner.email])
    const login = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { email: member.email, password: PASSWORD },
    })
    expect([login.status, await codeOf(login)]).toEqual([403, 'not_a_member'])
    const audit = await app.deps.db
      .selectFrom('audit_log')
      .select('target')
      .where('license_id', '=', owner.licenseId)
      .where('action', '=', 'team.member_removed')
      .execute()
    expect(audit).toEqual([{ target: member.id }])

    // Invited again (here or by another team), the existing account joins with its own password, not a new one.
    const other = await newCustomer(app)
    const back = await invited(other, member.email)
    const wrong = await accept({ token: back.token, password: 'not the password' })
    expect([wrong.status, await codeOf(wrong)]).toEqual([401, 'invalid_credentials'])
    const ok = await accept({ token: back.token, password: PASSWORD })
    expect(ok.status).toBe(201)
    expect(((await ok.json()) as { user: { id: string; licenseKey: string } }).user).toMatchObject({ id: member.id, licenseKey: other.licenseKey })
  })

  it('refuses to invite someone who already belongs to this or another team', async () => {
    const owner = await newCustomer(app)
    const neighbour = await newCustomer(app)
    const taken = await invite(owner.token, neighbour.email)
    expect([taken.status, await codeOf(taken)]).toEqual([409, 'email_taken'])
    const self = await invite(owner.token, owner.email)
    expect([self.status, await codeOf(self)]).toEqual([409, 'conflict'])
  })

  it('keeps teams apart: another license’s members and invitations are not found; keys and strangers are refused', async () => {
    const owner = await newCustomer(app)
    const member = await joined(owner)
    const inv = await invited(owner)
    const stranger = await newCustomer(app)
    for (const [method, path, json] of [
      ['DELETE', `/api/team/members/${member.id}`, undefined],
      ['PATCH', `/api/team/members/${member.id}`, { role: 'admin' }],
      ['DELETE', `/api/team/invitations/${inv.id}`, undefined],
    ] as const) {
      const res = await app.request(path, { method, token: stranger.token, ...(json ? { json } : {}) })
      expect([res.status, await codeOf(res)]).toEqual([404, 'not_found'])
    }
    expect((await team(stranger.token)).members.map((m) => m.email)).toEqual([stranger.email])
    expect((await app.request('/api/team')).status).toBe(401)
    expect((await app.request('/api/team/invitations', { method: 'POST', json: { email: uniqueEmail() } })).status).toBe(401)
    expect((await app.request(`/api/team/invitations/${inv.id}`, { method: 'DELETE' })).status).toBe(401)
    expect((await app.request(`/api/team/members/${member.id}`, { method: 'PATCH', json: { role: 'admin' } })).status).toBe(401)
    expect((await app.request(`/api/team/members/${member.id}`, { method: 'DELETE' })).status).toBe(401)
    const key = await app.request('/api/api-keys', {
      method: 'POST',
      token: owner.token,
      json: { name: 'all', scopes: ['keys:read', 'keys:write', 'audit:read'] },
    })
    const apiKey = ((await key.json()) as { key: string }).key
    const byKey = await app.request('/api/team', { token: apiKey })
    expect([byKey.status, await codeOf(byKey)]).toEqual([403, 'forbidden'])
  })

  it('refuses to accept into a license that was suspended after the invitation', async () => {
    const owner = await newCustomer(app)
    const inv = await invited(owner)
    await app.deps.db.updateTable('licenses').set({ status: 'suspended' }).where('id', '=', owner.licenseId).execute()
    const res = await accept({ token: inv.token, password: PASSWORD })
    expect([res.status, await codeOf(res)]).toEqual([403, 'license_inactive'])
    expect(await app.deps.db.selectFrom('users').select('id').where('email', '=', inv.email).executeTakeFirst()).toBeUndefined()
  })
})
