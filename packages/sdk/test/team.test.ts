// team, account and admin.licenses through the SDK against the real server, in process: an owner invites, the
// invitee accepts on another client, roles keep the member from keys, removal ends the member's session; account
// sessions and password; the operator finds, reads and changes a license and pages through search results.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/src/account/password.js'
import { newLicense, uniqueEmail } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { AuthenticationError, ConflictError, Intelagent, PermissionError } from '../src/index.js'

let app: TestApp
let ip = 0
// Each client call looks like another address, so registration and accept throttles stay out of the way.
const inProcess = (url: string, init: RequestInit) => {
  const headers = new Headers(init.headers)
  headers.set('x-forwarded-for', `203.0.113.${++ip % 250}`)
  return Promise.resolve(app.app.request(url, { ...init, headers }))
}
const client = () => new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0 })
const PASSWORD = 'correct horse battery'

async function owner(tier: 'starter' | 'professional' | 'business' = 'professional') {
  const license = await newLicense(app, { tier })
  const c = client()
  await c.auth.register({ email: license.email, password: PASSWORD, licenseKey: license.key })
  return { c, license }
}

beforeAll(async () => {
  app = await createTestApp()
})
afterAll(async () => {
  await app?.shutdown()
})

describe('sdk.team', () => {
  it('invites, accepts on another client, keeps the member from keys, changes the role and removes the member', async () => {
    const { c: ownerClient, license } = await owner()
    const start = await ownerClient.team.get()
    expect(start.seats).toEqual({ used: 1, limit: 5 })
    expect(start.members[0]).toMatchObject({ email: license.email, role: 'owner' })

    const email = uniqueEmail('mate')
    const invitation = await ownerClient.team.invite({ email })
    expect(invitation).toMatchObject({ email, role: 'member' })
    const token = new URL(invitation.acceptUrl).searchParams.get('token') ?? ''
    expect((await ownerClient.team.get()).invitations.map((i) => i.id)).toEqual([invitation.id])

    const mate = client()
    const joined = await mate.team.accept({ token, password: PASSWORD, name: 'Mate' })
    expect(joined.user).toMatchObject({ email, teamRole: 'member', licenseKey: license.key })
    expect((await mate.auth.me()).user.teamRole).toBe('member')
    await expect(mate.apiKeys.list()).rejects.toBeInstanceOf(PermissionError)
    await expect(mate.team.invite({ email: uniqueEmail() })).rejects.toBeInstanceOf(PermissionError)

    const team = await ownerClient.team.get()
    const member = team.members.find((m) => m.email === email)
    expect(member).toMatchObject({ name: 'Mate', role: 'member' })
    expect(await ownerClient.team.updateMember(member?.id ?? '', { role: 'admin' })).toMatchObject({ role: 'admin' })
    expect((await mate.apiKeys.list()).data).toEqual([])

    await ownerClient.team.removeMember(member?.id ?? '')
    await expect(mate.auth.me()).rejects.toBeInstanceOf(AuthenticationError)
    expect((await ownerClient.team.get()).members.map((m) => m.email)).toEqual([license.email])
  })

  it('withdraws an invitation and reports a full plan as a seat_limit conflict', async () => {
    const { c } = await owner('starter')
    const err = await c.team.invite({ email: uniqueEmail() }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConflictError)
    expect((err as ConflictError).code).toBe('seat_limit')

    const { c: pro } = await owner('professional')
    const inv = await pro.team.invite({ email: uniqueEmail(), role: 'admin' })
    expect(inv.role).toBe('admin')
    await pro.team.revokeInvitation(inv.id)
    expect((await pro.team.get()).invitations).toEqual([])
  })
})

describe('sdk.account', () => {
  it('lists sessions, signs the others out and changes the password', async () => {
    const { c, license } = await owner()
    const other = client()
    await other.auth.login({ email: license.email, password: PASSWORD })
    const sessions = await c.account.sessions()
    expect(sessions).toHaveLength(2)
    expect(sessions[0]?.current).toBe(true)

    expect(await c.account.revokeOtherSessions()).toEqual({ sessionsEnded: 1 })
    await expect(other.auth.me()).rejects.toBeInstanceOf(AuthenticationError)

    await other.auth.login({ email: license.email, password: PASSWORD })
    const third = (await c.account.sessions()).find((s) => !s.current)
    await c.account.revokeSession(third?.id ?? '')
    await expect(other.auth.me()).rejects.toBeInstanceOf(AuthenticationError)

    await expect(c.account.changePassword({ currentPassword: 'wrong password', newPassword: 'new password 123' })).rejects.toBeInstanceOf(PermissionError)
    expect(await c.account.changePassword({ currentPassword: PASSWORD, newPassword: 'new password 123' })).toEqual({ changed: true, sessionsEnded: 0 })
    await expect(client().auth.login({ email: license.email, password: PASSWORD })).rejects.toBeInstanceOf(AuthenticationError)
    await client().auth.login({ email: license.email, password: 'new password 123' })
  })
})

describe('sdk.admin.licenses (operators)', () => {
  it('searches with pages, reads a license, changes its plan, suspends and reactivates it', async () => {
    const email = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const ops = client()
    await ops.auth.login({ email, password: 'operator password' })

    const tag = `sdk-${randomBytes(4).toString('hex')}`
    const made = []
    for (let i = 0; i < 3; i++) made.push(await newLicense(app, { email: `${tag}-${i}@example.com`, tier: 'starter', products: ['chatbot'] }))
    const first = await ops.admin.licenses.search({ q: tag, limit: 2 })
    expect(first.data).toHaveLength(2)
    expect(first.hasNextPage()).toBe(true)
    const all: string[] = []
    for await (const l of ops.admin.licenses.search({ q: tag, limit: 2 })) all.push(l.id)
    expect(all).toEqual(made.map((l) => l.id).reverse())

    const id = made[0]?.id ?? ''
    const detail = await ops.admin.licenses.get(id)
    expect(detail).toMatchObject({ license: { id, tier: 'starter' }, seats: { used: 0, limit: 1 }, members: [], keys: { apiKeys: 0 } })
    expect(await ops.admin.licenses.update(id, { tier: 'business', products: ['chatbot', 'sales-agent'] })).toMatchObject({
      tier: 'business',
      products: ['chatbot', 'sales-agent'],
    })
    expect((await ops.admin.licenses.suspend(id)).status).toBe('suspended')
    expect((await ops.admin.licenses.search({ q: tag, status: 'suspended' })).data.map((l) => l.id)).toEqual([id])
    expect((await ops.admin.licenses.reactivate(id)).status).toBe('active')

    const { c: customer } = await owner()
    await expect(customer.admin.licenses.search({})).rejects.toBeInstanceOf(PermissionError)
  })
})
