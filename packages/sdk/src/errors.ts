// The error tree every failed call rejects with: one class per kind of failure, each carrying the API's
// stable code and request id (modelled on stripe-node's Error.ts).

/** The JSON error envelope the API answers with. */
export interface ErrorBody {
  error?: { code?: string; message?: string; requestId?: string; details?: unknown }
}

export interface IntelagentErrorInit {
  status?: number | undefined
  code?: string | undefined
  requestId?: string | null | undefined
  headers?: Headers | undefined
  details?: unknown
  cause?: unknown
}

export class IntelagentError extends Error {
  /** HTTP status; undefined when no response arrived. */
  readonly status: number | undefined
  /** Stable snake_case code from the API (`license_not_found`, `rate_limited`, …) or from the SDK (`connection_error`). */
  readonly code: string
  /** The server's request id (body or `X-Request-Id`): quote it when asking for support. */
  readonly requestId: string | null
  readonly headers: Headers
  /** Field-level validation issues, when the API sent them. */
  readonly details: unknown

  constructor(message: string, init: IntelagentErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = new.target.name
    this.status = init.status
    this.code = init.code ?? 'unknown_error'
    this.requestId = init.requestId ?? null
    this.headers = init.headers ?? new Headers()
    this.details = init.details
  }

  /** Builds the right subclass for an HTTP error response. */
  static fromResponse(status: number, body: unknown, headers: Headers): IntelagentError {
    const envelope = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody
    const init: IntelagentErrorInit = {
      status,
      code: envelope.error?.code ?? `http_${status}`,
      requestId: envelope.error?.requestId || headers.get('x-request-id'),
      headers,
      details: envelope.error?.details,
    }
    const message = envelope.error?.message ?? `Request failed with status ${status}`
    if (status === 401) return new AuthenticationError(message, init)
    if (status === 403) return new PermissionError(message, init)
    if (status === 404) return new NotFoundError(message, init)
    if (status === 409) return new ConflictError(message, init)
    if (status === 429) return new RateLimitError(message, init)
    if (status === 400 || status === 413 || status === 415 || status === 422) return new ValidationError(message, init)
    if (status >= 500) return new APIError(message, init)
    return new IntelagentError(message, init)
  }
}

/** 401: missing, wrong, expired or revoked credentials. */
export class AuthenticationError extends IntelagentError {}
/** 403: authenticated, but not allowed (product not bought, origin not allowed, operators only, …). */
export class PermissionError extends IntelagentError {}
/** 404: no such resource for this caller (another tenant's resources are 404 too). */
export class NotFoundError extends IntelagentError {}
/** 409: already exists or already claimed. */
export class ConflictError extends IntelagentError {}
/** 400, 413, 415, 422: the request itself is wrong; retrying will not help. */
export class ValidationError extends IntelagentError {}
/** 5xx: the server failed; retried automatically before this is thrown. */
export class APIError extends IntelagentError {}

/** 429: a rate limit or quota was hit. */
export class RateLimitError extends IntelagentError {
  /** Seconds the server asked to wait (`Retry-After`), or null when it did not say. */
  readonly retryAfter: number | null

  constructor(message: string, init: IntelagentErrorInit = {}) {
    super(message, init)
    const raw = init.headers?.get('retry-after')
    const seconds = raw == null ? Number.NaN : Number(raw)
    this.retryAfter = Number.isFinite(seconds) ? seconds : null
  }
}

/** No response: DNS, refused connection, reset, timeout or an aborted request. */
export class ConnectionError extends IntelagentError {
  constructor(message: string, init: IntelagentErrorInit = {}) {
    super(message, { code: 'connection_error', ...init })
  }
}

/** A webhook signature that is missing, malformed, wrong (`invalid_signature`) or too old (`stale_signature`). */
export class SignatureVerificationError extends IntelagentError {}
