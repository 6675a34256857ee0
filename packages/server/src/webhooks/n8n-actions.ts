// POST /api/webhooks/n8n/licenses/actions: a store that runs its own automation changes a license from n8n — add or
// remove products, change the tier, suspend, reactivate — by license key or order email, signed like every n8n
// call (X-Intelagent-Signature). Each change is one transaction with its audit entry and events.
import { z } from '@hono/zod-openapi'
import { normalizeLicenseKey } from '../licenses/license-key.js'
import { applyLicenseChange, findBuyerLicense, lockLicense } from '../licenses/lifecycle.js'
import { publicLicense } from '../licenses/queries.js'
import { TIERS } from '../platform/config.js'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { createRouter } from '../platform/http.js'
import { parseJsonBody } from '../platform/json.js'
import { PRODUCTS, type Product } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { SIGNATURE_HEADER } from '../platform/signature.js'
import { verifiedN8nBody } from './n8n.js'

export const LICENSE_ACTIONS = ['add_products', 'remove_products', 'set_tier', 'suspend', 'reactivate'] as const

export const n8nActionSchema = z
  .strictObject({
    action: z.enum(LICENSE_ACTIONS),
    licenseKey: z.string().max(40).optional().openapi({ description: 'The license to change (or give email)' }),
    email: z.email().max(320).optional().openapi({ description: 'The buyer’s order email: their license (or give licenseKey)' }),
    products: z.array(z.enum(PRODUCTS)).min(1).optional().openapi({ description: 'For add_products and remove_products' }),
    tier: z.enum(TIERS).optional().openapi({ description: 'For set_tier' }),
    reason: z.string().max(500).optional().openapi({ description: 'Kept in the audit entry' }),
  })
  .superRefine((v, ctx) => {
    if ((v.licenseKey === undefined) === (v.email === undefined))
      ctx.addIssue({ code: 'custom', path: ['licenseKey'], message: 'give exactly one of licenseKey and email' })
    if ((v.action === 'add_products' || v.action === 'remove_products') && !v.products)
      ctx.addIssue({ code: 'custom', path: ['products'], message: `required for ${v.action}` })
    if (v.action === 'set_tier' && !v.tier) ctx.addIssue({ code: 'custom', path: ['tier'], message: 'required for set_tier' })
  })
  .openapi('N8nLicenseAction')

const LicenseSchema = z.object({
  key: z.string(),
  email: z.string(),
  products: z.array(z.string()),
  tier: z.string(),
  status: z.string(),
  source: z.string(),
  orderId: z.string().nullable(),
  claimed: z.boolean(),
  createdAt: z.string(),
})

const licenseAction = declareRoute({
  method: 'post',
  path: '/api/webhooks/n8n/licenses/actions',
  operationId: 'n8nLicenseAction',
  summary: 'n8n changes a license: add or remove products, set the tier, suspend, reactivate (signed with N8N_WEBHOOK_SECRET)',
  description: `The body is an N8nLicenseAction, signed in the ${SIGNATURE_HEADER} header like every n8n call. Repeating an action changes nothing more (changed: false).`,
  tag: 'webhooks',
  access: access.signature('n8n'),
  errors: ['stale_signature', 'license_not_found', 'license_inactive', 'invalid_json', 'validation_failed'],
  responses: { 200: json(z.object({ license: LicenseSchema, changed: z.boolean() }), 'The license after the action') },
})

export function n8nActionRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(licenseAction, async (c) => {
    // The signature covers the raw bytes: the body is read and verified here, then validated.
    const raw = await verifiedN8nBody(deps, c.req)
    const body = parseJsonBody(n8nActionSchema, raw)
    const result = await deps.db.transaction().execute(async (trx) => {
      let found = body.licenseKey !== undefined ? undefined : await findBuyerLicense(trx, body.email as string)
      if (body.licenseKey !== undefined) {
        const key = normalizeLicenseKey(body.licenseKey)
        const row = key ? await trx.selectFrom('licenses').select('id').where('key', '=', key).executeTakeFirst() : undefined
        found = row ? await lockLicense(trx, row.id) : undefined
      }
      if (!found) throw new AppError('license_not_found', 'No license with this key or email')
      if (found.status === 'revoked') throw new AppError('license_inactive', 'This license is revoked')
      const current = found.products as Product[]
      const patch =
        body.action === 'add_products'
          ? { products: [...current, ...(body.products ?? [])] }
          : body.action === 'remove_products'
            ? { products: current.filter((p) => !body.products?.includes(p)) }
            : body.action === 'set_tier'
              ? { tier: body.tier }
              : { status: body.action === 'suspend' ? ('suspended' as const) : ('active' as const) }
      const after = await applyLicenseChange(
        trx,
        found,
        patch,
        {
          cause: 'action',
          actor: 'n8n',
          action: body.action === 'suspend' ? 'license.suspended' : body.action === 'reactivate' ? 'license.reactivated' : 'license.updated',
          meta: { action: body.action, ...(body.reason ? { reason: body.reason } : {}) },
        },
        { now: new Date(deps.clock.now()) },
      )
      return { license: after, changed: after !== found }
    })
    return c.json({ license: publicLicense(result.license), changed: result.changed }, 200)
  })

  return app
}
