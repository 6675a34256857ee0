// POST /api/enrich and /api/enrich/batch: declarations and thin handlers; the rules live in service.ts. Each
// enriched item counts against the plan's `enrichments` quota, the whole request in one step before anything runs.
import { z } from '@hono/zod-openapi'
import type { Deps, Principal } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { createRouter, jsonBody } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'
import { chargeEnrichments, type Usage } from '../usage/meter.js'
import { enrichForLicense, type LicenseRef } from './enricher.js'
import { BATCH_LIMIT, EnrichInputSchema, EnrichResultSchema } from './schemas.js'
import type { EnrichInput } from './service.js'

const ItemError = z
  .object({ error: z.object({ code: z.string().openapi({ example: 'validation_failed' }), message: z.string(), details: z.unknown().optional() }) })
  .openapi('EnrichItemError')

const enrichOne = declareRoute({
  method: 'post',
  path: '/api/enrich',
  operationId: 'enrich',
  summary: 'Enrich one lead: company, free/disposable/role address, country, device, traffic source, score with reasons',
  description: 'Counts one against the plan’s `enrichments` quota; at the quota it answers 429 `quota_exceeded`.',
  tag: 'enrichment',
  access: access.customer('enrichment:write'),
  errors: ['product_not_purchased', 'quota_exceeded'],
  request: { body: jsonBody(EnrichInputSchema) },
  responses: { 200: json(EnrichResultSchema, 'The enrichment; the same input always gives the same offline answer') },
})

const enrichBatch = declareRoute({
  method: 'post',
  path: '/api/enrich/batch',
  operationId: 'enrichBatch',
  summary: `Enrich up to ${BATCH_LIMIT} items at once; an invalid item gets an error object at its index, the others are enriched`,
  description:
    'Each valid item counts one against the plan’s `enrichments` quota. A batch that does not fit in what is left is refused whole (429 `quota_exceeded`) and nothing is enriched.',
  tag: 'enrichment',
  access: access.customer('enrichment:write'),
  errors: ['product_not_purchased', 'quota_exceeded'],
  request: {
    body: jsonBody(
      z.strictObject({
        items: z
          .array(z.unknown().openapi({ description: 'An EnrichInput object' }))
          .min(1)
          .max(BATCH_LIMIT)
          .openapi({ description: `1–${BATCH_LIMIT} EnrichInput objects, each validated on its own` }),
      }),
    ),
  },
  responses: {
    200: json(z.object({ results: z.array(z.union([EnrichResultSchema, ItemError])) }), 'One result or error per item, in the order given'),
  },
})

function licenseOf(principal: Principal, licenseId: string): LicenseRef {
  if (!principal.products.includes('data-enrichment')) throw new AppError('product_not_purchased', 'This license did not buy data-enrichment')
  return { id: licenseId, key: principal.licenseKey ?? licenseId, products: principal.products }
}

export function enrichmentRoutes(deps: Deps, usage: Usage) {
  const app = createRouter()
  app.openapi(enrichOne, async (c) => {
    const license = licenseOf(c.get('principal'), tenantOf(c))
    await chargeEnrichments(usage, c.get('principal'), 1, c.req.header('idempotency-key'), deps.clock.now())
    const [result] = await enrichForLicense(deps, license, [c.req.valid('json') as EnrichInput])
    if (!result) throw new Error('unreachable: one input, no result')
    return c.json(result, 200)
  })

  app.openapi(enrichBatch, async (c) => {
    const license = licenseOf(c.get('principal'), tenantOf(c))
    const { items } = c.req.valid('json')
    const parsed = items.map((item) => {
      const r = EnrichInputSchema.safeParse(item)
      if (!r.success) {
        const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
        const first = issues[0]
        return { error: { code: 'validation_failed', message: first ? `${first.path || 'item'}: ${first.message}` : 'Invalid item', details: issues } }
      }
      // Text Postgres cannot store (NUL, lone surrogates) never gets here: the route's hook refuses the whole request.
      return r.data as EnrichInput
    })
    const valid = parsed.filter((p): p is EnrichInput => !('error' in p))
    // Only valid items are enriched, so only they count; all of them or none.
    await chargeEnrichments(usage, c.get('principal'), valid.length, c.req.header('idempotency-key'), deps.clock.now())
    const enriched = await enrichForLicense(deps, license, valid)
    let next = 0
    const results = parsed.map((p) => ('error' in p ? p : (enriched[next++] as (typeof enriched)[number])))
    return c.json({ results }, 200)
  })

  return app
}
