// The HTTP core under every resource: auth headers, JSON in and out, timeouts, an idempotency key per POST,
// and retries with jittered exponential backoff that honour Retry-After (openai-node's retry logic is the model).
import { ConnectionError, IntelagentError } from './errors.js'

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

export interface ClientOptions {
  /** Where the API lives, e.g. `https://intelagent.example.com` (no `/api` suffix). */
  baseUrl: string
  /** A secret key sent as a Bearer token (`data_…`, `agnt_…`, `intl_sk_…`). */
  apiKey?: string | undefined
  /** A session JWT. `auth.login` and `auth.register` set it for you. Wins over `apiKey`. */
  token?: string | undefined
  /** A publishable key (`chat_…`, `sale_…`) for the public widget calls. */
  productKey?: string | undefined
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike | undefined
  /** Retries after the first attempt for 408, 409, 429, 5xx and network errors. Default 2. */
  maxRetries?: number | undefined
  /** Per attempt. Default 60 000 ms. */
  timeoutMs?: number | undefined
  /** Sent with every request. */
  headers?: Record<string, string> | undefined
}

export interface RequestOptions {
  /** Sent as `Idempotency-Key` on POST; generated once per call (and kept across its retries) when absent. */
  idempotencyKey?: string
  signal?: AbortSignal
  timeoutMs?: number
  maxRetries?: number
  headers?: Record<string, string>
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string | number | boolean | undefined> | undefined
  body?: unknown
  /** Overrides the client's Authorization (widget calls send the visitor token instead); null sends none. */
  bearer?: string | null | undefined
  productKey?: string | undefined
  options?: RequestOptions | undefined
}

const DEFAULT_TIMEOUT_MS = 60_000
const INITIAL_RETRY_DELAY_S = 0.5
const MAX_RETRY_DELAY_S = 8
/** A longer Retry-After is not waited out inside one call: the caller gets the RateLimitError and decides. */
const MAX_RETRY_AFTER_MS = 60_000

export function randomId(): string {
  const c = globalThis.crypto
  if (typeof c?.randomUUID === 'function') return c.randomUUID()
  const b = c.getRandomValues(new Uint8Array(16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function shouldRetry(res: Response): boolean {
  // A server may say explicitly whether a retry makes sense.
  const explicit = res.headers.get('x-should-retry')
  if (explicit === 'true') return true
  if (explicit === 'false') return false
  return res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500
}

/**
 * How long to wait before retry number `attempt + 1`: the server's Retry-After (or retry-after-ms) when it
 * gave one, else 0.5 s doubling up to 8 s, minus up to 25 % jitter so clients that failed together spread out.
 * Returns null when the server asked for a wait longer than one call should block.
 */
export function retryDelayMs(attempt: number, headers: Headers | undefined, now = Date.now()): number | null {
  let fromServer: number | undefined
  const ms = headers?.get('retry-after-ms')
  const after = headers?.get('retry-after')
  if (ms && Number.isFinite(Number.parseFloat(ms))) fromServer = Number.parseFloat(ms)
  else if (after) {
    const seconds = Number(after)
    fromServer = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now
  }
  if (fromServer !== undefined && Number.isFinite(fromServer)) {
    if (fromServer > MAX_RETRY_AFTER_MS) return null
    return Math.max(0, fromServer)
  }
  const seconds = Math.min(INITIAL_RETRY_DELAY_S * 2 ** attempt, MAX_RETRY_DELAY_S)
  return seconds * (1 - Math.random() * 0.25) * 1000
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  const aborted = () => new ConnectionError('Request was aborted', { code: 'aborted', cause: signal?.reason })
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted())
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    function onAbort() {
      clearTimeout(timer)
      reject(aborted())
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text()
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export class Transport {
  readonly baseUrl: string
  token: string | undefined
  readonly apiKey: string | undefined
  readonly productKey: string | undefined
  readonly maxRetries: number
  readonly timeoutMs: number
  readonly #fetch: FetchLike
  readonly #headers: Record<string, string>

  constructor(options: ClientOptions) {
    if (!options?.baseUrl) throw new TypeError('Intelagent: baseUrl is required, e.g. new Intelagent({ baseUrl: "https://intelagent.example.com" })')
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.token = options.token
    this.apiKey = options.apiKey
    this.productKey = options.productKey
    this.maxRetries = options.maxRetries ?? 2
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#headers = options.headers ?? {}
    const f = options.fetch ?? globalThis.fetch
    if (typeof f !== 'function') throw new TypeError('Intelagent: no fetch available; pass one as options.fetch')
    // Called unbound: some runtimes' fetch throws "Illegal invocation" as a method of another object.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  }

  url(path: string, query?: ApiRequest['query']): string {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v))
    const s = qs.toString()
    return `${this.baseUrl}${path}${s ? `?${s}` : ''}`
  }

  headersFor(req: ApiRequest, idempotencyKey: string | undefined): Headers {
    const h = new Headers({ Accept: 'application/json', ...this.#headers })
    const bearer = req.bearer === undefined ? (this.token ?? this.apiKey) : req.bearer
    if (bearer) h.set('Authorization', `Bearer ${bearer}`)
    if (req.productKey) h.set('X-Product-Key', req.productKey)
    if (req.body !== undefined) h.set('Content-Type', 'application/json')
    if (idempotencyKey) h.set('Idempotency-Key', idempotencyKey)
    for (const [k, v] of Object.entries(req.options?.headers ?? {})) h.set(k, v)
    return h
  }

  /** Sends one API call (with retries) and returns the parsed JSON body. */
  async request<T>(req: ApiRequest): Promise<T> {
    const res = await this.send(req)
    return (await readBody(res)) as T
  }

  /** Sends one API call with retries; resolves with the successful Response, rejects with an IntelagentError. */
  async send(req: ApiRequest): Promise<Response> {
    const opts = req.options ?? {}
    const maxRetries = opts.maxRetries ?? this.maxRetries
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs
    const idempotencyKey = req.method === 'POST' ? (opts.idempotencyKey ?? randomId()) : undefined
    const url = this.url(req.path, req.query)
    const headers = this.headersFor(req, idempotencyKey)
    const body = req.body === undefined ? undefined : JSON.stringify(req.body)

    for (let attempt = 0; ; attempt++) {
      const retriesLeft = maxRetries - attempt
      const controller = new AbortController()
      const onAbort = () => controller.abort(opts.signal?.reason)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        controller.abort()
      }, timeoutMs)
      let res: Response
      try {
        if (opts.signal?.aborted) throw opts.signal.reason
        res = await this.#fetch(url, { method: req.method, headers, body, signal: controller.signal })
      } catch (err) {
        if (opts.signal?.aborted) throw new ConnectionError('Request was aborted', { code: 'aborted', cause: err })
        if (retriesLeft > 0) {
          await sleep(retryDelayMs(attempt, undefined) ?? 0, opts.signal)
          continue
        }
        const message = timedOut ? `Request timed out after ${timeoutMs} ms` : `Could not reach ${this.baseUrl}: ${(err as Error)?.message ?? err}`
        throw new ConnectionError(message, { code: timedOut ? 'timeout' : 'connection_error', cause: err })
      } finally {
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
      }

      if (res.ok) return res
      const delay = retriesLeft > 0 && shouldRetry(res) ? retryDelayMs(attempt, res.headers) : null
      if (delay !== null) {
        await res.body?.cancel().catch(() => {})
        await sleep(delay, opts.signal)
        continue
      }
      throw IntelagentError.fromResponse(res.status, await readBody(res).catch(() => undefined), res.headers)
    }
  }
}
