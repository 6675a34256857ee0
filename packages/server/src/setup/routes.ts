// /api/setup: the setup agent (an agnt_ key or a customer session). One URL → a crawled site source and a proposal
// (greeting, suggested questions, brand colour, allowed origin) → applied to the product's settings and key.
import { z } from '@hono/zod-openapi'
import { activeKeyFor, createKey } from '../keys/queries.js'
import type { KeyResolver } from '../keys/resolver.js'
import { requireScope } from '../keys/scopes.js'
import { publicSource } from '../knowledge/sources.js'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import type { KnowledgeSourceRow } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'
import { embedCode } from '../products/routes.js'
import { type ProductSettings, requireSettingsFeatures, saveSettings } from '../settings/settings.js'
import { ApplyInputSchema, ApplyResultSchema, SetupInputSchema, SetupSchema } from './schemas.js'
import type { Proposal, SetupAgent } from './service.js'

const TAG = 'setup'
const idParam = z.object({
  id: z
    .string()
    .regex(/^ks_[0-9A-Za-z]{24}$/)
    .openapi({ example: 'ks_3f1c2b7a9d8e4f60a1b2c3d4' }),
})

export const createSetupRoute = declareRoute({
  method: 'post',
  path: '/api/setup',
  operationId: 'createSetup',
  summary: 'Start the setup agent on a site: it is crawled in the background, then a proposal is ready',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['product_not_purchased', 'url_not_allowed', 'validation_failed'],
  request: { body: jsonBody(SetupInputSchema) },
  responses: { 202: json(SetupSchema, 'Accepted: the site is queued for crawling; poll GET /api/setup/{id}') },
})

export const getSetupRoute = declareRoute({
  method: 'get',
  path: '/api/setup/{id}',
  operationId: 'getSetup',
  summary: 'A setup: the crawl’s status and, once ready, the proposal',
  tag: TAG,
  access: access.customer('settings:read'),
  errors: ['not_found'],
  request: { params: idParam },
  responses: { 200: json(SetupSchema, 'The setup') },
})

export const applySetupRoute = declareRoute({
  method: 'post',
  path: '/api/setup/{id}/apply',
  operationId: 'applySetup',
  summary: 'Apply (an edited) proposal: greeting, suggested questions and colour to the settings, the origin to the key',
  description: 'Adding an allowed origin also needs the keys:write scope.',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['not_found', 'product_not_purchased', 'validation_failed'],
  request: { params: idParam, body: jsonBody(ApplyInputSchema) },
  responses: { 200: json(ApplyResultSchema, 'Applied; the embed code to paste') },
})

const wire = (source: KnowledgeSourceRow, proposal: Proposal | null) => ({
  id: source.id,
  status: source.status,
  source: publicSource(source),
  proposal,
})

export function setupRoutes(deps: Deps, agent: SetupAgent, keys: KeyResolver) {
  const app = createRouter()

  app.openapi(createSetupRoute, async (c) => {
    const { product, url } = c.req.valid('json')
    const p = c.get('principal')
    if (!p.products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
    const licenseId = tenantOf(c)
    const source = await agent.create(licenseId, product, url)
    await audit(deps.db, { licenseId, ...actorOf(p), action: 'setup.started', target: source.id, ip: clientIp(c), meta: { product, url: source.url } })
    return c.json(wire(source, null), 202)
  })

  app.openapi(getSetupRoute, async (c) => {
    const { source, proposal } = await agent.get(tenantOf(c), c.req.valid('param').id)
    return c.json(wire(source, proposal), 200)
  })

  app.openapi(applySetupRoute, async (c) => {
    const licenseId = tenantOf(c)
    const p = c.get('principal')
    const body = c.req.valid('json')
    const { source } = await agent.get(licenseId, c.req.valid('param').id)
    const product = source.product as 'chatbot' | 'sales-agent'
    if (!p.products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
    if (body.allowedOrigin) requireScope(p, 'keys:write')
    const patch: Partial<ProductSettings> = {
      ...(body.greeting !== undefined ? { greeting: body.greeting } : {}),
      ...(body.suggestedQuestions ? { suggestions: body.suggestedQuestions } : {}),
      ...(body.brandColor ? { color: body.brandColor.toLowerCase() } : {}),
    }
    requireSettingsFeatures(deps.config.plans, p.tier, patch)
    const settings = await saveSettings(deps, licenseId, product, patch)
    // The widget key: the active publishable one, or a new one (publishable keys can be shown again).
    let key = await activeKeyFor(deps.db, licenseId, product)
    let plaintext = key?.plaintext ?? null
    if (!key || !plaintext) {
      const created = await createKey(deps.db, deps.config.keyPepper, licenseId, product, [])
      key = created.row
      plaintext = created.key
      await audit(deps.db, { licenseId, ...actorOf(p), action: 'key.created', target: key.id, ip: clientIp(c), meta: { product } })
    }
    if (body.allowedOrigin && !key.allowed_origins.includes(body.allowedOrigin)) {
      const allowedOrigins = [...key.allowed_origins, body.allowedOrigin]
      if (allowedOrigins.length > 50) throw new AppError('validation_failed', 'allowedOrigin: the key already has 50 allowed origins')
      key = await deps.db.updateTable('product_keys').set({ allowed_origins: allowedOrigins }).where('id', '=', key.id).returningAll().executeTakeFirstOrThrow()
      await keys.invalidate([key.lookup])
    }
    await audit(deps.db, {
      licenseId,
      ...actorOf(p),
      action: 'setup.applied',
      target: source.id,
      ip: clientIp(c),
      meta: { product, fields: Object.keys(body), keyId: key.id },
    })
    return c.json(
      {
        product,
        keyId: key.id,
        allowedOrigins: key.allowed_origins,
        settings: { greeting: settings.greeting, color: settings.color, suggestions: settings.suggestions },
        embedCode: embedCode(deps.config.publicUrl, plaintext),
      },
      200,
    )
  })

  return app
}
