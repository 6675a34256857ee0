// POST /api/webhooks/n8n/licenses: an n8n flow issues a license, signed with X-Intelagent-Signature.
import { z } from 'zod'
import { issueLicense, publicLicense } from '../licenses/queries.js'
import { TIERS } from '../platform/config.js'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { createRouter } from '../platform/http.js'
import { parseJsonBody } from '../platform/json.js'
import { PRODUCTS } from '../platform/products.js'
import { SIGNATURE_HEADER, verifyIntelagent } from './signature.js'

export const n8nLicenseSchema = z.strictObject({
  orderId: z.string().min(1).max(200),
  email: z.email().max(320),
  products: z.array(z.enum(PRODUCTS)).min(1),
  tier: z.enum(TIERS).default('starter'),
})

/** Reads and verifies a signed n8n call; the secret must be configured. */
export async function verifiedN8nBody(deps: Deps, req: { text(): Promise<string>; header(name: string): string | undefined }): Promise<string> {
  const secret = deps.config.n8nSecret
  if (!secret) throw new AppError('not_configured', 'N8N_WEBHOOK_SECRET is not set on this server')
  const raw = await req.text()
  verifyIntelagent(secret, req.header(SIGNATURE_HEADER), raw, deps.clock.now())
  return raw
}

export function n8nRoutes(deps: Deps) {
  const app = createRouter()

  app.post('/api/webhooks/n8n/licenses', async (c) => {
    const raw = await verifiedN8nBody(deps, c.req)
    const body = parseJsonBody(n8nLicenseSchema, raw)
    const { license, created } = await issueLicense(deps.db, {
      source: 'n8n',
      orderId: body.orderId,
      email: body.email,
      products: body.products,
      tier: body.tier,
    })
    if (!created && license.email.toLowerCase() !== body.email.toLowerCase()) {
      throw new AppError('idempotency_conflict', `Order ${body.orderId} was already issued a license for a different email`)
    }
    return c.json({ license: publicLicense(license) }, created ? 201 : 200)
  })

  return app
}
