// Wire shapes of /api/enrich: the input fields and what enrichment answers, named components of the OpenAPI document.
import { z } from '@hono/zod-openapi'
import ipaddr from 'ipaddr.js'
import { CHANNELS, DEVICES, normalizeDomain } from './service.js'

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
