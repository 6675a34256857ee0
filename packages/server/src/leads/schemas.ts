// Wire shapes of the leads list: each lead with what enrichment found, a named component of the OpenAPI document.
import { z } from '@hono/zod-openapi'
import { EnrichResultSchema } from '../enrichment/schemas.js'
import { WidgetProductSchema } from '../platform/products.js'

const dateTime = z.iso.datetime({ offset: true })

export const LeadSchema = z
  .object({
    id: z.uuid(),
    product: WidgetProductSchema,
    name: z.string(),
    email: z.string(),
    company: z.string().nullable(),
    message: z.string().nullable(),
    consent: z.boolean(),
    answers: z.record(z.string(), z.string()).nullable(),
    conversationId: z.uuid().nullable(),
    createdAt: dateTime,
    pageUrl: z.string().nullable().openapi({ description: 'The page the lead was left on' }),
    // A union, not .nullable(): that would make the EnrichResult component itself nullable.
    enrichment: z.union([EnrichResultSchema, z.null()]).openapi({ description: 'What enrichment found; null until it has run' }),
    enrichedAt: dateTime.nullable(),
  })
  .openapi('Lead')

export const LeadPageSchema = z
  .object({ leads: z.array(LeadSchema), nextCursor: z.string().nullable().openapi({ description: 'null on the last page' }) })
  .openapi('LeadPage')
