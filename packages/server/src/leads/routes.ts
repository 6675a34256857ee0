// GET /api/products/:product/leads: the contact details visitors left (sales agent, or chatbot), with what
// enrichment found, newest first.

import type { EnrichResult } from '../enrichment/service.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { createRouter } from '../platform/http.js'
import { decodeCursor, encodeCursor, pageQuery } from '../platform/pagination.js'
import { widgetProductParam } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { listLeads } from './queries.js'
import { LeadPageSchema } from './schemas.js'

export const listLeadsRoute = declareRoute({
  method: 'get',
  path: '/api/products/{product}/leads',
  operationId: 'listLeads',
  summary: 'List the leads visitors left, newest first, with their enrichment',
  tag: 'leads',
  access: access.customer('leads:read'),
  request: { params: widgetProductParam, query: pageQuery },
  responses: { 200: json(LeadPageSchema, 'One page of leads') },
})

export function leadRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(listLeadsRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { product } = c.req.valid('param')
    const { limit, cursor } = c.req.valid('query')
    const rows = await listLeads(deps.db, licenseId, product, limit + 1, decodeCursor(cursor))
    const pageRows = rows.slice(0, limit)
    const tail = pageRows[pageRows.length - 1]
    return c.json(
      {
        leads: pageRows.map((l) => ({
          id: l.id,
          product: l.product as 'chatbot' | 'sales-agent',
          name: l.name,
          email: l.email,
          company: l.company,
          message: l.message,
          consent: l.consent,
          answers: l.answers as Record<string, string> | null,
          conversationId: l.conversation_id,
          createdAt: l.created_at.toISOString(),
          pageUrl: l.page_url,
          // What enrichment found (EnrichResult in the OpenAPI document); null until it has run.
          enrichment: l.enrichment as EnrichResult | null,
          enrichedAt: l.enriched_at?.toISOString() ?? null,
        })),
        nextCursor: rows.length > limit && tail ? encodeCursor({ t: tail.created_at.toISOString(), id: tail.id }) : null,
      },
      200,
    )
  })

  return app
}
