// Per-license request limits by tier, plus the IETF RateLimit-Policy / RateLimit headers on every limited answer.
import type { Context, MiddlewareHandler } from 'hono'
import type { RateDecision } from '../platform/cache.js'
import type { Tier } from '../platform/config.js'
import type { AppEnv, Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'

/** Requests per minute per license, and monthly message quotas, by tier: the one table to change. */
export const TIER_LIMITS: Record<Tier, { perMinute: number; monthlyMessages: number }> = {
  starter: { perMinute: 120, monthlyMessages: 2_000 },
  professional: { perMinute: 600, monthlyMessages: 20_000 },
  business: { perMinute: 3_000, monthlyMessages: 100_000 },
  enterprise: { perMinute: 15_000, monthlyMessages: 1_000_000 },
}

export const tierLimit = (tier: string): number => (TIER_LIMITS[tier as Tier] ?? TIER_LIMITS.starter).perMinute

export interface LimitSpec {
  policy: string
  key: string
  limit: number
  windowMs: number
}

// q is the decision's limit, not the spec's: with Redis down the local fallback admits only limit ÷ instances.
function setHeaders(c: Context, spec: LimitSpec, d: RateDecision): void {
  c.header('RateLimit-Policy', `"${spec.policy}";q=${d.limit};w=${Math.round(spec.windowMs / 1000)}`)
  c.header('RateLimit', `"${spec.policy}";r=${d.remaining};t=${Math.max(0, Math.ceil(d.resetMs / 1000))}`)
}

/** Takes one unit from every spec (tightest first); throws rate_limited with Retry-After when any is spent. */
export async function enforce(deps: Deps, c: Context, specs: LimitSpec[]): Promise<void> {
  const decisions = await deps.cache.rateLimitAll(specs)
  const deniedAt = decisions.findIndex((d) => !d.allowed)
  if (deniedAt >= 0) {
    const spec = specs[deniedAt] as LimitSpec
    const d = decisions[deniedAt] as RateDecision
    const retry = Math.max(1, Math.ceil(d.resetMs / 1000))
    throw new AppError('rate_limited', `Too many requests for ${spec.policy}; retry in ${retry}s`, {
      headers: {
        'Retry-After': String(retry),
        'RateLimit-Policy': `"${spec.policy}";q=${d.limit};w=${Math.round(spec.windowMs / 1000)}`,
        RateLimit: `"${spec.policy}";r=0;t=${retry}`,
      },
    })
  }
  // The headers describe the limit closest to running out.
  let tightest = 0
  decisions.forEach((d, i) => {
    const t = decisions[tightest] as RateDecision
    if (d.remaining / d.limit < t.remaining / t.limit) tightest = i
  })
  if (specs.length > 0) setHeaders(c, specs[tightest] as LimitSpec, decisions[tightest] as RateDecision)
}

/** `scale` is RATE_LIMIT_SCALE (load tests); every caller passes it so the widget and the API agree. */
export const licenseLimit = (licenseId: string, tier: string, scale = 1): LimitSpec => ({
  policy: 'license',
  key: `license:${licenseId}`,
  limit: Math.max(1, Math.floor(tierLimit(tier) * scale)),
  windowMs: 60_000,
})

/** Applies the caller's license limit on authenticated routes (operators without a license are not limited). */
export function licenseRateLimit(deps: Deps): MiddlewareHandler<AppEnv> {
  return async function licenseRateLimitMiddleware(c, next) {
    const p = c.get('principal')
    if (p?.licenseId) await enforce(deps, c, [licenseLimit(p.licenseId, p.tier, deps.config.rateLimitScale)])
    await next()
  }
}
