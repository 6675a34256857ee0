// Operations: liveness, readiness, the Prometheus scrape endpoint and the OpenAPI document itself.
import { z } from '@hono/zod-openapi'
import type { Deps } from '../platform/context.js'
import { pingDb } from '../platform/db.js'
import { AppError } from '../platform/errors.js'
import { createRouter, UNAVAILABLE_RETRY_AFTER_S } from '../platform/http.js'
import { bearerMatches } from '../platform/metrics.js'
import { access, declareRoute, json } from '../platform/route.js'
import type { StreamHub } from '../platform/streams.js'
import { Health, OpenApiDocument, Readiness } from './schemas.js'

const healthz = declareRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'healthz',
  summary: 'Alive: the process answers',
  tag: 'ops',
  access: access.public,
  responses: { 200: json(Health, 'Alive') },
})

const readyz = declareRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'readyz',
  summary: 'Ready for traffic: Postgres reachable (and Redis, or degraded to per-instance limits)',
  tag: 'ops',
  access: access.public,
  responses: {
    200: json(Readiness, 'Ready, or degraded (Redis down, local limiter)'),
    503: json(Readiness, 'Postgres is unreachable; Retry-After says when to look again'),
  },
})

// Authenticated by METRICS_TOKEN inside the handler, where a wrong token must look like no route at all; Prometheus'
// text format is not part of the API contract, so the route stays out of the document.
const metrics = declareRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'metrics',
  summary: 'Prometheus metrics (Bearer METRICS_TOKEN)',
  tag: 'ops',
  access: access.public,
  hide: true,
  responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
})

const openapiDocument = declareRoute({
  method: 'get',
  path: '/api/openapi.json',
  operationId: 'getOpenApiDocument',
  summary: 'This document',
  tag: 'ops',
  access: access.public,
  hide: true,
  responses: { 200: json(OpenApiDocument, 'The OpenAPI 3.1 document of this API') },
})

export interface OpsOptions {
  streams: StreamHub
  /** The OpenAPI document, built from the whole app's routes when asked for. */
  document: () => object
}

export function opsRoutes(deps: Deps, { streams, document }: OpsOptions) {
  const app = createRouter()

  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200))

  app.openapi(readyz, async (c) => {
    const [postgres, redis] = await Promise.all([pingDb(deps.db), deps.cache.healthy()])
    const cache = deps.cache.kind === 'memory' ? 'in-process' : redis ? 'up' : 'down'
    const status = !postgres ? 'unavailable' : cache === 'down' ? 'degraded' : 'ready'
    const body = { status, postgres: postgres ? 'up' : 'down', redis: cache } as const
    if (!postgres) {
      c.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S))
      return c.json(body, 503)
    }
    return c.json(body, 200)
  })

  // Prometheus scrape endpoint: unset METRICS_TOKEN = no such route; a wrong token looks the same as no route.
  deps.metrics.onCollect('sseStreams', () => deps.metrics.sseStreams.set({ kind: 'all' }, streams.size))
  deps.metrics.onCollect('queueDepth', async () => {
    const rows = await deps.db
      .selectFrom('jobs')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute()
    deps.metrics.queueDepth.reset()
    for (const r of rows) deps.metrics.queueDepth.set({ status: r.status }, Number(r.n))
  })
  deps.metrics.onCollect('up', async () => {
    const [postgres, redis] = await Promise.all([pingDb(deps.db), deps.cache.healthy()])
    deps.metrics.up.set({ dependency: 'postgres' }, postgres ? 1 : 0)
    deps.metrics.up.set({ dependency: 'redis' }, redis ? 1 : 0)
  })
  app.openapi(metrics, async (c) => {
    const token = deps.config.metricsToken
    if (!token || !bearerMatches(c.req.header('authorization'), token)) throw new AppError('not_found', 'No such route')
    return c.text(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType })
  })

  app.openapi(openapiDocument, (c) => c.json(document() as Record<string, unknown>, 200))

  return app
}

/** The document's header: what the API is, where it is served, and the tags its operations are grouped by. */
export const DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'Intelagent API', version: '0.1.0' },
} as const
