// Visitors: a random id + secret kept by the widget (only an HMAC of the secret is stored), and a 1-hour token.
import { jwtVerify, SignJWT } from 'jose'
import type { Deps } from '../platform/context.js'
import { hmacHex, randomToken, safeEqual } from '../platform/crypto.js'
import { AppError } from '../platform/errors.js'
import { verifiedOnce } from '../platform/memo.js'

const AUDIENCE = 'intelagent:visitor'
export const VISITOR_TOKEN_TTL_MS = 60 * 60_000

export async function createVisitor(deps: Deps, licenseId: string): Promise<{ id: string; secret: string }> {
  const secret = randomToken(24)
  const row = await deps.db
    .insertInto('visitors')
    .values({ license_id: licenseId, secret_hash: hmacHex(deps.config.keyPepper, secret) })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { id: row.id, secret }
}

/** True when the id belongs to this license and the secret matches (constant time). */
export async function checkVisitor(deps: Deps, licenseId: string, id: string, secret: string): Promise<boolean> {
  const row = await deps.db.selectFrom('visitors').select(['secret_hash']).where('id', '=', id).where('license_id', '=', licenseId).executeTakeFirst()
  const ok = safeEqual(row?.secret_hash ?? '0'.repeat(64), hmacHex(deps.config.keyPepper, secret))
  if (ok && row)
    await deps.db
      .updateTable('visitors')
      .set({ last_seen_at: new Date(deps.clock.now()) })
      .where('id', '=', id)
      .execute()
  return ok && row !== undefined
}

export async function signVisitorToken(deps: Deps, licenseId: string, visitorId: string): Promise<{ token: string; expiresAt: number }> {
  const now = deps.clock.now()
  const expiresAt = now + VISITOR_TOKEN_TTL_MS
  const token = await new SignJWT({ lic: licenseId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(visitorId)
    .setAudience(AUDIENCE)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(deps.config.jwtSecret)
  return { token, expiresAt }
}

/** The visitor id in a token issued for this license; anything else is visitor_token_invalid. */
export async function verifyVisitorToken(deps: Deps, licenseId: string, token: string | undefined): Promise<string> {
  if (!token) throw new AppError('visitor_token_invalid', 'A visitor token is required')
  const nowMs = deps.clock.now()
  try {
    const claims = await verifiedOnce(deps.memo, 'verified-visitors', token, nowMs, async () => {
      const { payload } = await jwtVerify(token, deps.config.jwtSecret, { audience: AUDIENCE, algorithms: ['HS256'], currentDate: new Date(nowMs) })
      if (typeof payload.sub !== 'string' || typeof payload.lic !== 'string' || typeof payload.exp !== 'number') throw new Error('missing claims')
      return { sub: payload.sub, lic: payload.lic, exp: payload.exp }
    })
    if (claims.lic !== licenseId) throw new Error('wrong license')
    return claims.sub
  } catch {
    throw new AppError('visitor_token_invalid', 'Visitor token is invalid or expired; start the conversation again')
  }
}
