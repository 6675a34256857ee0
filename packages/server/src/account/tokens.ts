// Session JWTs (jose, HS256): claims sub, email, licenseKey, role, products, sid, sst; jose errors map to stable codes.
import { errors, jwtVerify, SignJWT } from 'jose'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { verifiedOnce } from '../platform/memo.js'

const ISSUER = 'intelagent'
const AUDIENCE = 'intelagent:api'

export interface SessionClaims {
  sub: string
  email: string
  licenseKey: string | null
  role: 'customer' | 'admin'
  products: string[]
  sid: string
  /** The session's secret: only its SHA-256 is stored (see account/sessions.ts), so a stored sid alone opens nothing. */
  sst: string
  /** The license tier when the session began (for display; the rate limit uses the session's current tier). */
  tier?: string
}

export async function signSession(secret: Uint8Array, claims: SessionClaims, nowMs: number, expiresAtMs: number): Promise<string> {
  const { sub, ...rest } = claims
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setExpirationTime(Math.floor(expiresAtMs / 1000))
    .sign(secret)
}

export async function verifySession(deps: Pick<Deps, 'config' | 'clock' | 'memo'>, token: string): Promise<SessionClaims> {
  const nowMs = deps.clock.now()
  try {
    return await verifiedOnce(deps.memo, 'verified-sessions', token, nowMs, async () => {
      const { payload } = await jwtVerify(token, deps.config.jwtSecret, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(nowMs),
      })
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.sst !== 'string' || typeof payload.exp !== 'number')
        throw new AppError('token_invalid', 'Session token is missing claims')
      return payload as unknown as SessionClaims & { exp: number }
    })
  } catch (err) {
    if (err instanceof AppError) throw err
    if (err instanceof errors.JWTExpired) throw new AppError('token_expired', 'Session token has expired; log in again')
    throw new AppError('token_invalid', 'Session token is not valid')
  }
}
