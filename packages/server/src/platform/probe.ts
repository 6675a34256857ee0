// "Test connection" for every integration that calls a customer's URL (outbound webhooks, reply engines): the
// integration makes its real request through a probe, which traces it on the way through the outbound client and
// reports what happened step by step (DNS, TLS, HTTP status, latency, the start of the answer), or where it failed
// with a stable code. docs/webhooks.md and docs/reply-engines.md show the report.
import { z } from '@hono/zod-openapi'
import { type ConnectionTrace, newTrace, type Outbound, OutboundError, type OutboundResponse, readersOf } from './outbound.js'

/** What a report keeps of the answer. */
export const EXCERPT_BYTES = 1024

/**
 * Why a test failed, from the first step that went wrong: nothing to call (`not_configured`), the address
 * (`url_not_allowed`), name resolution (`dns`), the TLS handshake (`tls`), the exchange (`timeout`, `network`,
 * `too_many_redirects`, `response_too_large`, `redirected`), the answer's status (`http_status`), an answer the
 * integration cannot use (`invalid_answer`), or a fault of ours (`internal_error`).
 */
export const PROBE_ERROR_CODES = [
  'not_configured',
  'url_not_allowed',
  'dns',
  'tls',
  'timeout',
  'network',
  'too_many_redirects',
  'response_too_large',
  'redirected',
  'http_status',
  'invalid_answer',
  'internal_error',
] as const
export type ProbeErrorCode = (typeof PROBE_ERROR_CODES)[number]
export interface ProbeError {
  code: ProbeErrorCode
  message: string
}

export const ConnectionReportSchema = z
  .object({
    ok: z.boolean(),
    dns: z.enum(['ok', 'failed', 'refused', 'not_reached', 'not_used']).openapi({
      description: 'Name resolution: `refused` when the host is, or resolves to, a non-public address; `not_used` when nothing is called',
    }),
    addresses: z.array(z.string()).openapi({ description: 'The addresses the host resolved to and was reached at (never a refused inward one)' }),
    tls: z.enum(['ok', 'failed', 'not_used', 'not_reached']),
    tlsProtocol: z.string().nullable().openapi({ description: 'The negotiated TLS version (https only)', example: 'TLSv1.3' }),
    certificate: z
      .object({
        subject: z.string().nullable().openapi({ example: 'CN=api.openai.com' }),
        issuer: z.string().nullable().openapi({ example: 'C=US, O=Google Trust Services, CN=WE1' }),
        validTo: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: 'The server certificate (https only)' }),
    statusCode: z.number().int().nullable(),
    latencyMs: z.number().int(),
    responseExcerpt: z.string().nullable().openapi({ description: 'The first KiB of the answer' }),
    error: z.object({ code: z.enum(PROBE_ERROR_CODES), message: z.string() }).nullable(),
  })
  .openapi('ConnectionReport')

export type ConnectionReport = z.infer<typeof ConnectionReportSchema>

/** The report of a test that called nothing (the built-in knowledge engine). */
export const localReport = (latencyMs: number): ConnectionReport => ({
  ok: true,
  dns: 'not_used',
  addresses: [],
  tls: 'not_used',
  tlsProtocol: null,
  certificate: null,
  statusCode: null,
  latencyMs,
  responseExcerpt: null,
  error: null,
})

export interface Probe {
  /** The outbound client to make the tested exchange with: each request is traced and the start of its answer kept. */
  readonly outbound: Outbound
  /** Requests made so far (0: the integration failed before calling out, e.g. no URL or no secret). */
  readonly requests: number
  /** The last answer's status, once its headers arrived. */
  readonly status: number | null
  /** Reads the first EXCERPT_BYTES of an answer and drops the rest; a failure to read only shows in the excerpt. */
  skim(res: OutboundResponse): Promise<void>
  /** What happened; `error` is what the caller found wrong with the answer, if anything (a transport failure wins). */
  report(error: ProbeError | null): ConnectionReport
}

const TLS_ERROR = /CERT|SSL|TLS|self[- ]signed|altnames|UNABLE_TO_VERIFY/i
const DNS_ERROR = /ENOTFOUND|EAI_AGAIN|EAI_FAIL|does not resolve/i
const message = (err: unknown): string => String((err as Error)?.message ?? err)

/** A transport failure as the customer may see it: never the inward address a name resolved to. */
function describeFailure(err: unknown, https: boolean, answered: boolean): Pick<ConnectionReport, 'dns' | 'tls' | 'error'> {
  // Headers arrived, then reading the body failed (too large, timed out): the connection itself was fine.
  const reached = { dns: 'ok', tls: https ? 'ok' : 'not_used' } as const
  if (err instanceof OutboundError) {
    if (err.code === 'url_not_allowed') {
      const why = err.resolvedAddress === undefined ? err.message : 'The host resolves to a loopback, private, link-local or otherwise non-public address'
      return { dns: 'refused', tls: 'not_reached', error: { code: err.code, message: why } }
    }
    if (answered) return { ...reached, error: { code: err.code, message: err.message } }
    if (err.code === 'network' && DNS_ERROR.test(err.message)) return { dns: 'failed', tls: 'not_reached', error: { code: 'dns', message: err.message } }
    if (err.code === 'network' && TLS_ERROR.test(err.message)) return { dns: 'ok', tls: 'failed', error: { code: 'tls', message: err.message } }
    return { dns: 'ok', tls: https ? 'not_reached' : 'not_used', error: { code: err.code, message: err.message } }
  }
  // The caller's own deadline (an AbortSignal.timeout) rather than the client's.
  if ((err as Error)?.name === 'TimeoutError')
    return answered
      ? { ...reached, error: { code: 'timeout', message: message(err) } }
      : { dns: 'not_reached', tls: 'not_reached', error: { code: 'timeout', message: message(err) } }
  return { dns: 'not_reached', tls: 'not_reached', error: { code: 'network', message: message(err) } }
}

/** Starts a test of one integration; `secrets` are blanked out of whatever the report quotes. */
export function startProbe(outbound: Outbound, options: { secrets?: readonly (string | null | undefined)[] } = {}): Probe {
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 4)
  const redact = (text: string): string => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text)
  /** Latency counts from the first request: what the integration did before calling out is not the connection's. */
  let started = 0
  let ended: number | null = null
  const finish = () => {
    ended ??= performance.now()
  }
  let trace: ConnectionTrace = newTrace()
  let https = false
  let requests = 0
  let status: number | null = null
  /** The first transport failure: the request's, or reading its answer's. */
  let failure: unknown = null
  let excerpt = new Uint8Array(0)
  let excerptNote: string | null = null

  const keep = (chunk: Uint8Array) => {
    if (excerpt.byteLength >= EXCERPT_BYTES) return
    const next = new Uint8Array(Math.min(EXCERPT_BYTES, excerpt.byteLength + chunk.byteLength))
    next.set(excerpt)
    next.set(chunk.subarray(0, next.byteLength - excerpt.byteLength), excerpt.byteLength)
    excerpt = next
  }

  /** The answer as the integration reads it, every chunk seen on its way through. */
  const recording = (res: OutboundResponse): OutboundResponse => {
    const reader = res.body.getReader()
    // The integration may stop reading while a read is under way (the OpenAI engine at [DONE]): not a failure.
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await reader.read()
          if (cancelled) return
          if (done) {
            finish()
            controller.close()
            return
          }
          keep(value)
          controller.enqueue(value)
        } catch (err) {
          if (cancelled) return
          failure ??= err
          finish()
          controller.error(err)
        }
      },
      cancel(reason) {
        cancelled = true
        finish()
        return reader.cancel(reason)
      },
    })
    return { ...res, ...readersOf(body) }
  }

  const traced: Outbound = {
    async request(url, init = {}) {
      if (requests++ === 0) started = performance.now()
      trace = newTrace()
      https = URL.canParse(url) && new URL(url).protocol === 'https:'
      try {
        const res = await outbound.request(url, { ...init, trace })
        status = res.status
        https = res.url.startsWith('https:')
        return recording(res)
      } catch (err) {
        failure ??= err
        finish()
        throw err
      }
    },
    checkUrl: (url) => outbound.checkUrl(url),
    // The probe borrows the client; closing it is its owner's business.
    close: async () => {},
  }

  return {
    outbound: traced,
    get requests() {
      return requests
    },
    get status() {
      return status
    },
    async skim(res) {
      const reader = res.body.getReader()
      try {
        while (excerpt.byteLength < EXCERPT_BYTES) if ((await reader.read()).done) break
      } catch (err) {
        // The answer came (its status stands); only its text could not be read.
        excerptNote = `(could not read the response: ${message(err)})`
        failure = null
      } finally {
        await reader.cancel().catch(() => {})
      }
    },
    report(error) {
      finish()
      const latencyMs = requests === 0 ? 0 : Math.round((ended ?? performance.now()) - started)
      const answered = status !== null
      const connection = {
        addresses: trace.addresses.length ? trace.addresses : trace.remoteAddress ? [trace.remoteAddress] : [],
        tlsProtocol: trace.tls?.protocol ?? null,
        certificate: trace.tls ? { subject: trace.tls.subject, issuer: trace.tls.issuer, validTo: trace.tls.validTo } : null,
      }
      const steps: Pick<ConnectionReport, 'dns' | 'tls' | 'error'> =
        failure !== null
          ? describeFailure(failure, https, answered)
          : requests === 0
            ? { dns: 'not_reached', tls: 'not_reached', error }
            : { dns: 'ok', tls: https ? 'ok' : 'not_used', error }
      // What the trace saw beats what an error message suggests (a timeout after the handshake, say).
      if (connection.addresses.length && steps.dns === 'not_reached') steps.dns = 'ok'
      if (trace.tls && steps.tls === 'not_reached') steps.tls = 'ok'
      // A multi-byte character cut at the limit decodes to U+FFFD; drop it rather than show a broken glyph.
      const text = excerpt.byteLength ? new TextDecoder().decode(excerpt).replace(/\uFFFD$/, '') : null
      return {
        ok: steps.error === null,
        ...steps,
        ...connection,
        error: steps.error && { code: steps.error.code, message: redact(steps.error.message) },
        statusCode: status,
        latencyMs,
        responseExcerpt: text !== null ? redact(text) : excerptNote,
      }
    },
  }
}
