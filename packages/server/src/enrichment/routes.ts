// POST /api/enrich and /api/enrich/batch: declarations and thin handlers; the rules live in service.ts.
import { z } from '@hono/zod-openapi'
import ipaddr from 'ipaddr.js'
import { tenantOf } from '../auth/middleware.js'
import type { Deps, Principal } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { createRouter, jsonBody } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'
import { enrichForLicense, type LicenseRef } from './enricher.js'
import { CHANNELS, DEVICES, type EnrichInput, normalizeDomain } from './service.js'

export const BATCH_LIMIT = 100

const canParseUrl = (v: string): boolean => URL.canParse(v)

const FIELDS = ['email', 'domain', 'ip', 'userAgent', 'referrer', 'pageUrl'] as const

export const EnrichInputSchema = z
  .strictObject({
    email: z.email().max(320).optional().openapi({ example: 'jane.doe@acme-widgets.com' }),
    domain: z
      .string()
      .trim()
      .max(253)
      .refine((d) => normalizeDomain(d) !== null, 'must be a domain name like acme.com')
      .optional()
      .openapi({ description: 'Used when there is no email (an email’s own domain wins)', example: 'acme-widgets.com' }),
    ip: z
      .string()
      .trim()
      .max(45)
      .refine((v) => ipaddr.isValid(v), 'must be an IPv4 or IPv6 address')
      .optional()
      .openapi({ example: '81.2.69.160' }),
    userAgent: z.string().max(1000).optional(),
    referrer: z.string().trim().max(2000).refine(canParseUrl, 'must be a URL').optional().openapi({ example: 'https://www.google.com/' }),
    pageUrl: z
      .string()
      .trim()
      .max(2000)
      .refine(canParseUrl, 'must be a URL')
      .optional()
      .openapi({ example: 'https://shop.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring' }),
  })
  .refine((v) => FIELDS.some((f) => v[f] !== undefined && v[f] !== ''), { message: `give at least one of ${FIELDS.join(', ')}` })
  .openapi('EnrichInput')

const nullableString = (description: string) => z.string().nullable().openapi({ description })

export const CompanySchema = z
  .object({
    name: z.string(),
    domain: z.string(),
    basis: z.enum(['known', 'guessed', 'webhook']).openapi({
      description: 'known: the built-in list of well-known companies; guessed: title-cased from the domain (a guess); webhook: your firmographics webhook',
    }),
    industry: z.string().optional(),
    size: z.string().optional(),
    employees: z.number().int().optional(),
    revenue: z.string().optional(),
    country: z.string().optional(),
    website: z.string().optional(),
    linkedin: z.string().optional(),
    description: z.string().optional(),
  })
  .openapi('EnrichCompany')

export const EnrichResultSchema = z
  .object({
    domain: nullableString('The registrable domain of the email (or of `domain`), e.g. acme.co.uk for jo@mail.acme.co.uk'),
    // A union, not .nullable(): that would make the EnrichCompany component itself nullable.
    company: z.union([CompanySchema, z.null()]),
    freeMail: z.boolean().openapi({ description: 'A free consumer mailbox provider (gmail.com, yahoo.fr…); false for disposable ones' }),
    disposable: z.boolean().openapi({ description: 'A throwaway mailbox provider (mailinator.com…)' }),
    roleAddress: z.boolean().openapi({ description: 'A shared mailbox (info@, sales@, noreply@…) rather than a person' }),
    country: nullableString('ISO 3166-1 alpha-2 country of a public IP address'),
    device: z.enum(DEVICES).nullable(),
    browser: nullableString('Browser name and major version, e.g. "Chrome 126"'),
    os: nullableString('Operating system name (iOS with its major version)'),
    source: z
      .object({
        channel: z.enum(CHANNELS),
        referrer: nullableString('Host name of a referrer from another site'),
        utm: z.object({
          source: z.string().optional(),
          medium: z.string().optional(),
          campaign: z.string().optional(),
          term: z.string().optional(),
          content: z.string().optional(),
        }),
        clickId: nullableString('The ad click id parameter on the page URL (gclid, msclkid, fbclid…), by name only'),
      })
      .openapi({ description: 'Where the visitor came from: utm parameters of pageUrl first, then ad click ids, then the referrer' }),
    score: z.number().int().min(0).max(100).openapi({ description: 'Lead quality, 0–100 (rules in docs/enrichment.md)' }),
    reasons: z.array(z.string()).openapi({ description: 'Why the score is what it is, one sentence per signal, points in brackets' }),
  })
  .openapi('EnrichResult')

const ItemError = z
  .object({ error: z.object({ code: z.string().openapi({ example: 'validation_failed' }), message: z.string(), details: z.unknown().optional() }) })
  .openapi('EnrichItemError')

const enrichOne = declareRoute({
  method: 'post',
  path: '/api/enrich',
  operationId: 'enrich',
  summary: 'Enrich one lead: company, free/disposable/role address, country, device, traffic source, score with reasons',
  tag: 'enrichment',
  access: access.customer('enrichment:write'),
  errors: ['product_not_purchased'],
  request: { body: jsonBody(EnrichInputSchema) },
  responses: { 200: json(EnrichResultSchema, 'The enrichment; the same input always gives the same offline answer') },
})

const enrichBatch = declareRoute({
  method: 'post',
  path: '/api/enrich/batch',
  operationId: 'enrichBatch',
  summary: `Enrich up to ${BATCH_LIMIT} items at once; an invalid item gets an error object at its index, the others are enriched`,
  tag: 'enrichment',
  access: access.customer('enrichment:write'),
  errors: ['product_not_purchased'],
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

export function enrichmentRoutes(deps: Deps) {
  const app = createRouter()
  app.openapi(enrichOne, async (c) => {
    const license = licenseOf(c.get('principal'), tenantOf(c))
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
    const enriched = await enrichForLicense(deps, license, valid)
    let next = 0
    const results = parsed.map((p) => ('error' in p ? p : (enriched[next++] as (typeof enriched)[number])))
    return c.json({ results }, 200)
  })

  return app
}
