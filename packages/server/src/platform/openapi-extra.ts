// Routes that read their raw body (signed webhooks) or stream (SSE) are not built with createRoute;
// they are described here so /api/openapi.json still lists every route.
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from './context.js'

type Method = 'get' | 'post'
const described: [Method, string, string, string][] = [
  [
    'get',
    '/api/events',
    'conversations',
    'Server-Sent Events for the dashboard: conversation.created, message.created, lead.created; a final revoked event ({reason}) when the session or key is revoked or the license suspended; 429 too_many_streams past the per-license cap',
  ],
  [
    'get',
    '/api/widget/conversations/{id}/events',
    'widget',
    'Server-Sent Events for the visitor: message, typing, token; resumable with Last-Event-ID; a final revoked event ({reason}) when the key is revoked or the license suspended; 429 too_many_streams past the per-visitor or per-key cap',
  ],
]

export function describeUnvalidatedRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const [method, path, tag, description] of described) {
    app.openAPIRegistry.registerPath({ method, path, tags: [tag], description, responses: { 200: { description } } })
  }
}
