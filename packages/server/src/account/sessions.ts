// Sessions live in Postgres and are cached under license:{key}:session:{id} in Redis and, for a few seconds, in each
// instance's memory; revocation deletes every copy at once (the memory ones through pub/sub).

import { createHash } from 'node:crypto'
import type { Deps, Principal } from '../platform/context.js'
import { randomToken, safeEqual } from '../platform/crypto.js'
import type { License, User } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { boundedSet } from '../platform/memo.js'
import { closeStreams, streamTag } from '../platform/streams.js'
import { signSession } from './tokens.js'

const CACHE_TTL_MS = 10 * 60_000
/**
 * How long an instance keeps a session it read in its own memory. Dropping one (logout, revocation, a license or role
 * change) reaches every instance through pub/sub within milliseconds; this bound is only what is left of it while
 * Redis is unreachable and the drop cannot be delivered. Under load it spares a Redis round trip per request.
 */
export const SESSION_LOCAL_TTL_MS = 5_000
const SESSION_LOCAL_MAX = 10_000
const INVALIDATE_CHANNEL = 'sessions:invalidate'
/** The dashboard's session cookie (HttpOnly; its writes must come from the dashboard origin). */
export const SESSION_COOKIE = 'intl_session'
export const SESSION_REDROP_MS = 250

export const sessionCacheKey = (licenseKey: string | null, sid: string): string => `license:${licenseKey ?? '-'}:session:${sid}`

/**
 * A session is an id (which rows, cache keys, logs and revocation use) and a secret that only the token carries;
 * Postgres and Redis keep SHA-256 of the secret (the Lucia / Copenhagen Book scheme). The JWT signature alone
 * is not enough because JWT_SECRET is not the only thing that can leak: whoever holds it (a leaked config, the
 * development secret in DATA_DIR) can mint a well-formed token for any session id, and session ids are not
 * secret material (they sit in backups, replicas, admin queries, the cache). With only a hash stored, a read of
 * the sessions table or the cache, even together with JWT_SECRET, yields nothing that opens a live session; and
 * no stored value is itself a token or cookie value. A plain SHA-256 suffices: the secret is 192 random bits.
 */
export const hashSessionSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex')

interface CachedSession {
  principal: Principal
  expiresAt: number
  secretHash: string
}

/** This instance's copies of sessions, by cache key. */
/** `secret`: the session secret this copy has verified once against its hash; later requests compare it instead. */
const localSessions = (deps: Pick<Deps, 'memo'>) =>
  deps.memo.slot('sessions.local', () => new Map<string, { session: CachedSession; until: number; secret?: string }>())

function keepLocal(deps: Pick<Deps, 'memo' | 'clock'>, key: string, session: CachedSession): void {
  boundedSet(localSessions(deps), key, { session, until: deps.clock.now() + SESSION_LOCAL_TTL_MS }, SESSION_LOCAL_MAX)
}

/** Listens for dropped sessions (from any instance) and forgets this instance's copies; resolves to the unsubscribe. */
export function listenForDroppedSessions(deps: Pick<Deps, 'cache' | 'memo'>): Promise<() => void> {
  return deps.cache.subscribe(INVALIDATE_CHANNEL, (raw) => {
    const local = localSessions(deps)
    for (const key of JSON.parse(raw) as string[]) local.delete(key)
  })
}

export async function createSession(deps: Deps, user: User, license: License | undefined, meta: { ip: string; userAgent: string | null }) {
  const sid = randomToken(24)
  const secret = randomToken(24)
  const secretHash = hashSessionSecret(secret)
  const now = deps.clock.now()
  const expiresAt = now + deps.config.sessionTtlMs
  await deps.db
    .insertInto('sessions')
    .values({
      id: sid,
      secret_hash: secretHash,
      user_id: user.id,
      license_id: user.license_id,
      ip: meta.ip,
      user_agent: meta.userAgent?.slice(0, 300) ?? null,
      expires_at: new Date(expiresAt),
    })
    .execute()
  const principal = principalFor(user, license, sid)
  await deps.cache.set(sessionCacheKey(principal.licenseKey, sid), JSON.stringify({ principal, expiresAt, secretHash } satisfies CachedSession), CACHE_TTL_MS)
  const token = await signSession(
    deps.config.jwtSecret,
    {
      sub: user.id,
      email: user.email,
      licenseKey: principal.licenseKey,
      role: user.role,
      products: principal.products,
      sid,
      sst: secret,
      ...(license ? { tier: license.tier } : {}),
    },
    now,
    expiresAt,
  )
  return { token, sid, expiresAt, principal }
}

function principalFor(user: User, license: License | undefined, sid: string): Principal {
  return {
    kind: 'session',
    userId: user.id,
    sessionId: sid,
    role: user.role,
    teamRole: user.team_role,
    email: user.email,
    licenseId: license?.id ?? null,
    licenseKey: license?.key ?? null,
    tier: license?.tier ?? 'enterprise',
    products: license?.products ?? [],
    scopes: null,
  }
}

const secretMatches = (secret: string, storedHash: string | null | undefined): boolean =>
  typeof storedHash === 'string' && safeEqual(hashSessionSecret(secret), storedHash)

const wrongSecret = () => new AppError('token_invalid', 'Session token does not match its session')

/**
 * Redis first, Postgres on a miss; the token's secret must hash to the stored one, and a revoked, expired or
 * suspended session is refused. The secret is checked first, so a caller without it learns nothing about the row.
 */
export async function loadSession(deps: Deps, licenseKey: string | null, sid: string, secret: string): Promise<Principal> {
  const key = sessionCacheKey(licenseKey, sid)
  const now = deps.clock.now()
  const mine = localSessions(deps).get(key)
  if (mine && mine.until > now && mine.session.expiresAt > now) {
    if (mine.secret === undefined) {
      if (!secretMatches(secret, mine.session.secretHash)) throw wrongSecret()
      mine.secret = secret
    } else if (!safeEqual(secret, mine.secret)) throw wrongSecret()
    return { ...mine.session.principal, scopes: null }
  }
  const cached = await deps.cache.get(key)
  if (cached) {
    const s = JSON.parse(cached) as CachedSession
    // An entry without a hash predates hashed sessions, one without a team role predates teams: ignore it and let
    // Postgres decide.
    if (typeof s.secretHash === 'string' && s.principal.teamRole !== undefined) {
      if (!secretMatches(secret, s.secretHash)) throw wrongSecret()
      if (s.expiresAt > deps.clock.now()) {
        keepLocal(deps, key, s)
        return { ...s.principal, scopes: null }
      }
    }
  }
  const row = await deps.db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .leftJoin('licenses', 'licenses.id', 'users.license_id')
    .select([
      'sessions.secret_hash',
      'sessions.expires_at',
      'sessions.revoked_at',
      'users.id as user_id',
      'users.email',
      'users.role',
      'users.team_role',
      'licenses.id as license_id',
      'licenses.key as license_key',
      'licenses.tier',
      'licenses.products',
      'licenses.status',
    ])
    .where('sessions.id', '=', sid)
    .executeTakeFirst()
  // Rows are revoked, never deleted, so a missing row only meets a token nobody was issued: same answer as a wrong secret.
  if (!row || !secretMatches(secret, row.secret_hash)) throw wrongSecret()
  if (row.revoked_at !== null) throw new AppError('session_revoked', 'This session has been logged out')
  if (row.expires_at.getTime() <= deps.clock.now()) throw new AppError('token_expired', 'Session has expired; log in again')
  if (row.license_key !== licenseKey) throw new AppError('token_invalid', 'Session token does not match its session')
  if (row.status && row.status !== 'active') throw new AppError('license_inactive', `License is ${row.status}`)
  const principal: Principal = {
    kind: 'session',
    userId: row.user_id,
    sessionId: sid,
    role: row.role,
    teamRole: row.team_role,
    email: row.email,
    licenseId: row.license_id,
    licenseKey: row.license_key,
    tier: row.tier ?? 'enterprise',
    products: row.products ?? [],
    scopes: null,
  }
  const expiresAt = row.expires_at.getTime()
  const secretHash = row.secret_hash as string
  // Read from Postgres at most once per cache lifetime, so "last seen" is right to within CACHE_TTL_MS.
  await deps.db
    .updateTable('sessions')
    .set({ last_seen_at: new Date(deps.clock.now()) })
    .where('id', '=', sid)
    .execute()
  const session = { principal, expiresAt, secretHash } satisfies CachedSession
  await deps.cache.set(key, JSON.stringify(session), Math.min(CACHE_TTL_MS, expiresAt - deps.clock.now()))
  keepLocal(deps, key, session)
  return principal
}

export async function revokeSession(deps: Deps, licenseKey: string | null, sid: string): Promise<void> {
  await deps.db
    .updateTable('sessions')
    .set({ revoked_at: new Date(deps.clock.now()) })
    .where('id', '=', sid)
    .where('revoked_at', 'is', null)
    .execute()
  await dropCachedSessions(deps, licenseKey, [sid])
  await closeStreams(deps.cache, [streamTag.session(sid)], 'session_revoked')
}

/**
 * Forgets cached sessions so the next request reads Postgres (after a logout or a license status change): the Redis
 * copies, this instance's and, through pub/sub, every other instance's. A concurrent loadSession that read the row
 * before the change may cache it again after this delete; a second drop a moment later makes sure the old state
 * does not live on in any cache.
 */
export async function dropCachedSessions(deps: Deps, licenseKey: string | null, sids: string[]): Promise<void> {
  if (sids.length === 0) return
  const keys = sids.map((sid) => sessionCacheKey(licenseKey, sid))
  const drop = async () => {
    const local = localSessions(deps)
    for (const key of keys) local.delete(key)
    await deps.cache.del(...keys)
    await deps.cache.publish(INVALIDATE_CHANNEL, JSON.stringify(keys))
  }
  await drop()
  deps.tasks.run('sessions.drop', async () => {
    await new Promise((r) => setTimeout(r, SESSION_REDROP_MS))
    await drop()
  })
}

/**
 * Ends every live session of a user (but `keep`, the caller's own, when given) on every instance at once: the rows
 * are revoked, the cached copies dropped and the event streams opened with them closed. Returns the ids ended.
 */
export async function revokeUserSessions(deps: Deps, licenseKey: string | null, userId: string, keep?: string): Promise<string[]> {
  let q = deps.db
    .updateTable('sessions')
    .set({ revoked_at: new Date(deps.clock.now()) })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
  if (keep) q = q.where('id', '!=', keep)
  const sids = (await q.returning('id').execute()).map((r) => r.id)
  await dropCachedSessions(deps, licenseKey, sids)
  await closeStreams(
    deps.cache,
    sids.map((sid) => streamTag.session(sid)),
    'session_revoked',
  )
  return sids
}
