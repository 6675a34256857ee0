// Per-license request limits by tier, plus the IETF RateLimit-Policy / RateLimit headers on every limited answer.
import type { Context } from 'hono'
import type { RateDecision } from './cache.js'
import type { Deps } from './context.js'
import { AppError } from './errors.js'
import { presetHeader } from './http.js'
import { DEFAULT_PLANS, type Plans, planOf } from './plans.js'

/**
 * Requests per minute per license come from the license's plan (platform/plans.ts: `rates`). Two budgets that never share
 * a unit: `apiPerMinute` for the owner's API (sessions, secret keys) and `widgetPerMinute` for the widget (public
 * keys, visitors), so strangers holding a page's chat_ key cannot spend the owner's budget.
 */
export const tierLimit = (tier: string, plans: Plans = DEFAULT_PLANS): number => planOf(plans, tier).rates.apiPerMinute
export const widgetTierLimit = (tier: string, plans: Plans = DEFAULT_PLANS): number => planOf(plans, tier).rates.widgetPerMinute
/** Widget event streams open at once per publishable key (a page view holds one while the chat is open). */
export const tierWidgetStreams = (tier: string, plans: Plans = DEFAULT_PLANS): number => planOf(plans, tier).rates.widgetStreams

export interface LimitSpec {
  policy: string
  key: string
  limit: number
  windowMs: number
  /** How instances share the count (platform/cache.ts RateCheck.share); exact unless said. */
  share?: 'exact' | 'granted'
  /** With share 'granted': the units reserved at once (cache.ts RateCheck.block). */
  block?: number
  /**
   * Counted with the others but not what the RateLimit headers describe when another limit of the step is (the
   * caller's address beside the license's widget budget: the headers keep describing the budget). A refusal always
   * names the limit that refused.
   */
  undescribed?: true
}

// q is the decision's limit, not the spec's: with Redis down the local fallback admits only limit ÷ instances.
function setHeaders(c: Context, spec: LimitSpec, d: RateDecision): void {
  presetHeader(c, 'RateLimit-Policy', `"${spec.policy}";q=${d.limit};w=${Math.round(spec.windowMs / 1000)}`)
  presetHeader(c, 'RateLimit', `"${spec.policy}";r=${d.remaining};t=${Math.max(0, Math.ceil(d.resetMs / 1000))}`)
}

/** Takes one unit from every spec at once; throws rate_limited with Retry-After when any is spent. */
export async function enforce(deps: Deps, c: Context, specs: LimitSpec[]): Promise<void> {
  applyDecisions(c, specs, await deps.cache.rateLimitAll(specs))
}

/** Sets the RateLimit headers from decisions already taken, or throws rate_limited. */
export function applyDecisions(c: Context, specs: LimitSpec[], decisions: RateDecision[]): void {
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
  // The headers describe the limit closest to running out (of those described, when any is).
  const described = specs.some((s) => !s.undescribed)
  let tightest = -1
  decisions.forEach((d, i) => {
    if (described && specs[i]?.undescribed) return
    const t = decisions[tightest]
    if (!t || d.remaining / d.limit < t.remaining / t.limit) tightest = i
  })
  if (tightest >= 0) setHeaders(c, specs[tightest] as LimitSpec, decisions[tightest] as RateDecision)
}

/**
 * The owner's per-license API budget, keyed by license key (`license:{key}:counter:api_calls`) so a session can
 * be limited from its token's claims alone. `scale` is RATE_LIMIT_SCALE (load tests); every caller passes it.
 * Charged only once the caller is authenticated (a refused request spends nobody's budget).
 */
export const licenseLimit = (licenseKey: string, tier: string, scale = 1, plans: Plans = DEFAULT_PLANS): LimitSpec => ({
  policy: 'license',
  key: `license:${licenseKey}:counter:api_calls`,
  limit: Math.max(1, Math.floor(tierLimit(tier, plans) * scale)),
  windowMs: 60_000,
  // A busy license's instances reserve blocks of its budget instead of a Redis call per request (cache.ts).
  share: 'granted',
})

/** The license's widget budget (`license:{key}:counter:widget_calls`), apart from the API budget above. */
export const widgetLimit = (licenseKey: string, tier: string, scale = 1, plans: Plans = DEFAULT_PLANS): LimitSpec => ({
  policy: 'widget',
  key: `license:${licenseKey}:counter:widget_calls`,
  limit: Math.max(1, Math.floor(widgetTierLimit(tier, plans) * scale)),
  windowMs: 60_000,
  share: 'granted',
})
