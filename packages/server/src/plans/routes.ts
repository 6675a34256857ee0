// GET /api/plans: the plans as this server runs them (defaults with PLANS merged): each tier's quotas, request
// rates and features, and for each feature its name and the first tier that has it. Public: pricing pages and the
// dashboard's disabled controls ("needs professional — upgrade") read it.
import { z } from '@hono/zod-openapi'
import type { Deps } from '../platform/context.js'
import { FEATURE_NAMES, FEATURES, firstTierWith } from '../platform/features.js'
import { createRouter } from '../platform/http.js'
import { planSchema, QUOTAS, TIERS } from '../platform/plans.js'
import { access, declareRoute, json } from '../platform/route.js'

const FeatureSchema = z.enum(FEATURES).openapi('PlanFeature')

export const PlansSchema = z
  .object({
    plans: z.array(
      z.object({
        tier: z.enum(TIERS),
        quotas: z.object(Object.fromEntries(QUOTAS.map((q) => [q, z.number().int()])) as Record<(typeof QUOTAS)[number], z.ZodNumber>),
        rates: planSchema.shape.rates,
        features: z.record(FeatureSchema, z.boolean()),
      }),
    ),
    features: z.array(
      z.object({
        id: FeatureSchema,
        name: z.string().openapi({ example: 'Identity verification' }),
        firstTier: z.enum(TIERS).nullable().openapi({ description: 'The cheapest plan with the feature; null when no plan on this server has it' }),
      }),
    ),
  })
  .openapi('Plans')

const getPlans = declareRoute({
  method: 'get',
  path: '/api/plans',
  operationId: 'getPlans',
  summary: 'The plans on this server: quotas, request rates and features per tier, and the first tier with each feature',
  tag: 'billing',
  access: access.public,
  responses: { 200: json(PlansSchema, 'Every tier, cheapest first') },
})

export function planRoutes(deps: Deps) {
  const app = createRouter()
  app.openapi(getPlans, (c) => {
    const plans = deps.config.plans
    c.header('Cache-Control', 'public, max-age=300')
    return c.json(
      {
        plans: TIERS.map((tier) => ({ tier, quotas: plans[tier].quotas, rates: plans[tier].rates, features: plans[tier].features })),
        features: FEATURES.map((id) => ({ id, name: FEATURE_NAMES[id], firstTier: firstTierWith(plans, id) })),
      },
      200,
    )
  })
  return app
}
