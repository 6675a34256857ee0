// The wire shapes of licenses: what operators list and change, and what a license-issuing webhook answers.
import { z } from '@hono/zod-openapi'
import { TIERS } from '../platform/config.js'
import { PRODUCTS } from '../platform/products.js'

export const License = z
  .object({
    key: z.string().openapi({ example: 'INTL-7K3M-Q9XR-2B4F' }),
    email: z.string().openapi({ example: 'owner@shop.example.com' }),
    products: z.array(z.enum(PRODUCTS)).openapi({ example: ['chatbot', 'sales-agent'] }),
    tier: z.enum(TIERS).openapi({ example: 'professional' }),
    status: z.enum(['active', 'suspended', 'revoked']),
    source: z.string().openapi({ description: 'Where the license came from: squarespace, n8n, cli', example: 'squarespace' }),
    orderId: z.string().nullable().openapi({ example: '5f3a9c2e7b1d4e6f8a0b1c2d' }),
    claimed: z.boolean().openapi({ description: 'Whether an account has been registered with it' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('License')

export const AdminLicense = License.extend({ id: z.uuid() }).openapi('AdminLicense')
export const AdminLicenseList = z.object({ licenses: z.array(AdminLicense) }).openapi('AdminLicenseList')
export const AdminLicenseResult = z.object({ license: AdminLicense }).openapi('AdminLicenseResult')

export const LicenseStatusInput = z
  .strictObject({ status: z.enum(['active', 'suspended', 'revoked']).openapi({ example: 'suspended' }) })
  .openapi('LicenseStatusInput')

export const LimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ example: 50 }) })
export const LicenseParams = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f3c1e-2a4d-4e5f-8a9b-1c2d3e4f5a6b' }) })
