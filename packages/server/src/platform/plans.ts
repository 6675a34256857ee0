// The plans, one table: each tier's monthly quotas, request rates, per-visitor caps and features. Operators
// override any number with PLANS (JSON merged over these defaults, validated at start by platform/config.ts).
import { z } from '@hono/zod-openapi'

export const TIERS = ['starter', 'professional', 'business', 'enterprise'] as const
export type Tier = (typeof TIERS)[number]

/** What is counted per license per billing period (src/usage/ meters the first five; the rest are gauges). */
export const QUOTAS = ['conversations', 'messages', 'aiReplies', 'apiCalls', 'enrichments', 'knowledgePages', 'products', 'seats'] as const
export type Quota = (typeof QUOTAS)[number]
/** Counted as they happen (src/usage/meter.ts); the other quotas are read from the database when asked. */
export const METERED = ['conversations', 'messages', 'aiReplies', 'apiCalls', 'enrichments'] as const
export type Metered = (typeof METERED)[number]

const count = z.number().int().min(0)

export const planSchema = z.strictObject({
  /** Per billing period (a calendar month in UTC unless the license has its own period). */
  quotas: z.strictObject(Object.fromEntries(QUOTAS.map((q) => [q, count])) as Record<Quota, typeof count>),
  /** Requests per minute: the owner's API budget, the widget's budget, and widget event streams open at once per key. */
  rates: z.strictObject({ apiPerMinute: count.min(1), widgetPerMinute: count.min(1), widgetStreams: count.min(1) }),
  /** One visitor (or bot) must not drain a tenant's month: per visitor per UTC day, inside the quotas. */
  visitorCaps: z.strictObject({ conversationsPerDay: count.min(1), messagesPerDay: count.min(1) }),
  features: z.strictObject({
    /** OpenAI and webhook reply engines (starter answers from its knowledge only). */
    aiEngines: z.boolean(),
    /** Lead enrichment (company, country) on new leads. */
    enrichment: z.boolean(),
    /** Widget without the "Powered by Intelagent" line. */
    removeBranding: z.boolean(),
    /** Verified users in the widget (Intelagent('identify')). */
    identity: z.boolean(),
    /** Priority support. */
    prioritySupport: z.boolean(),
  }),
})
export type Plan = z.infer<typeof planSchema>
export type Plans = Record<Tier, Plan>

/**
 * The defaults. `enrichments` counts items enriched (POST /api/enrich, each batch item, and each lead enriched
 * automatically): starter has no automatic lead enrichment (features.enrichment) but may buy the Data Enrichment
 * product, whose API then gets a trial-sized 100 a period rather than nothing. Rates are the request budgets that used to live in ratelimit/; quotas are sized so a tier's
 * typical shop stays well inside them and the next tier up is the obvious step.
 */
export const DEFAULT_PLANS: Plans = {
  starter: {
    quotas: { conversations: 500, messages: 5_000, aiReplies: 2_000, apiCalls: 50_000, enrichments: 100, knowledgePages: 100, products: 2, seats: 1 },
    rates: { apiPerMinute: 120, widgetPerMinute: 300, widgetStreams: 200 },
    visitorCaps: { conversationsPerDay: 10, messagesPerDay: 100 },
    features: { aiEngines: false, enrichment: false, removeBranding: false, identity: false, prioritySupport: false },
  },
  professional: {
    quotas: { conversations: 5_000, messages: 50_000, aiReplies: 25_000, apiCalls: 500_000, enrichments: 1_000, knowledgePages: 1_000, products: 4, seats: 5 },
    rates: { apiPerMinute: 600, widgetPerMinute: 1_200, widgetStreams: 1_000 },
    visitorCaps: { conversationsPerDay: 20, messagesPerDay: 200 },
    features: { aiEngines: true, enrichment: true, removeBranding: false, identity: true, prioritySupport: false },
  },
  business: {
    quotas: {
      conversations: 25_000,
      messages: 250_000,
      aiReplies: 125_000,
      apiCalls: 2_500_000,
      enrichments: 10_000,
      knowledgePages: 10_000,
      products: 4,
      seats: 20,
    },
    rates: { apiPerMinute: 3_000, widgetPerMinute: 6_000, widgetStreams: 5_000 },
    visitorCaps: { conversationsPerDay: 30, messagesPerDay: 300 },
    features: { aiEngines: true, enrichment: true, removeBranding: true, identity: true, prioritySupport: false },
  },
  enterprise: {
    quotas: {
      conversations: 250_000,
      messages: 2_500_000,
      aiReplies: 1_250_000,
      apiCalls: 25_000_000,
      enrichments: 100_000,
      knowledgePages: 100_000,
      products: 4,
      seats: 200,
    },
    rates: { apiPerMinute: 15_000, widgetPerMinute: 30_000, widgetStreams: 20_000 },
    visitorCaps: { conversationsPerDay: 50, messagesPerDay: 500 },
    features: { aiEngines: true, enrichment: true, removeBranding: true, identity: true, prioritySupport: true },
  },
}

/** PLANS: any tier, any section, any field; what is left out keeps its default. */
const overrideSchema = z.partialRecord(
  z.enum(TIERS),
  z.strictObject({
    quotas: planSchema.shape.quotas.partial().optional(),
    rates: planSchema.shape.rates.partial().optional(),
    visitorCaps: planSchema.shape.visitorCaps.partial().optional(),
    features: planSchema.shape.features.partial().optional(),
  }),
)

/** The plans from PLANS (unset = the defaults); each problem is pushed as one line naming the field. */
export function parsePlans(raw: string | undefined, problems: string[]): Plans {
  if (raw === undefined) return DEFAULT_PLANS
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    problems.push('PLANS: must be JSON, e.g. {"starter":{"quotas":{"conversations":1000}}}')
    return DEFAULT_PLANS
  }
  const parsed = overrideSchema.safeParse(json)
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push(`PLANS: ${i.path.join('.') || '(root)'} ${i.message}`)
    return DEFAULT_PLANS
  }
  const plans = structuredClone(DEFAULT_PLANS)
  for (const [tier, o] of Object.entries(parsed.data) as [Tier, NonNullable<(typeof parsed.data)[Tier]>][]) {
    const p = plans[tier]
    Object.assign(p.quotas, o.quotas)
    Object.assign(p.rates, o.rates)
    Object.assign(p.visitorCaps, o.visitorCaps)
    Object.assign(p.features, o.features)
  }
  return plans
}

/** A license's plan by its tier; an unknown tier gets starter's (the most careful choice). */
export const planOf = (plans: Plans, tier: string): Plan => plans[tier as Tier] ?? plans.starter
