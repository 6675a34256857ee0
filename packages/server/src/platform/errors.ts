// One error type for the whole API: a stable code, mapped to an HTTP status by one exhaustive table.
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export const errorStatus = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 422,
  url_not_allowed: 400,
  malformed_key: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthorized: 401,
  invalid_credentials: 401,
  token_expired: 401,
  token_invalid: 401,
  session_revoked: 401,
  invalid_signature: 401,
  stale_signature: 401,
  invalid_key: 401,
  key_revoked: 401,
  visitor_token_invalid: 401,
  visitor_invalid: 401,
  identity_invalid: 401,
  forbidden: 403,
  insufficient_scope: 403,
  origin_not_allowed: 403,
  product_not_purchased: 403,
  license_inactive: 403,
  csrf_rejected: 403,
  not_found: 404,
  license_not_found: 404,
  email_mismatch: 403,
  license_already_claimed: 409,
  email_taken: 409,
  identity_not_configured: 409,
  conflict: 409,
  idempotency_conflict: 409,
  rate_limited: 429,
  not_configured: 503,
  upstream_failed: 502,
  unavailable: 503,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof errorStatus

export class AppError extends Error {
  readonly code: ErrorCode
  readonly details: unknown
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, message: string, options: { details?: unknown; headers?: Record<string, string> } = {}) {
    super(message)
    this.name = 'AppError'
    this.code = code
    this.details = options.details
    this.headers = options.headers ?? {}
  }

  get status(): ContentfulStatusCode {
    return errorStatus[this.code]
  }
}

export const notFound = (what = 'Resource'): AppError => new AppError('not_found', `${what} not found`)
