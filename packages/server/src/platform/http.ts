// HTTP machinery shared by every route: routers with one validation hook, the error envelope, request ids, logs.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import type { Result, Router } from 'hono/router'
import { TrieRouter } from 'hono/router/trie-router'
import type { ZodType } from 'zod'
import type { AppEnv } from './context.js'
import { isDbUnavailable } from './db.js'
import { AppError, type ErrorCode, isRetryable } from './errors.js'
import { assertStorable, nulInUrl } from './input.js'
import type { Logger } from './logger.js'
import { declaredBodyLimit } from './route.js'

export function errorBody(c: Context<AppEnv>, code: ErrorCode, message: string, details?: unknown) {
  return { error: { code, message, requestId: c.get('requestId') ?? '', ...(details === undefined ? {} : { details }) } }
}

/** A required JSON request body for createRoute: validated by `schema`, described once for OpenAPI. */
export const jsonBody = <T extends ZodType>(schema: T) => ({ required: true as const, content: { 'application/json': { schema } } })

/** An optional JSON body: the handler reads it only when the request says it is JSON. */
export const optionalJsonBody = <T extends ZodType>(schema: T) => ({ required: false as const, content: { 'application/json': { schema } } })

/**
 * A router whose schema failures answer with the error envelope (422 validation_failed). Validated input holding a
 * string Postgres cannot store (a NUL, an unpaired surrogate) anywhere answers 400 invalid_request (platform/input.ts).
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    router: new AppRouter(),
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
        const first = issues[0]
        throw new AppError('validation_failed', first ? `${first.path || 'body'}: ${first.message}` : 'Invalid request', { details: issues })
      }
      assertStorable(result.data, result.target)
    },
  })
}

/**
 * Hono's TrieRouter, with the match of a path no route parameterises found once and kept. The app's routes rule out
 * RegExpRouter (`/api/products/keys/{id}/…` beside `/api/products/{product}/…`), so Hono's default falls back to the
 * trie, whose search walks every wildcard layer and allocates a params object per handler on every request: ≈ 5 % of
 * the server's CPU on the most frequent requests (`GET /api/widget/config` on every page a widget is on, `GET
 * /api/auth/me`), which have no parameter. Kept: at most one entry per method and declared fixed path (a path no
 * route names is searched each time, so unknown paths cannot grow it). A route added later empties it.
 */
export class AppRouter<T> implements Router<T> {
  readonly name = 'AppRouter'
  readonly #trie = new TrieRouter<T>()
  readonly #fixed = new Set<string>()
  readonly #found = new Map<string, Result<T>>()

  add(method: string, path: string, handler: T): void {
    this.#trie.add(method, path, handler)
    if (!/[:*?{]/.test(path)) this.#fixed.add(path)
    this.#found.clear()
  }

  match(method: string, path: string): Result<T> {
    if (!this.#fixed.has(path)) return this.#trie.match(method, path)
    const key = `${method} ${path}`
    let found = this.#found.get(key)
    if (found === undefined) {
      found = this.#trie.match(method, path)
      this.#found.set(key, found)
    }
    return found
  }
}

const REQUEST_ID = /^[\w.-]{8,64}$/

/**
 * Sets a response header before the answer exists. Under @hono/node-server it goes straight on the Node response,
 * which merges it into the head it writes (a header the answer itself sets wins): Hono's `c.header` would build a
 * WHATWG `Headers` for the request, whose validation and conversion back to Node headers cost more than the
 * rest of a cached request's own work. Elsewhere (`app.request` in tests) it is `c.header`.
 */
export function presetHeader(c: Context, name: string, value: string): void {
  const out = (c.env as { outgoing?: { headersSent: boolean; setHeader(name: string, value: string): unknown } } | undefined)?.outgoing
  if (out && !out.headersSent) out.setHeader(name, value)
  else c.header(name, value)
}

/**
 * The first layer of every request, as one middleware (each layer costs on the hot path): the client's address and
 * the request id (the caller's X-Request-Id when well-formed), the NUL check of the raw URL (platform/input.ts), and
 * once answered, errors and refusals at this layer included, `observe` (metrics, and the request log when on).
 */
export function edge(options: {
  trustProxy: boolean
  observe: (c: Context<AppEnv>, started: number) => void
  onError: ErrorHandler<AppEnv>
}): MiddlewareHandler<AppEnv> {
  return async function edgeMiddleware(c, next) {
    const started = performance.now()
    c.set('clientIp', resolveClientIp(c, options.trustProxy))
    const incoming = c.req.header('x-request-id')
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID().replaceAll('-', '')}`
    c.set('requestId', id)
    presetHeader(c, 'X-Request-Id', id)
    presetHeader(c, 'X-Content-Type-Options', 'nosniff')
    // Under @hono/node-server the request line's target as received; elsewhere (app.request) the URL.
    const nul = nulInUrl((c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url ?? c.req.url)
    if (nul) {
      c.error = nul
      const res = await options.onError(nul, c)
      c.res = res
      options.observe(c, started)
      return res
    }
    try {
      await next()
    } finally {
      options.observe(c, started)
    }
  }
}

/** The request line of the log (info level): one JSON line per answered request. */
export function requestLog(logger: Logger): (c: Context<AppEnv>, started: number) => void {
  return (c, started) =>
    // Path only: query strings may carry tokens (EventSource cannot send headers). The license is named by its
    // id, never its key: log readers may not hold keys.
    logger.info('request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      route: c.req.routePath,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      licenseId: c.get('principal')?.licenseId ?? c.get('widget')?.licenseId ?? undefined,
    })
}

export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    throw new AppError('payload_too_large', `Request body exceeds ${maxSize} bytes`)
  }
  const general = bodyLimit({ maxSize, onError: tooLarge })
  return function limitBodyMiddleware(c, next) {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
    const length = incoming?.headers['content-length']
    // On Node, a body of declared length is checked from the header and a JSON one read straight off the socket:
    // through the WHATWG Request the adapter would otherwise build (a ReadableStream over the socket, an
    // AbortSignal, a header list), a small POST cost more than the rest of its request. Other bodies, and
    // chunked ones, take Hono's general path. A route with a tighter limit of its own (n8n replies) runs a second
    // limitBody after the app's: it checks its size and keeps the first read, since the socket's bytes are gone.
    if (incoming && length !== undefined && incoming.headers['transfer-encoding'] === undefined) {
      const bytes = Number(length)
      if (!(bytes <= maxSize)) return tooLarge()
      const cache = c.req.bodyCache as { text?: Promise<string> }
      if (bytes > 0 && !cache.text && JSON_TYPE.test(incoming.headers['content-type'] ?? '')) cache.text = readText(incoming)
      return next()
    }
    return general(c, next)
  }
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i

/** The body as text, decoded as UTF-8 like Request.text() (a leading BOM dropped); rejects if the client goes away. */
function readText(incoming: IncomingMessage): Promise<string> {
  const text = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.once('end', () => {
      const s = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8')
      resolve(s.charCodeAt(0) === 0xfeff ? s.slice(1) : s)
    })
    incoming.once('error', reject)
    // The client went away before the whole body arrived.
    incoming.once('close', () => {
      if (!incoming.complete) reject(new Error('request body incomplete'))
    })
  })
  // Read only if a handler asks: a request answered without its body must not leave a rejection unheard.
  text.catch(() => undefined)
  return text
}

/** BODY_LIMIT_BYTES, or the larger limit the matched route declares (a file upload: `bodyLimitBytes` in route.ts). */
export function limitBodyByRoute(defaultMax: number): MiddlewareHandler<AppEnv> {
  const limits = new Map<number, MiddlewareHandler<AppEnv>>()
  return function limitBodyByRouteMiddleware(c, next) {
    const max = Math.max(defaultMax, declaredBodyLimit(c) ?? 0)
    const limit = limits.get(max) ?? limitBody(max)
    limits.set(max, limit)
    return limit(c, next)
  }
}

/** Seconds a client is told to wait when the database is away: a restart or failover takes about that long. */
export const UNAVAILABLE_RETRY_AFTER_S = 5

export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return function onError(thrown, c) {
    let err = thrown
    if (isDbUnavailable(err)) {
      logger.warn('database unavailable', { requestId: c.get('requestId'), path: c.req.path, error: String((err as Error).message) })
      err = new AppError('unavailable', 'The service is briefly unavailable; retry shortly', { headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) } })
    }
    // A 413 is answered before the body is read, and the server then cuts the unread rest off with the socket.
    // Said to be keep-alive, the client would send its next request into that dropped socket (UND_ERR_SOCKET);
    // Connection: close makes it open a fresh one.
    if (err instanceof AppError || err instanceof HTTPException) {
      if (err.status === 413) c.header('Connection', 'close')
    }
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v)
      c.header('x-should-retry', String(err.retryable))
      return c.json(errorBody(c, err.code, err.message, err.details), err.status)
    }
    if (err instanceof HTTPException) {
      const status = err.status
      const code: ErrorCode =
        status === 413
          ? 'payload_too_large'
          : status === 401
            ? 'unauthorized'
            : status === 415
              ? 'unsupported_media_type'
              : /json/i.test(err.message)
                ? 'invalid_json'
                : 'bad_request'
      c.header('x-should-retry', 'false')
      return c.json(
        errorBody(c, code, code === 'invalid_json' ? 'Request body is not valid JSON' : err.message || 'Bad request'),
        status === 413 || status === 401 || status === 415 ? status : 400,
      )
    }
    logger.error('unhandled error', { requestId: c.get('requestId'), path: c.req.path, error: String((err as Error)?.stack ?? err) })
    c.header('x-should-retry', String(isRetryable('internal_error')))
    return c.json(errorBody(c, 'internal_error', 'Something went wrong on our side'), 500)
  }
}

/**
 * The client's address: the socket's, or with TRUST_PROXY the address the proxy in front of us reports
 * (the last X-Forwarded-For hop, the one our proxy appended). Without a socket (in-process requests in tests)
 * X-Forwarded-For is all there is.
 */
export function resolveClientIp(c: Context, trustProxy: boolean): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  const socket = env?.incoming?.socket?.remoteAddress
  const forwarded = c.req.header('x-forwarded-for')
  if (socket && !(trustProxy && forwarded)) return socket
  if (socket) return forwarded?.split(',').pop()?.trim() || socket
  return forwarded?.split(',')[0]?.trim() || 'unknown'
}

/** The address edge() resolved for this request. */
export const clientIp = (c: Context): string => (c as Context<AppEnv>).get('clientIp') ?? resolveClientIp(c, false)
