// /api/webhook-endpoints and /api/webhook-deliveries: declarations and thin handlers; the rules live in service.ts.
import { z } from '@hono/zod-openapi'
import { requireScope } from '../keys/scopes.js'
import type { Principal } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { EVENT_TYPES } from '../platform/events.js'
import { createRouter, jsonBody } from '../platform/http.js'
import { ConnectionReportSchema } from '../platform/probe.js'
import { access, declareRoute, empty, type Guard, json } from '../platform/route.js'
import type { OutboundWebhooks } from './service.js'
import type { AttemptRow, DeliveryRow, EndpointRow } from './store.js'

const EndpointId = z.string().regex(/^we_[0-9A-Za-z]{24}$/, 'must be a webhook endpoint id (we_…)')
const DeliveryId = z.string().regex(/^wd_[0-9A-Za-z]{24}$/, 'must be a webhook delivery id (wd_…)')
const EventTypeSchema = z.enum(EVENT_TYPES as [string, ...string[]]).openapi('WebhookEventType')
const Url = z
  .string()
  .trim()
  .max(2000)
  .refine((v) => URL.canParse(v), 'must be an absolute http(s) URL')
  .openapi({ example: 'https://hooks.example.com/intelagent' })
const Events = z.array(EventTypeSchema).min(1).max(EVENT_TYPES.length).openapi({ description: 'The event types this endpoint receives' })

export const EndpointSchema = z
  .object({
    id: z.string().openapi({ example: 'we_3kTq9ZbYx1LmN0pQrStUvWx2' }),
    url: z.string(),
    events: z.array(EventTypeSchema),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    failingSince: z.string().nullable().openapi({ description: 'Since when every attempt has failed (null while deliveries succeed)' }),
    previousSecretExpiresAt: z.string().nullable().openapi({ description: 'Until when the secret before the last rotation still signs' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookEndpoint')

const WithSecret = EndpointSchema.extend({
  secret: z.string().openapi({ description: 'The signing secret (whsec_…): shown once, store it now', example: 'whsec_4eC39HqLyjWDarjtT1zdp7dc4eC39HqL' }),
}).openapi('WebhookEndpointWithSecret')

export const AttemptSchema = z
  .object({
    at: z.string(),
    statusCode: z.number().int().nullable(),
    latencyMs: z.number().int(),
    responseExcerpt: z.string().nullable().openapi({ description: 'The first KiB of the answer' }),
    error: z.string().nullable(),
  })
  .openapi('WebhookAttempt')

export const DeliverySchema = z
  .object({
    id: z.string().openapi({ example: 'wd_8HfQ2LmN0pQrStUvWx2kTq9Z' }),
    endpointId: z.string(),
    eventId: z.string(),
    eventType: z.union([EventTypeSchema, z.literal('ping')]).openapi({ description: 'The event type, or `ping` for a test delivery' }),
    status: z.enum(['pending', 'succeeded', 'failed']),
    lastError: z.string().nullable(),
    attempts: z.array(AttemptSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookDelivery')

const TestResultSchema = ConnectionReportSchema.extend({ deliveryId: z.string() }).openapi('WebhookTestResult')

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null)

export const endpointView = (ep: EndpointRow) => ({
  id: ep.id,
  url: ep.url,
  events: ep.events,
  description: ep.description,
  enabled: ep.enabled,
  disabledReason: ep.disabled_reason,
  failingSince: iso(ep.failing_since),
  previousSecretExpiresAt: ep.previous_secret_ciphertext ? iso(ep.previous_secret_expires_at) : null,
  createdAt: ep.created_at.toISOString(),
  updatedAt: ep.updated_at.toISOString(),
})

const deliveryView = (d: DeliveryRow, attempts: AttemptRow[]) => ({
  id: d.id,
  endpointId: d.endpoint_id,
  eventId: d.event_id,
  eventType: d.event_type,
  status: d.status,
  lastError: d.last_error,
  attempts: attempts.map((a) => ({
    at: a.created_at.toISOString(),
    statusCode: a.status_code,
    latencyMs: a.latency_ms,
    responseExcerpt: a.response_excerpt,
    error: a.error,
  })),
  createdAt: d.created_at.toISOString(),
  updatedAt: d.updated_at.toISOString(),
})

const TAG = 'webhooks'
const read = access.customer('webhooks:read')
const write = access.customer('webhooks:write')
const idParams = z.object({ id: EndpointId })

const createEndpoint = declareRoute({
  method: 'post',
  path: '/api/webhook-endpoints',
  operationId: 'createWebhookEndpoint',
  summary: 'Register a URL to receive signed events; the signing secret is in this answer only',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['url_not_allowed', 'conflict'],
  request: { body: jsonBody(z.strictObject({ url: Url, events: Events, description: z.string().trim().max(200).nullable().optional() })) },
  responses: { 201: json(WithSecret, 'The endpoint and its signing secret (shown once)') },
})

const listEndpoints = declareRoute({
  method: 'get',
  path: '/api/webhook-endpoints',
  operationId: 'listWebhookEndpoints',
  summary: "The license's webhook endpoints",
  tag: TAG,
  access: read,
  responses: { 200: json(z.object({ data: z.array(EndpointSchema) }), 'Every endpoint, oldest first') },
})

const getEndpoint = declareRoute({
  method: 'get',
  path: '/api/webhook-endpoints/{id}',
  operationId: 'getWebhookEndpoint',
  summary: 'One webhook endpoint',
  tag: TAG,
  access: read,
  errors: ['not_found'],
  request: { params: idParams },
  responses: { 200: json(EndpointSchema, 'The endpoint') },
})

const updateEndpoint = declareRoute({
  method: 'patch',
  path: '/api/webhook-endpoints/{id}',
  operationId: 'updateWebhookEndpoint',
  summary: 'Change the URL or events, or disable / enable the endpoint (enabling starts a fresh failure window)',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['not_found', 'url_not_allowed'],
  request: {
    params: idParams,
    body: jsonBody(
      z
        .strictObject({
          url: Url.optional(),
          events: Events.optional(),
          enabled: z.boolean().optional(),
          description: z.string().trim().max(200).nullable().optional(),
        })
        .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'give at least one of url, events, enabled, description' }),
    ),
  },
  responses: { 200: json(EndpointSchema, 'The endpoint as changed') },
})

const deleteEndpoint = declareRoute({
  method: 'delete',
  path: '/api/webhook-endpoints/{id}',
  operationId: 'deleteWebhookEndpoint',
  summary: 'Delete an endpoint and its delivery log; nothing more is sent to it',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['not_found'],
  request: { params: idParams },
  responses: { 204: empty('Deleted') },
})

const rotateSecret = declareRoute({
  method: 'post',
  path: '/api/webhook-endpoints/{id}/rotate-secret',
  operationId: 'rotateWebhookEndpointSecret',
  summary: 'A new signing secret (shown once); the old one keeps signing beside it for 24 hours',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['not_found', 'conflict'],
  request: { params: idParams },
  responses: { 200: json(WithSecret, 'The endpoint and its new secret (shown once)') },
})

const testEndpoint = declareRoute({
  method: 'post',
  path: '/api/webhook-endpoints/{id}/test',
  operationId: 'testWebhookEndpoint',
  summary: 'Send a `ping` event now and report what happened: DNS, TLS, status, latency, the start of the answer',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['not_found'],
  request: { params: idParams },
  responses: { 200: json(TestResultSchema, 'What happened (ok false is still a 200: the test ran)') },
})

const listDeliveries = declareRoute({
  method: 'get',
  path: '/api/webhook-endpoints/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  summary: "An endpoint's deliveries, newest first, each with every attempt",
  tag: TAG,
  access: read,
  errors: ['not_found'],
  request: {
    params: idParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(200).optional(),
      status: z.enum(['pending', 'succeeded', 'failed']).optional(),
    }),
  },
  responses: { 200: json(z.object({ data: z.array(DeliverySchema), nextCursor: z.string().nullable() }), 'A page of deliveries') },
})

const redeliverFailed = declareRoute({
  method: 'post',
  path: '/api/webhook-endpoints/{id}/redeliver-failed',
  operationId: 'redeliverFailedWebhookDeliveries',
  summary: 'Send every failed delivery of the endpoint again (up to 1000 a call)',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['not_found', 'conflict'],
  request: { params: idParams },
  responses: { 202: json(z.object({ queued: z.number().int() }), 'How many deliveries were queued again') },
})

const redeliver = declareRoute({
  method: 'post',
  path: '/api/webhook-deliveries/{id}/redeliver',
  operationId: 'redeliverWebhookDelivery',
  summary: 'Send one delivery again now, whatever its status',
  tag: TAG,
  teamRole: 'admin',
  access: write,
  errors: ['not_found', 'conflict'],
  request: { params: z.object({ id: DeliveryId }) },
  responses: { 202: json(DeliverySchema.omit({ attempts: true }), 'The delivery, queued again') },
})

/** Stands in for the declaration guard until createApp installs one (as enrichment/routes.ts does). */
const prefixMountedGuard: Guard = {
  async run(c, route, next) {
    const principal = c.get('principal') as Principal | undefined
    if (!principal) throw new AppError('unauthorized', 'Log in or send a secret key as a Bearer token')
    if (route.access.kind === 'customer') requireScope(principal, route.access.scope as Parameters<typeof requireScope>[1])
    await next()
    return undefined
  },
}

export function outboundWebhookRoutes(webhooks: OutboundWebhooks) {
  const app = createRouter()
  for (const prefix of ['/api/webhook-endpoints/*', '/api/webhook-deliveries/*'])
    app.use(prefix, async function webhooksGuard(c, next) {
      if (!c.get('guard')) c.set('guard', prefixMountedGuard)
      await next()
    })

  app.openapi(createEndpoint, async (c) => {
    const body = c.req.valid('json')
    const { endpoint, secret } = await webhooks.create(tenantOf(c), { url: body.url, events: body.events as never, description: body.description ?? null })
    return c.json({ ...endpointView(endpoint), secret }, 201)
  })
  app.openapi(listEndpoints, async (c) => c.json({ data: (await webhooks.list(tenantOf(c))).map(endpointView) }, 200))
  app.openapi(getEndpoint, async (c) => c.json(endpointView(await webhooks.get(tenantOf(c), c.req.valid('param').id)), 200))
  app.openapi(updateEndpoint, async (c) => {
    const body = c.req.valid('json')
    return c.json(endpointView(await webhooks.update(tenantOf(c), c.req.valid('param').id, body as Parameters<OutboundWebhooks['update']>[2])), 200)
  })
  app.openapi(deleteEndpoint, async (c) => {
    await webhooks.remove(tenantOf(c), c.req.valid('param').id)
    return c.body(null, 204)
  })
  app.openapi(rotateSecret, async (c) => {
    const { endpoint, secret } = await webhooks.rotate(tenantOf(c), c.req.valid('param').id)
    return c.json({ ...endpointView(endpoint), secret }, 200)
  })
  app.openapi(testEndpoint, async (c) => c.json(await webhooks.test(tenantOf(c), c.req.valid('param').id), 200))
  app.openapi(listDeliveries, async (c) => {
    const q = c.req.valid('query')
    const page = await webhooks.deliveries(tenantOf(c), c.req.valid('param').id, q)
    return c.json({ data: page.data.map((d) => deliveryView(d.delivery, d.attempts)), nextCursor: page.nextCursor }, 200)
  })
  app.openapi(redeliverFailed, async (c) => c.json({ queued: await webhooks.redeliverFailed(tenantOf(c), c.req.valid('param').id) }, 202))
  app.openapi(redeliver, async (c) => {
    const { attempts: _a, ...view } = deliveryView(await webhooks.redeliver(tenantOf(c), c.req.valid('param').id), [])
    return c.json(view, 202)
  })
  return app
}
