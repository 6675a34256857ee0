// /api/api-keys: secret API keys (intl_sk_) for developers and the SDK: scoped, expiring, shown once.
import { createRoute, z } from '@hono/zod-openapi'
import type { Selectable } from 'kysely'
import { actorOf, audit } from '../audit/log.js'
import { tenantOf } from '../auth/middleware.js'
import type { Deps } from '../platform/context.js'
import type { ApiKeysTable } from '../platform/db.js'
import { notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { closeStreams, streamTag } from '../platform/streams.js'
import { requireRole } from '../team/roles.js'
import { generateApiKey, keyLookup, keyStart } from './format.js'
import type { KeyResolver } from './resolver.js'
import { SCOPES } from './scopes.js'

const security = [{ bearerAuth: [] }]
const DAY_MS = 86_400_000

function publicApiKey(k: Selectable<ApiKeysTable>, nowMs: number) {
  return {
    id: k.id,
    name: k.name,
    start: k.start,
    scopes: k.scopes,
    status: k.status === 'active' && k.expires_at.getTime() <= nowMs ? 'expired' : k.status,
    expiresAt: k.expires_at.toISOString(),
    lastUsedAt: k.last_used_at?.toISOString() ?? null,
    useCount: Number(k.use_count),
    createdAt: k.created_at.toISOString(),
  }
}

export function apiKeyRoutes(deps: Deps, keys: KeyResolver) {
  const app = createRouter()
  // API keys are key management: the owner and admins only, not members.
  app.use('/api/api-keys/*', async function keyManagers(c, next) {
    requireRole(c.get('principal'), 'admin')
    await next()
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/api-keys',
      tags: ['api-keys'],
      security,
      responses: { 200: { description: 'API keys of the license (never the secret)' } },
    }),
    async (c) => {
      await keys.flushUsage()
      const rows = await deps.db.selectFrom('api_keys').selectAll().where('license_id', '=', tenantOf(c)).orderBy('created_at', 'desc').execute()
      return c.json({ apiKeys: rows.map((k) => publicApiKey(k, deps.clock.now())) }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/api-keys',
      tags: ['api-keys'],
      security,
      request: {
        body: jsonBody(
          z.strictObject({
            name: z.string().trim().min(1).max(100),
            scopes: z.array(z.enum(SCOPES)).min(1),
            expiresInDays: z.number().int().min(1).max(3650).default(365),
          }),
        ),
      },
      responses: { 201: { description: 'The key, shown this once' } },
    }),
    async (c) => {
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
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/api-keys/{id}/revoke',
      tags: ['api-keys'],
      security,
      request: { params: z.object({ id: z.uuid() }) },
      responses: { 200: { description: 'Revoked on every instance within a second' } },
    }),
    async (c) => {
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
    },
  )

  return app
}
