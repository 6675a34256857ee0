// The wire shapes of /api/admin/jobs: what an operator sees of a durable job (never its payload).
import { z } from '@hono/zod-openapi'

export const JOB_STATUSES = ['queued', 'running', 'done', 'dead'] as const

export const Job = z
  .object({
    id: z.string().openapi({ example: 'job_3fK9x2LmQ7vB1nR4tY6wZ8aC' }),
    name: z.string().openapi({ example: 'squarespace.order' }),
    status: z.enum(JOB_STATUSES),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    runAt: z.iso.datetime(),
    lockedBy: z.string().nullable(),
    lockedUntil: z.iso.datetime().nullable(),
    lastError: z.string().nullable().openapi({ example: 'Squarespace Orders API answered 503' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Job')

export const JobList = z.object({ jobs: z.array(Job) }).openapi('JobList')
export const JobResult = z.object({ job: Job }).openapi('JobResult')

export const JobQuery = z.object({
  status: z.enum(JOB_STATUSES).optional().openapi({ example: 'dead' }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ example: 50 }),
})

export const JobParams = z.object({
  id: z
    .string()
    .regex(/^job_[0-9A-Za-z]{24}$/, 'not a job id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'job_3fK9x2LmQ7vB1nR4tY6wZ8aC' }),
})
