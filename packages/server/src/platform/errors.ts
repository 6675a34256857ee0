// One error type for the whole API: a stable code, mapped to an HTTP status by one exhaustive table.
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export const errorStatus = {
  bad_request: 400,
  /** A password-reset or email-confirmation link that is unknown, used or expired. */
  link_invalid: 400,
  invalid_request: 400,
  /** A date range that is not one: a day that is not YYYY-MM-DD, from after to, or longer than allowed (analytics). */
  invalid_range: 400,
  invalid_json: 400,
  validation_failed: 422,
  url_not_allowed: 400,
  /** A rating for a message that is not one of the bot's answers (a visitor's, a person's, the greeting). */
  message_not_rateable: 400,
  /** An uploaded file (a PDF) locked with a password: the server cannot read its text. */
  file_encrypted: 422,
  /** An uploaded file that is not what its type says, or is damaged (a PDF without a readable structure). */
  file_corrupt: 422,
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
  /** A signed-in person confirming a change with the wrong current password. */
  wrong_password: 403,
  insufficient_scope: 403,
  origin_not_allowed: 403,
  product_not_purchased: 403,
  /** The license's plan lacks a feature (platform/features.ts): the message names it and the plan that has it. */
  plan_feature_required: 403,
  license_inactive: 403,
  not_a_member: 403,
  password_incorrect: 403,
  csrf_rejected: 403,
  signing_secret_missing: 403,
  not_found: 404,
  license_not_found: 404,
  email_mismatch: 403,
  license_already_claimed: 409,
  email_taken: 409,
  seat_limit: 409,
  invitation_invalid: 404,
  invitation_expired: 410,
  identity_not_configured: 409,
  conflict: 409,
  idempotency_conflict: 409,
  rate_limited: 429,
  too_many_streams: 429,
  /** A plan's monthly quota is used up (src/usage/): the message names it and when it resets; Retry-After too. */
  quota_exceeded: 429,
  not_configured: 503,
  upstream_failed: 502,
  unavailable: 503,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof errorStatus

/**
 * Whether sending the same request again can succeed, answered as `x-should-retry` on every error so clients
 * need not guess from the status. Retryable: 408, 429 and server-side failures (5xx). Permanent: every other
 * 4xx (the same request gets the same answer: a claimed license stays claimed, a taken email stays taken) and
 * `not_configured`, which waits for an operator, not for time. A 409 is permanent unless the error says
 * otherwise: only a request still running under the same Idempotency-Key is worth repeating (AppError `retry`).
 */
export function isRetryable(code: ErrorCode): boolean {
  const status: number = errorStatus[code]
  // quota_exceeded waits for the period's end or an upgrade, not for a retry: its Retry-After says when.
  return status === 408 || (status === 429 && code !== 'quota_exceeded') || (status >= 500 && code !== 'not_configured')
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly details: unknown
  readonly headers: Record<string, string>
  /** Whether repeating the request can succeed: the code's rule (isRetryable) unless this occurrence knows better. */
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, options: { details?: unknown; headers?: Record<string, string>; retry?: boolean } = {}) {
    super(message)
    this.name = 'AppError'
    this.code = code
    this.details = options.details
    this.headers = options.headers ?? {}
    this.retryable = options.retry ?? isRetryable(code)
  }

  get status(): ContentfulStatusCode {
    return errorStatus[this.code]
  }
}

export const notFound = (what = 'Resource'): AppError => new AppError('not_found', `${what} not found`)
