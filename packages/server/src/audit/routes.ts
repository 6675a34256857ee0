// GET /api/audit: the caller's license's audit trail, newest first.

import { listAudit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { createRouter } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'
import { AuditList, AuditQuery } from './schemas.js'

const listAuditRoute = declareRoute({
  method: 'get',
  path: '/api/audit',
  operationId: 'listAudit',
  summary: 'The license’s audit trail, newest first: who did what, from where',
  tag: 'audit',
  access: access.customer('audit:read'),
  errors: ['forbidden'],
  request: { query: AuditQuery },
  responses: { 200: json(AuditList, 'Audit entries') },
})

export function auditRoutes(deps: Deps) {
  const app = createRouter()
  app.openapi(listAuditRoute, async (c) => {
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
  })
  return app
}
