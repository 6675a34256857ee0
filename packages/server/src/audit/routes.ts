// GET /api/audit: the caller's license's audit trail, newest first.
import { createRoute, z } from '@hono/zod-openapi'
import { tenantOf } from '../auth/middleware.js'
import type { Deps } from '../platform/context.js'
import { createRouter } from '../platform/http.js'
import { listAudit } from './log.js'

export function auditRoutes(deps: Deps) {
  const app = createRouter()
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/audit',
      tags: ['audit'],
      security: [{ bearerAuth: [] }],
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: { description: 'Audit entries' } },
    }),
    async (c) => {
      const rows = await listAudit(deps.db, tenantOf(c), c.req.valid('query').limit)
      return c.json({ entries: rows.map((r) => ({ ...r, id: String(r.id), createdAt: r.created_at.toISOString(), created_at: undefined })) }, 200)
    },
  )
  return app
}
