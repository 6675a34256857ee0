// Plan features: what each one is called, which tier is the first to have it, and the one check every feature
// site calls. A refusal is 403 `plan_feature_required`, naming the feature and the plan that has it; an upgrade
// lifts it on the next request (the tier travels with the session or key, whose caches a tier change drops).
import { AppError } from './errors.js'
import { type Plans, planOf, TIERS, type Tier } from './plans.js'

export const FEATURES = ['aiEngines', 'enrichment', 'removeBranding', 'identity', 'prioritySupport'] as const
export type Feature = (typeof FEATURES)[number]

/** How a person reads each feature (error messages, the dashboard, docs/usage.md). */
export const FEATURE_NAMES: Record<Feature, string> = {
  aiEngines: 'AI reply engines (OpenAI-compatible and webhook)',
  enrichment: 'Lead enrichment',
  removeBranding: 'Removing the “Powered by Intelagent” line',
  identity: 'Identity verification',
  prioritySupport: 'Priority support',
}

export const hasFeature = (plans: Plans, tier: string, feature: Feature): boolean => planOf(plans, tier).features[feature]

/** The cheapest tier with the feature (tiers are ordered), or null when no plan has it (an operator's PLANS). */
export const firstTierWith = (plans: Plans, feature: Feature): Tier | null => TIERS.find((t) => plans[t].features[feature]) ?? null

export function featureRefusal(plans: Plans, tier: string, feature: Feature): AppError {
  const needed = firstTierWith(plans, feature)
  const name = FEATURE_NAMES[feature]
  const message = needed
    ? `${name} needs the ${needed} plan or higher; this license is on ${tier}. Upgrade to use it.`
    : `${name} is not part of any plan on this server.`
  return new AppError('plan_feature_required', message, { details: { feature, tier, requiredTier: needed } })
}

/** Throws 403 plan_feature_required unless the tier's plan has the feature. */
export function requireFeature(plans: Plans, tier: string, feature: Feature): void {
  if (!hasFeature(plans, tier, feature)) throw featureRefusal(plans, tier, feature)
}
