// /api/products: configure a product (issue its key and embed code), list, rotate and revoke keys, allowed origins,
// settings; mounts the integration secrets (secrets.ts). Knowledge is knowledge.ts.

import type { z } from '@hono/zod-openapi'
import { activeKeyFor, createKey, findKey, listKeys, publicKey } from '../keys/queries.js'
import type { KeyResolver } from '../keys/resolver.js'
import { requireCanIssue, requireScope } from '../keys/scopes.js'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody, optionalJsonBody } from '../platform/http.js'
import { isProduct, isPublishable, type Product, productParam } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { closeStreams, streamTag } from '../platform/streams.js'
import { getSettings, requireSettingsFeatures, saveSettings } from '../settings/settings.js'
import { retireKey, revokeKey, setKeyOrigins, setOriginsById } from './queries.js'
import {
  ConfigureInputSchema,
  ConfigureResponseSchema,
  keyIdParam,
  OriginsInputSchema,
  ProductKeyListSchema,
  ProductKeySchema,
  RotateInputSchema,
  RotateResponseSchema,
  SettingsPatchSchema,
  SettingsResponseSchema,
} from './schemas.js'
import { secretRoutes } from './secrets.js'

const TAG = 'products'

/** A key as the API shows it: the row's product and status are the enums the schema names. */
const wireKey = (...args: Parameters<typeof publicKey>) => publicKey(...args) as z.infer<typeof ProductKeySchema>

export const listKeysRoute = declareRoute({
  method: 'get',
  path: '/api/products/keys',
  operationId: 'listProductKeys',
  summary: 'List every product key of the license',
  tag: TAG,
  access: access.customer('keys:read'),
  responses: { 200: json(ProductKeyListSchema, 'Every key of the license, newest first') },
})

export const configureRoute = declareRoute({
  method: 'post',
  path: '/api/products/{product}/configure',
  operationId: 'configureProduct',
  summary: 'Configure a product: issue its key (or return the active publishable one), set origins and settings',
  description: 'Changing settings here also needs the settings:write scope.',
  tag: TAG,
  teamRole: 'admin',
  access: access.customer('keys:write'),
  errors: ['product_not_purchased', 'url_not_allowed', 'plan_feature_required'],
  request: { params: productParam, body: optionalJsonBody(ConfigureInputSchema) },
  responses: {
    200: json(ConfigureResponseSchema, 'The active publishable key and the settings'),
    201: json(ConfigureResponseSchema, 'A new key (secret keys are shown only now)'),
  },
})

export const rotateKeyRoute = declareRoute({
  method: 'post',
  path: '/api/products/keys/{id}/rotate',
  operationId: 'rotateProductKey',
  summary: 'Rotate a key: a new key with the same powers; the old one works for a grace period',
  tag: TAG,
  teamRole: 'admin',
  access: access.customer('keys:revoke'),
  errors: ['not_found'],
  request: { params: keyIdParam, body: optionalJsonBody(RotateInputSchema) },
  responses: { 201: json(RotateResponseSchema, 'The new key; the old one keeps working for the grace period') },
})

export const revokeKeyRoute = declareRoute({
  method: 'post',
  path: '/api/products/keys/{id}/revoke',
  operationId: 'revokeProductKey',
  summary: 'Revoke a key on every server within a second',
  tag: TAG,
  teamRole: 'admin',
  access: access.customer('keys:revoke'),
  errors: ['not_found'],
  request: { params: keyIdParam },
  responses: { 200: json(ProductKeySchema, 'The revoked key') },
})

export const setOriginsRoute = declareRoute({
  method: 'put',
  path: '/api/products/keys/{id}/origins',
  operationId: 'setProductKeyOrigins',
  summary: 'Replace a publishable key’s allowed origins',
  tag: TAG,
  teamRole: 'admin',
  access: access.customer('keys:write'),
  errors: ['not_found'],
  request: { params: keyIdParam, body: jsonBody(OriginsInputSchema) },
  responses: { 200: json(ProductKeySchema, 'The key with its new allowed origins') },
})

export const getSettingsRoute = declareRoute({
  method: 'get',
  path: '/api/products/{product}/settings',
  operationId: 'getProductSettings',
  summary: 'Read a product’s settings',
  tag: TAG,
  access: access.customer('settings:read'),
  errors: ['product_not_purchased'],
  request: { params: productParam },
  responses: { 200: json(SettingsResponseSchema, 'Current settings, defaults filled in') },
})

export const updateSettingsRoute = declareRoute({
  method: 'patch',
  path: '/api/products/{product}/settings',
  operationId: 'updateProductSettings',
  summary: 'Change some of a product’s settings',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['product_not_purchased', 'url_not_allowed', 'plan_feature_required'],
  request: { params: productParam, body: jsonBody(SettingsPatchSchema) },
  responses: { 200: json(SettingsResponseSchema, 'The full settings after the change') },
})

export const embedCode = (publicUrl: string, key: string): string => `<script src="${publicUrl}/widget.js" data-product-key="${key}" async></script>`

export function productRoutes(deps: Deps, keys: KeyResolver) {
  const app = createRouter()

  function assertPurchased(products: string[], product: string): asserts product is Product {
    if (!isProduct(product) || !products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
  }

  app.openapi(listKeysRoute, async (c) => {
    const rows = await listKeys(deps.db, tenantOf(c))
    return c.json({ keys: rows.map((r) => wireKey(r, deps.clock.now())) }, 200)
  })

  app.openapi(configureRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { product } = c.req.valid('param')
    const p = c.get('principal')
    assertPurchased(p.products, product)
    requireCanIssue(p, product)
    const body = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {}
    // Configure can change settings too: that needs the settings scope, not only keys:write.
    if (body.settings) requireScope(p, 'settings:write')
    if (body.settings) requireSettingsFeatures(deps.config.plans, p.tier, body.settings)
    const settings = body.settings ? await saveSettings(deps, licenseId, product, body.settings) : await getSettings(deps, licenseId, product)
    if (body.settings) await audit(deps.db, { licenseId, ...actorOf(p), action: 'settings.updated', target: product, ip: clientIp(c) })
    const publishable = isPublishable(product)
    // Publishable keys can be shown again, so configure returns the current one; secret keys are issued fresh.
    const existing = publishable && !body.newKey ? await activeKeyFor(deps.db, licenseId, product) : undefined
    let key: string
    let row = existing
    if (existing?.plaintext) {
      key = existing.plaintext
      if (body.allowedOrigins) {
        row = await setOriginsById(deps.db, existing.id, body.allowedOrigins)
        await keys.invalidate([existing.lookup])
        await audit(deps.db, {
          licenseId,
          ...actorOf(p),
          action: 'key.origins_updated',
          target: existing.id,
          ip: clientIp(c),
          meta: { allowedOrigins: body.allowedOrigins },
        })
      }
    } else {
      const created = await createKey(deps.db, deps.config.keyPepper, licenseId, product, body.allowedOrigins ?? [])
      key = created.key
      row = created.row
      await audit(deps.db, { licenseId, ...actorOf(p), action: 'key.created', target: row.id, ip: clientIp(c), meta: { product } })
    }
    if (!row) throw new Error('unreachable: key row missing')
    return c.json(
      { ...wireKey(row, deps.clock.now()), product, key, settings, ...(publishable ? { embedCode: embedCode(deps.config.publicUrl, key) } : {}) },
      existing ? 200 : 201,
    )
  })

  app.openapi(rotateKeyRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { id } = c.req.valid('param')
    const grace = c.req.header('content-type')?.includes('json') ? c.req.valid('json').gracePeriodSeconds : 86400
    const old = await findKey(deps.db, licenseId, id)
    if (old?.status !== 'active' || (old.expires_at && old.expires_at.getTime() <= deps.clock.now())) throw notFound('Active key')
    // Rotation issues a new key with the old one's powers: the same rule as configure.
    requireCanIssue(c.get('principal'), old.product as Product)
    const now = deps.clock.now()
    const created = await deps.db.transaction().execute(async (trx) => {
      const next = await createKey(trx, deps.config.keyPepper, licenseId, old.product as Product, old.allowed_origins)
      await retireKey(trx, licenseId, old.id, {
        expiresAt: new Date(now + grace * 1000),
        replacedBy: next.row.id,
        ...(grace === 0 ? { revokedAt: new Date(now) } : {}),
      })
      await audit(trx, {
        licenseId,
        ...actorOf(c.get('principal')),
        action: 'key.rotated',
        target: old.id,
        ip: clientIp(c),
        meta: { replacedBy: next.row.id, gracePeriodSeconds: grace },
      })
      return next
    })
    await keys.invalidate([old.lookup])
    if (grace === 0) await closeStreams(deps.cache, [streamTag.key(old.id)], 'key_revoked')
    const product = old.product as Product
    return c.json(
      {
        ...wireKey(created.row, now),
        key: created.key,
        previous: { id: old.id, expiresAt: new Date(now + grace * 1000).toISOString() },
        ...(isPublishable(product) ? { embedCode: embedCode(deps.config.publicUrl, created.key) } : {}),
      },
      201,
    )
  })

  app.openapi(revokeKeyRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { id } = c.req.valid('param')
    const row = await revokeKey(deps.db, licenseId, id, new Date(deps.clock.now()))
    if (!row) throw notFound('Key')
    await keys.invalidate([row.lookup])
    await closeStreams(deps.cache, [streamTag.key(row.id)], 'key_revoked')
    await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'key.revoked', target: row.id, ip: clientIp(c) })
    return c.json(wireKey(row, deps.clock.now()), 200)
  })

  app.openapi(setOriginsRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { id } = c.req.valid('param')
    const { allowedOrigins } = c.req.valid('json')
    const existing = await findKey(deps.db, licenseId, id)
    if (!existing) throw notFound('Key')
    if (existing.kind !== 'publishable') throw new AppError('validation_failed', 'Allowed origins apply to publishable keys only')
    const row = await setKeyOrigins(deps.db, licenseId, id, allowedOrigins)
    await keys.invalidate([row.lookup])
    await audit(deps.db, {
      licenseId,
      ...actorOf(c.get('principal')),
      action: 'key.origins_updated',
      target: row.id,
      ip: clientIp(c),
      meta: { allowedOrigins },
    })
    return c.json(wireKey(row, deps.clock.now()), 200)
  })

  app.openapi(getSettingsRoute, async (c) => {
    const { product } = c.req.valid('param')
    assertPurchased(c.get('principal').products, product)
    return c.json({ product, settings: await getSettings(deps, tenantOf(c), product) }, 200)
  })

  app.openapi(updateSettingsRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { product } = c.req.valid('param')
    assertPurchased(c.get('principal').products, product)
    requireSettingsFeatures(deps.config.plans, c.get('principal').tier, c.req.valid('json'))
    const settings = await saveSettings(deps, licenseId, product, c.req.valid('json'))
    await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'settings.updated', target: product, ip: clientIp(c) })
    return c.json({ product, settings }, 200)
  })

  app.route('/', secretRoutes(deps))
  return app
}
