// /api/api-keys: secret API keys (intl_sk_) for developers and the SDK: scoped, expiring, shown once.
import type { Selectable } from 'kysely'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import type { ApiKeysTable } from '../platform/db.js'
import { notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'
import { closeStreams, streamTag } from '../platform/streams.js'
import { generateApiKey, keyLookup, keyStart } from './format.js'
import type { KeyResolver } from './resolver.js'
import { ApiKey, ApiKeyCreated, ApiKeyList, ApiKeyParams, CreateApiKeyInput } from './schemas.js'
import type { Scope } from './scopes.js'

const DAY_MS = 86_400_000

// People manage API keys; no key, however scoped, creates or revokes one.
const listApiKeys = declareRoute({
  method: 'get',
  path: '/api/api-keys',
  operationId: 'listApiKeys',
  summary: 'The license’s API keys, newest first (never the secret)',
  tag: 'api-keys',
  teamRole: 'admin',
  access: access.session,
  responses: { 200: json(ApiKeyList, 'API keys of the license') },
})

const createApiKey = declareRoute({
  method: 'post',
  path: '/api/api-keys',
  operationId: 'createApiKey',
  summary: 'Create a scoped, expiring API key; its secret is shown this once',
  tag: 'api-keys',
  teamRole: 'admin',
  access: access.session,
  request: { body: jsonBody(CreateApiKeyInput) },
  responses: { 201: json(ApiKeyCreated, 'The key, with its secret shown this once') },
})

const revokeApiKey = declareRoute({
  method: 'post',
  path: '/api/api-keys/{id}/revoke',
  operationId: 'revokeApiKey',
  summary: 'Revoke an API key: refused on every instance within a second, its open streams closed',
  tag: 'api-keys',
  teamRole: 'admin',
  access: access.session,
  errors: ['not_found'],
  request: { params: ApiKeyParams },
  responses: { 200: json(ApiKey, 'The revoked key') },
})

function publicApiKey(k: Selectable<ApiKeysTable>, nowMs: number) {
  return {
    id: k.id,
    name: k.name,
    start: k.start,
    scopes: k.scopes as Scope[],
    status: (k.status === 'active' && k.expires_at.getTime() <= nowMs ? 'expired' : k.status) as 'active' | 'revoked' | 'expired',
    expiresAt: k.expires_at.toISOString(),
    lastUsedAt: k.last_used_at?.toISOString() ?? null,
    useCount: Number(k.use_count),
    createdAt: k.created_at.toISOString(),
  }
}

export function apiKeyRoutes(deps: Deps, keys: KeyResolver) {
  const app = createRouter()

  app.openapi(listApiKeys, async (c) => {
    await keys.flushUsage()
    const rows = await deps.db.selectFrom('api_keys').selectAll().where('license_id', '=', tenantOf(c)).orderBy('created_at', 'desc').execute()
    return c.json({ apiKeys: rows.map((k) => publicApiKey(k, deps.clock.now())) }, 200)
  })

  app.openapi(createApiKey, async (c) => {
    const licenseId = tenantOf(c)
    const body = c.req.valid('json')
    const key = generateApiKey()
    const row = await deps.db
      .insertInto('api_keys')
      .values({
        license_id: licenseId,
        name: body.name,
        lookup: keyLookup(deps.config.keyPepper, key),
        start: keyStart(key),
        scopes: [...new Set(body.scopes)],
        expires_at: new Date(deps.clock.now() + body.expiresInDays * DAY_MS),
        created_by: c.get('principal').email,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    await audit(deps.db, {
      licenseId,
      ...actorOf(c.get('principal')),
      action: 'key.created',
      target: row.id,
      ip: clientIp(c),
      meta: { kind: 'api', scopes: row.scopes },
    })
    return c.json({ ...publicApiKey(row, deps.clock.now()), key }, 201)
  })

  app.openapi(revokeApiKey, async (c) => {
    const licenseId = tenantOf(c)
    const row = await deps.db
      .updateTable('api_keys')
      .set({ status: 'revoked', revoked_at: new Date(deps.clock.now()) })
      .where('id', '=', c.req.valid('param').id)
      .where('license_id', '=', licenseId)
      .returningAll()
      .executeTakeFirst()
    if (!row) throw notFound('API key')
    await keys.invalidate([row.lookup])
    await closeStreams(deps.cache, [streamTag.key(row.id)], 'key_revoked')
    await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'key.revoked', target: row.id, ip: clientIp(c), meta: { kind: 'api' } })
    return c.json(publicApiKey(row, deps.clock.now()), 200)
  })

  return app
}
