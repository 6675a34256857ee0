// /api/admin/jobs: operators see durable jobs (dead ones above all) and send a dead job round again.
import { audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { isUniqueViolation, type JobRow } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter } from '../platform/http.js'
import { requeueDead } from '../platform/jobs.js'
import { access, declareRoute, json } from '../platform/route.js'
import { JobList, JobParams, JobQuery, JobResult } from './schemas.js'

const listJobs = declareRoute({
  method: 'get',
  path: '/api/admin/jobs',
  operationId: 'adminListJobs',
  summary: 'Operators: durable jobs, most recently changed first (dead ones by ?status=dead), without their payloads',
  tag: 'admin',
  access: access.operator,
  request: { query: JobQuery },
  responses: { 200: json(JobList, 'Jobs, most recently changed first') },
})

const retryJob = declareRoute({
  method: 'post',
  path: '/api/admin/jobs/{id}/retry',
  operationId: 'adminRetryJob',
  summary: 'Operators: send a dead job round again, its attempts reset',
  tag: 'admin',
  access: access.operator,
  errors: ['not_found', 'conflict'],
  request: { params: JobParams },
  responses: { 200: json(JobResult, 'The job, queued again') },
})

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
  app.openapi(listJobs, async (c) => {
    const { status, limit } = c.req.valid('query')
    let q = deps.db.selectFrom('jobs').selectAll()
    if (status) q = q.where('status', '=', status)
    const rows = await q.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return c.json({ jobs: rows.map(publicJob) }, 200)
  })

  app.openapi(retryJob, async (c) => {
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
  })

  return app
}
