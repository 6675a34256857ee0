// /api/products/:product/secrets: integration secrets (n8n signing secret, OpenAI key, the identity secret) stored
// encrypted and only ever shown as a hint; the identity secret can also be generated here, shown once.
import { randomBytes } from 'node:crypto'
import type { z } from '@hono/zod-openapi'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { requireFeature } from '../platform/features.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { IDENTITY_SECRET, SecretNameSchema, secretProductParam, widgetProductParam } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { listSecretHints, putSecret } from '../platform/secrets.js'
import { GeneratedSecretSchema, SecretInputSchema, SecretResponseSchema, StoredSecretListSchema } from './schemas.js'

/** The identity secret signs user ids (an HMAC key): shorter owner-chosen values would be guessable. */
const MIN_IDENTITY_SECRET = 32
const TAG = 'secrets'

export const listSecretsRoute = declareRoute({
  method: 'get',
  path: '/api/products/{product}/secrets',
  operationId: 'listSecrets',
  summary: 'List which integration secrets are stored, as hints only',
  tag: TAG,
  access: access.customer('settings:read'),
  errors: ['product_not_purchased'],
  request: { params: secretProductParam },
  responses: { 200: json(StoredSecretListSchema, 'The stored secrets’ names and hints, by name') },
})

export const putSecretRoute = declareRoute({
  method: 'put',
  path: '/api/products/{product}/secrets/{name}',
  operationId: 'setSecret',
  summary: 'Store an integration secret, encrypted',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['product_not_purchased', 'plan_feature_required'],
  request: { params: secretProductParam.extend({ name: SecretNameSchema }), body: jsonBody(SecretInputSchema) },
  responses: { 200: json(SecretResponseSchema, 'Stored encrypted; only a hint is returned') },
})

export const rotateIdentitySecretRoute = declareRoute({
  method: 'post',
  path: '/api/products/{product}/secrets/identity_secret/rotate',
  operationId: 'rotateIdentitySecret',
  summary: 'Generate (or replace) the identity secret that signs user ids for identify()',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['product_not_purchased', 'plan_feature_required'],
  request: { params: widgetProductParam },
  responses: {
    201: json(GeneratedSecretSchema, 'The new secret, shown this once (stored encrypted; later reads give only its hint). The old one stops working at once.'),
  },
})

function assertBought(products: string[], product: string): void {
  if (!products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
}

export function secretRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(listSecretsRoute, async (c) => {
    const { product } = c.req.valid('param')
    assertBought(c.get('principal').products, product)
    const rows = await listSecretHints(deps.db, tenantOf(c), product)
    return c.json({ secrets: rows.map((r) => ({ name: r.name as z.infer<typeof SecretNameSchema>, hint: r.hint, updatedAt: r.updatedAt.toISOString() })) }, 200)
  })

  app.openapi(putSecretRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { product, name } = c.req.valid('param')
    assertBought(c.get('principal').products, product)
    const { value } = c.req.valid('json')
    if (name === IDENTITY_SECRET) requireFeature(deps.config.plans, c.get('principal').tier, 'identity')
    if (name === IDENTITY_SECRET && value.length < MIN_IDENTITY_SECRET)
      throw new AppError('validation_failed', `value: an identity secret needs at least ${MIN_IDENTITY_SECRET} characters`)
    const hint = await putSecret(deps, licenseId, product, name, value)
    await audit(deps.db, {
      licenseId,
      ...actorOf(c.get('principal')),
      action: 'settings.updated',
      target: `${product}:${name}`,
      ip: clientIp(c),
      meta: { secret: name },
    })
    return c.json({ name, hint }, 200)
  })

  app.openapi(rotateIdentitySecretRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { product } = c.req.valid('param')
    const principal = c.get('principal')
    assertBought(principal.products, product)
    requireFeature(deps.config.plans, principal.tier, 'identity')
    const secret = randomBytes(32).toString('hex')
    const hint = await putSecret(deps, licenseId, product, IDENTITY_SECRET, secret)
    await audit(deps.db, {
      licenseId,
      actor: principal.email,
      action: 'settings.updated',
      target: `${product}:${IDENTITY_SECRET}`,
      ip: clientIp(c),
      meta: { secret: IDENTITY_SECRET, generated: true },
    })
    return c.json({ name: IDENTITY_SECRET, secret, hint }, 201)
  })

  return app
}
