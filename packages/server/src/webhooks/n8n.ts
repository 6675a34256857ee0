// POST /api/webhooks/n8n/licenses: an n8n flow issues a license, signed with X-Intelagent-Signature.

import { z } from '@hono/zod-openapi'
import { issueLicense, publicLicense } from '../licenses/queries.js'
import { License } from '../licenses/schemas.js'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { createRouter, jsonBody } from '../platform/http.js'
import { parseJsonBody } from '../platform/json.js'
import { access, declareRoute, json, mountRaw } from '../platform/route.js'
import { SIGNATURE_HEADER, verifyIntelagent } from '../platform/signature.js'
import { IntelagentSignatureHeaders, N8nLicenseInput } from './schemas.js'

const N8nLicenseResult = z.object({ license: License }).openapi('N8nLicenseResult')

const issueFromN8n = declareRoute({
  method: 'post',
  path: '/api/webhooks/n8n/licenses',
  operationId: 'n8nIssueLicense',
  summary: 'n8n issues a license for an order, signed with N8N_WEBHOOK_SECRET (X-Intelagent-Signature)',
  tag: 'webhooks',
  access: access.signature('n8n'),
  errors: ['idempotency_conflict'],
  request: { headers: IntelagentSignatureHeaders, body: jsonBody(N8nLicenseInput) },
  responses: {
    200: json(N8nLicenseResult, 'The order already had this license (a retried delivery)'),
    201: json(N8nLicenseResult, 'License issued'),
  },
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

  mountRaw(app, issueFromN8n, async (c) => {
    const raw = await verifiedN8nBody(deps, c.req)
    const body = parseJsonBody(N8nLicenseInput, raw)
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
