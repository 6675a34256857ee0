// @intelagent/sdk: a typed client for the Intelagent API with no runtime dependencies.
export { Intelagent } from './client.js'
export type { ClientOptions, FetchLike, RequestOptions } from './core.js'
export {
  APIError,
  AuthenticationError,
  ConflictError,
  ConnectionError,
  IntelagentError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  SignatureVerificationError,
  ValidationError,
} from './errors.js'
export { Page, PagePromise } from './pagination.js'
export { API_KEY_SCOPES } from './resources/api-keys.js'
export { ENRICH_BATCH_LIMIT, isEnrichError } from './resources/enrich.js'
export { WEBHOOK_EVENT_TYPES } from './resources/webhook-endpoints.js'
export type { VisitorOptions, WidgetOptions } from './resources/widget.js'
export * from './types.js'
export { constructEvent, DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, sign, verifySignature, webhooks } from './webhooks.js'
