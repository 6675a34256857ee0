// Request and response shapes of /api/setup (the setup agent).
import { z } from '@hono/zod-openapi'
import { SourceSchema } from '../knowledge/schemas.js'
import { WidgetProductSchema } from '../platform/products.js'
import { originSchema } from '../products/schemas.js'
import { suggestionsSchema } from '../settings/settings.js'

export const SetupInputSchema = z
  .strictObject({
    product: WidgetProductSchema,
    url: z.string().trim().min(1).max(2000).openapi({ description: 'The site’s start page: a public http(s) URL', example: 'https://www.example.com/' }),
  })
  .openapi('SetupInput')

export const ProposalSchema = z
  .object({
    greeting: z.string(),
    suggestedQuestions: z.array(z.string()).openapi({ description: 'Up to five, from the crawled pages’ headings and titles' }),
    brandColor: z
      .string()
      .nullable()
      .openapi({ description: 'theme-color meta, else the web manifest’s theme_color, else the most used link colour; null when none', example: '#0f766e' }),
    allowedOrigin: z.string().openapi({ example: 'https://www.example.com' }),
  })
  .openapi('SetupProposal')

export const SetupSchema = z
  .object({
    id: z.string().openapi({ description: 'The setup id (the id of its knowledge source)', example: 'ks_3f1c2b7a9d8e4f60a1b2c3d4' }),
    status: z.enum(['queued', 'crawling', 'ready', 'failed']),
    source: SourceSchema,
    proposal: ProposalSchema.nullable().openapi({ description: 'Once the crawl is ready' }),
  })
  .openapi('Setup')

export const ApplyInputSchema = z
  .strictObject({
    greeting: z.string().max(500).optional(),
    suggestedQuestions: suggestionsSchema.optional(),
    brandColor: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour')
      .optional(),
    allowedOrigin: originSchema.optional().openapi({ description: 'Added to the product key’s allowed origins' }),
  })
  .openapi('SetupApplyInput')

export const ApplyResultSchema = z
  .object({
    product: WidgetProductSchema,
    keyId: z.string(),
    allowedOrigins: z.array(z.string()),
    settings: z.object({ greeting: z.string(), color: z.string(), suggestions: z.array(z.string()) }),
    embedCode: z.string().openapi({ description: 'The script tag to paste on the site' }),
  })
  .openapi('SetupApplyResult')
