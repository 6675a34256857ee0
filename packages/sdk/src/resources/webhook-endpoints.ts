// /api/webhook-endpoints and /api/webhook-deliveries: where events are POSTed, their signing secrets, the delivery log.
import type { RequestOptions, Transport } from '../core.js'
import { allOf } from '../lists.js'
import { PagePromise } from '../pagination.js'
import type {
  CreateWebhookEndpointParams,
  PageParams,
  RedeliveredWebhookDelivery,
  ResponseBody,
  UpdateWebhookEndpointParams,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookEventType,
  WebhookTestResult,
} from '../types.js'

/** Every event type an endpoint can subscribe to, in the server's order (typecheck fails when the document has one it lacks). */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = allOf<WebhookEventType>()([
  'license.created',
  'license.updated',
  'license.suspended',
  'subscription.updated',
  'billing.payment_failed',
  'conversation.created',
  'message.created',
  'lead.created',
  'lead.enriched',
  'conversation.waiting',
  'conversation.closed',
  'conversation.reopened',
  'message.rated',
  'question.unanswered',
  'team.invitation.created',
  'usage.warning',
  'usage.limited',
  'webhook_endpoint.disabled',
])

const path = (id: string, rest = ''): string => `/api/webhook-endpoints/${encodeURIComponent(id)}${rest}`

export class WebhookEndpoints {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Registers an endpoint; `secret` in the result is the only time the signing secret is returned. */
  create(params: CreateWebhookEndpointParams, options?: RequestOptions): Promise<WebhookEndpointWithSecret> {
    return this.#t.request({ method: 'POST', path: '/api/webhook-endpoints', body: params, options })
  }

  /** Every endpoint of the license (one page). */
  list(options?: RequestOptions): PagePromise<WebhookEndpoint> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'listWebhookEndpoints', 200>>({ method: 'GET', path: '/api/webhook-endpoints', options })
      return { data: res.data, nextCursor: null }
    })
  }

  get(id: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.#t.request({ method: 'GET', path: path(id), options })
  }

  /** Changes the URL or events, or disables / enables the endpoint. */
  update(id: string, params: UpdateWebhookEndpointParams, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.#t.request({ method: 'PATCH', path: path(id), body: params, options })
  }

  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.#t.request({ method: 'DELETE', path: path(id), options })
  }

  /** A new secret (shown once); the old one keeps signing beside it for 24 hours. */
  rotateSecret(id: string, options?: RequestOptions): Promise<WebhookEndpointWithSecret> {
    return this.#t.request({ method: 'POST', path: path(id, '/rotate-secret'), options })
  }

  /** Sends a `ping` event now and reports DNS, TLS, status, latency and the start of the answer. */
  test(id: string, options?: RequestOptions): Promise<WebhookTestResult> {
    return this.#t.request({ method: 'POST', path: path(id, '/test'), options })
  }

  /** The endpoint's deliveries, newest first, each with every attempt. */
  deliveries(id: string, params: PageParams & { status?: WebhookDeliveryStatus } = {}, options?: RequestOptions): PagePromise<WebhookDelivery> {
    return new PagePromise(
      (cursor) =>
        this.#t.request({
          method: 'GET',
          path: path(id, '/deliveries'),
          query: { limit: params.limit, status: params.status, cursor },
          options,
        }),
      params.cursor,
    )
  }

  /** Sends one delivery again now. */
  redeliver(deliveryId: string, options?: RequestOptions): Promise<RedeliveredWebhookDelivery> {
    return this.#t.request({ method: 'POST', path: `/api/webhook-deliveries/${encodeURIComponent(deliveryId)}/redeliver`, options })
  }

  /** Sends every failed delivery of the endpoint again; resolves to how many were queued. */
  async redeliverFailed(id: string, options?: RequestOptions): Promise<number> {
    const res = await this.#t.request<ResponseBody<'redeliverFailedWebhookDeliveries', 202>>({ method: 'POST', path: path(id, '/redeliver-failed'), options })
    return res.queued
  }
}
