// Routes that read their raw body (signed webhooks) are not built with createRoute;
// they are described here so /api/openapi.json still lists every route.
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from './context.js'

type Method = 'get' | 'post'
const described: [Method, string, string, string][] = [
  ['get', '/healthz', 'ops', 'Alive'],
  ['get', '/readyz', 'ops', 'Postgres and Redis reachable: ready, degraded (Redis down, local limiter) or unavailable'],
  ['post', '/api/webhooks/squarespace', 'webhooks', 'Squarespace order.create notification, verified by Squarespace-Signature'],
  ['post', '/api/webhooks/n8n/licenses', 'webhooks', 'Issue a license from n8n, verified by X-Intelagent-Signature'],
  ['post', '/api/webhooks/n8n/replies', 'webhooks', 'A deferred n8n answer to a visitor, verified by X-Intelagent-Signature'],
]

export function describeUnvalidatedRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const [method, path, tag, description] of described) {
    app.openAPIRegistry.registerPath({ method, path, tags: [tag], description, responses: { 200: { description } } })
  }
}
