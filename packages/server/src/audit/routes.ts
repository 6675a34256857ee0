// GET /api/audit: the caller's license's audit trail, newest first.
import { createRoute, z } from '@hono/zod-openapi'
import { tenantOf } from '../auth/middleware.js'
import type { Deps } from '../platform/context.js'
import { createRouter } from '../platform/http.js'
import { listAudit } from './log.js'

const entry = z
  .object({
    id: z.string(),
    actor: z.string().nullable().openapi({ description: 'The person (email) who acted; null when a key acted or the platform did' }),
    actorKind: z.string().nullable().openapi({
      description: "'session' for a logged-in person, the key's prefix (intl_sk, agnt, data) when a key acted, null for the platform (sign-in, CLI, webhooks)",
    }),
    actorKeyId: z.string().nullable().openapi({ description: 'The id of the key that acted (an API key or a product key)' }),
    action: z.string(),
    target: z.string().nullable(),
    ip: z.string().nullable(),
    meta: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .openapi('AuditEntry')

export function auditRoutes(deps: Deps) {
  const app = createRouter()
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/audit',
      tags: ['audit'],
      security: [{ bearerAuth: [] }],
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: { description: 'Audit entries', content: { 'application/json': { schema: z.object({ entries: z.array(entry) }) } } } },
    }),
    async (c) => {
      const rows = await listAudit(deps.db, tenantOf(c), c.req.valid('query').limit)
      const entries = rows.map((r) => ({
        id: String(r.id),
        actor: r.actor,
        actorKind: r.actor_kind,
        actorKeyId: r.actor_key_id,
        action: r.action,
        target: r.target,
        ip: r.ip,
        meta: r.meta,
        createdAt: r.created_at.toISOString(),
      }))
      return c.json({ entries }, 200)
    },
  )
  return app
}
