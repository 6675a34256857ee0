// /api/admin/jobs: operators see durable jobs (dead ones above all) and send a dead job round again.
import { createRoute, z } from '@hono/zod-openapi'
import { audit } from '../audit/log.js'
import type { Deps } from '../platform/context.js'
import { isUniqueViolation, type JobRow } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter } from '../platform/http.js'
import { requeueDead } from '../platform/jobs.js'

const JOB_STATUSES = ['queued', 'running', 'done', 'dead'] as const
const jobId = z.string().regex(/^job_[0-9A-Za-z]{24}$/, 'not a job id')

/** What an operator sees of a job: never its payload, which may carry customer data. */
function publicJob(j: JobRow) {
  return {
    id: j.id,
    name: j.name,
    status: j.status,
    attempts: j.attempts,
    maxAttempts: j.max_attempts,
    runAt: j.run_at.toISOString(),
    lockedBy: j.locked_by,
    lockedUntil: j.locked_until?.toISOString() ?? null,
    lastError: j.last_error,
    createdAt: j.created_at.toISOString(),
    updatedAt: j.updated_at.toISOString(),
  }
}

export function jobAdminRoutes(deps: Deps) {
  const app = createRouter()
  const security = [{ bearerAuth: [] }]

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/jobs',
      tags: ['admin'],
      security,
      request: {
        query: z.object({
          status: z.enum(JOB_STATUSES).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: { 200: { description: 'Jobs, most recently changed first, without their payloads' } },
    }),
    async (c) => {
      const { status, limit } = c.req.valid('query')
      let q = deps.db.selectFrom('jobs').selectAll()
      if (status) q = q.where('status', '=', status)
      const rows = await q.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
      return c.json({ jobs: rows.map(publicJob) }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/jobs/{id}/retry',
      tags: ['admin'],
      security,
      request: { params: z.object({ id: jobId }) },
      responses: { 200: { description: 'The dead job, queued again with its attempts reset' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const row = await requeueDead(deps.db, id).catch((err) => {
        if (isUniqueViolation(err)) throw new AppError('conflict', 'Another job for the same work is already queued or running')
        throw err
      })
      if (!row) {
        const exists = await deps.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirst()
        if (!exists) throw notFound('Job')
        throw new AppError('conflict', `Only a dead job can be retried; this one is ${exists.status}`)
      }
      await audit(deps.db, {
        licenseId: null,
        actor: c.get('principal').email,
        action: 'job.retried',
        target: row.id,
        ip: clientIp(c),
        meta: { name: row.name },
      })
      return c.json({ job: publicJob(row) }, 200)
    },
  )

  return app
}
