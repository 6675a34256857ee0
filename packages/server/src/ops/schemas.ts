// The wire shapes of the operations routes: liveness and readiness.
import { z } from '@hono/zod-openapi'

export const Health = z.object({ status: z.literal('ok') }).openapi('Health')

export const Readiness = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable']).openapi({ description: 'degraded: Redis is down and rate limits fall back to this instance' }),
    postgres: z.enum(['up', 'down']),
    redis: z.enum(['up', 'down', 'in-process']).openapi({ description: 'in-process: no REDIS_URL, the cache lives in this process' }),
  })
  .openapi('Readiness')

export const OpenApiDocument = z.record(z.string(), z.unknown()).openapi({ description: 'An OpenAPI 3.1 document' })
