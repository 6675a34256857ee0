// The one HTTP client for URLs a customer chose (reply engines today; crawler and outbound webhooks next): it refuses
// addresses inside the wall (SSRF), connects only to the address it checked, and caps redirects, time and size.
import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP, type Socket } from 'node:net'
import type { Readable } from 'node:stream'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import ipaddr from 'ipaddr.js'
import { Agent, buildConnector, request as undiciRequest } from 'undici'

export const MAX_REDIRECTS = 3
export const DEFAULT_MAX_BYTES = 1024 * 1024
export const DEFAULT_TIMEOUT_MS = 15_000
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

export type OutboundErrorCode =
  /** Not an http(s) URL, or the host is (or resolves to) an address the server must not reach. */
  | 'url_not_allowed'
  | 'too_many_redirects'
  | 'response_too_large'
  | 'timeout'
  /** DNS failure, refused or reset connection: worth a retry. */
  | 'network'

export class OutboundError extends Error {
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    /** The inward address a name resolved to: for logs, never for the customer (it would map the private network). */
    readonly resolvedAddress?: string,
  ) {
    super(message)
    this.name = 'OutboundError'
  }
}

export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>

export interface OutboundOptions {
  /** `host:port` pairs reached without the address check (OUTBOUND_ALLOW_HOSTS: local fakes in development and tests). */
  allowHosts?: readonly string[]
  /** Name resolution; tests inject one to simulate DNS answers. Default: the system resolver, every address. */
  lookup?: Lookup
  connectTimeoutMs?: number
}

export interface OutboundRequestInit {
  method?: string
  headers?: Record<string, string>
  /** Strings and bytes only, so a 307/308 redirect can send it again. */
  body?: string | Uint8Array
  /** The whole exchange: DNS, connect, redirects and reading the body. */
  timeoutMs?: number
  /** The response body is cut here: reading past it fails with `response_too_large`. */
  maxBytes?: number
  signal?: AbortSignal
  /** 'manual' answers a redirect as it is (status and Location) so the caller judges each hop (the crawler: same site only). */
  redirect?: 'follow' | 'manual'
  /**
   * Filled in with what the connection was (a "test connection" report shows it). A traced request opens its own
   * connection rather than a pooled one, so the names, addresses and TLS handshake are this request's own.
   */
  trace?: ConnectionTrace
}

/** What a traced request learnt about its (last) connection. */
export interface ConnectionTrace {
  /** What the host name resolved to: public addresses only, since an inward answer refuses the request first. */
  addresses: string[]
  /** The address the socket connected to. */
  remoteAddress: string | null
  /** The TLS session once the handshake completed (https only). */
  tls: { protocol: string | null; subject: string | null; issuer: string | null; validTo: string | null } | null
}

export const newTrace = (): ConnectionTrace => ({ addresses: [], remoteAddress: null, tls: null })

/** `CN=api.example.com, O=Example` from a certificate's subject or issuer. */
function distinguishedName(name: PeerCertificate['subject'] | undefined): string | null {
  if (!name) return null
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
  return parts.length ? parts.join(', ') : null
}

/** Records a connected socket in the trace: where it went and, for TLS, the session and the certificate. */
function traceSocket(trace: ConnectionTrace, socket: Socket): void {
  trace.remoteAddress = socket.remoteAddress ?? null
  if (!('getPeerCertificate' in socket)) return
  const tls = socket as TLSSocket
  const cert = tls.getPeerCertificate()
  trace.tls = {
    protocol: tls.getProtocol() ?? null,
    subject: distinguishedName(cert?.subject),
    issuer: distinguishedName(cert?.issuer),
    validTo: cert?.valid_to ? new Date(cert.valid_to).toISOString() : null,
  }
}

export interface OutboundResponse {
  status: number
  ok: boolean
  /** The URL that answered, after redirects. */
  url: string
  headers: Headers
  /** Size-capped, and tied to the request's timeout and signal. */
  body: ReadableStream<Uint8Array>
  text(): Promise<string>
  json(): Promise<unknown>
  /** Drops the rest of the body and frees the connection. */
  cancel(): Promise<void>
}

export interface Outbound {
  request(url: string | URL, init?: OutboundRequestInit): Promise<OutboundResponse>
  /** Save-time validation: resolves the name now and applies the same rules as `request`. */
  checkUrl(url: string): Promise<URL>
  close(): Promise<void>
}

/** Named ranges of ipaddr.js (`range()`) that are public unicast space; everything else is refused. */
const PUBLIC_RANGE = 'unicast'

// Cloud metadata endpoints. Each already falls in a refused range (link-local, CGNAT, IETF-reserved, unique-local);
// listed so that relaxing a range later cannot quietly open one of them.
const METADATA = ['169.254.169.254/32', '169.254.170.2/32', '100.100.100.200/32', '192.0.0.192/32', 'fd00:ec2::254/128'].map((c) => ipaddr.parseCIDR(c))

// IPv6 forms that carry an IPv4 address a gateway may deliver to: judge them by that IPv4 address.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96')
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96')
const EMBEDDING_V4 = new Set(['ipv4Mapped', 'rfc6145'])

/** True only for a public unicast address: not loopback, private, link-local, CGNAT, multicast, reserved, metadata… */
export function isPublicAddress(address: string): boolean {
  let ip: ipaddr.IPv4 | ipaddr.IPv6
  try {
    ip = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''))
  } catch {
    return false
  }
  if (METADATA.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))) return false
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6
    if (EMBEDDING_V4.has(v6.range()) || v6.match(...IPV4_COMPATIBLE) || v6.match(...NAT64)) {
      return isPublicAddress(ipaddr.fromByteArray(v6.toByteArray().slice(12)).toString())
    }
    // 6to4 and Teredo tunnel to an embedded IPv4 address (Teredo's obfuscated): refused outright with the rest.
  }
  return ip.range() === PUBLIC_RANGE
}

const defaultPort = (protocol: string): number => (protocol === 'https:' ? 443 : 80)

/** `host:port` as the allow-list spells it: the URL's normalised hostname (IPv6 in brackets) and the effective port. */
export function hostPortKey(hostname: string, port: number): string {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return `${isIP(bare) === 6 ? `[${bare}]` : bare}:${port}`
}

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

/** Refuses what the URL itself says: unparsable, not http(s), credentials, or a literal address inside the wall. */
function parseAllowedUrl(raw: string | URL, allow: ReadonlySet<string>): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new OutboundError('url_not_allowed', 'not a valid URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OutboundError('url_not_allowed', `${url.protocol} URLs are not allowed (http and https only)`)
  if (url.username || url.password) throw new OutboundError('url_not_allowed', 'URLs with credentials are not allowed')
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) && !allow.has(hostPortKey(url.hostname, Number(url.port) || defaultPort(url.protocol))) && !isPublicAddress(host)) {
    throw new OutboundError('url_not_allowed', `${url.hostname} is not a public address`)
  }
  return url
}

/** Resolves `hostname` (or takes a literal address) and returns its addresses if every one of them is public. */
async function publicAddresses(hostname: string, lookup: Lookup): Promise<{ address: string; family: number }[]> {
  const family = isIP(hostname)
  let addresses: { address: string; family: number }[]
  if (family) addresses = [{ address: hostname, family }]
  else {
    try {
      addresses = await lookup(hostname)
    } catch (err) {
      throw new OutboundError('network', `${hostname} does not resolve (${(err as NodeJS.ErrnoException)?.code ?? String(err)})`)
    }
  }
  if (addresses.length === 0) throw new OutboundError('network', `${hostname} does not resolve`)
  // One inward address refuses the name: a record set mixing public and private addresses is an attack, not an accident.
  const inward = addresses.find((a) => !isPublicAddress(a.address))
  if (inward) throw new OutboundError('url_not_allowed', `${hostname} resolves to ${inward.address}, which is not a public address`, inward.address)
  return addresses
}

/**
 * The connector every outbound socket is made by (http and https alike): it resolves the name itself, checks every
 * address, and connects to the checked address, so nothing can change between check and use (DNS rebinding).
 * TLS still verifies the certificate against the name in the URL. Exported for tests of the pinning itself.
 */
export function guardedConnector(
  base: buildConnector.connector,
  options: { allow: ReadonlySet<string>; lookup: Lookup; trace?: ConnectionTrace },
): buildConnector.connector {
  const { trace } = options
  return function connect(opts, callback) {
    const port = Number(opts.port) || defaultPort(opts.protocol)
    if (options.allow.has(hostPortKey(opts.hostname, port))) {
      base(opts, (err, socket) => {
        if (trace && socket) traceSocket(trace, socket as Socket)
        if (err) callback(err, null)
        else callback(null, socket as NonNullable<typeof socket>)
      })
      return
    }
    publicAddresses(opts.hostname, options.lookup).then(
      (addresses) => {
        if (trace) trace.addresses = addresses.map((a) => a.address)
        const name = isIP(opts.hostname) ? undefined : opts.hostname
        const tryAt = (i: number) => {
          const target = addresses[i] as { address: string }
          base({ ...opts, hostname: target.address, ...(name ? { servername: opts.servername || name } : {}) }, (err, socket) => {
            // Like happy eyeballs, in order: the next checked address if this one does not answer.
            if (err && i + 1 < addresses.length) tryAt(i + 1)
            else if (err) callback(err, null)
            else {
              if (trace) traceSocket(trace, socket as Socket)
              callback(null, socket as NonNullable<typeof socket>)
            }
          })
        }
        tryAt(0)
      },
      (err: Error) => callback(err, null),
    )
  }
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers()
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one)
  }
  return headers
}

/** A response's body and the ways to read it, all over one stream (text and json read it to the end). */
export function readersOf(stream: ReadableStream<Uint8Array>): Pick<OutboundResponse, 'body' | 'text' | 'json' | 'cancel'> {
  const text = async () => {
    const reader = stream.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader()
    let out = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return out
      out += value
    }
  }
  return { body: stream, text, json: async () => JSON.parse(await text()), cancel: () => stream.cancel().catch(() => {}) }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
// Credentials meant for one origin must not follow a redirect to another (the OpenAI key, for one).
const ORIGIN_BOUND_HEADERS = ['authorization', 'cookie', 'proxy-authorization']

export function createOutbound(options: OutboundOptions = {}): Outbound {
  const allow = new Set((options.allowHosts ?? []).map((h) => h.toLowerCase()))
  const lookup = options.lookup ?? systemLookup
  const base = buildConnector({ timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS })
  // Dispatcher for undici's own request(): Node's global fetch may ignore an npm-undici Agent, so it is never used here.
  const agent = new Agent({ connect: guardedConnector(base, { allow, lookup }) })

  function wrap(
    status: number,
    url: URL,
    rawHeaders: Record<string, string | string[] | undefined>,
    body: Readable,
    maxBytes: number,
    fail: (err: unknown) => Error,
  ): OutboundResponse {
    let seen = 0
    const chunks = body[Symbol.asyncIterator]()
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next()
          if (next.done) return controller.close()
          const chunk = next.value as Buffer
          seen += chunk.byteLength
          if (seen > maxBytes) {
            body.destroy()
            controller.error(new OutboundError('response_too_large', `response from ${url.host} exceeds ${maxBytes} bytes`))
            return
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        } catch (err) {
          controller.error(fail(err))
        }
      },
      cancel() {
        body.destroy()
      },
    })
    return { status, ok: status >= 200 && status < 300, url: url.href, headers: toHeaders(rawHeaders), ...readersOf(stream) }
  }

  return {
    async request(target, init = {}) {
      const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS
      const timeout = AbortSignal.timeout(timeoutMs)
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
      const fail = (err: unknown): Error => {
        if (init.signal?.aborted) return init.signal.reason instanceof Error ? init.signal.reason : new Error(String(init.signal.reason))
        if (timeout.aborted) return new OutboundError('timeout', `timed out after ${timeoutMs} ms`)
        if (err instanceof OutboundError) return err
        const e = err as NodeJS.ErrnoException
        return new OutboundError('network', `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}`)
      }

      let url = parseAllowedUrl(target, allow)
      let method = (init.method ?? 'GET').toUpperCase()
      let body = init.body
      let headers = { ...(init.headers ?? {}) }
      // A traced request gets a dispatcher of its own, closed once its answer has been read (close waits for that).
      const own = init.trace ? new Agent({ connect: guardedConnector(base, { allow, lookup, trace: init.trace }) }) : null
      const dispatcher = own ?? agent
      const done = () => void own?.close().catch(() => {})
      for (let hop = 0; ; hop++) {
        let res: Awaited<ReturnType<typeof undiciRequest>>
        try {
          res = await undiciRequest(url, { dispatcher, method: method as 'GET', headers, body: body ?? null, signal })
        } catch (err) {
          done()
          const e = fail(err)
          // A hop's name is checked as its socket is made: say it was the redirect that was refused.
          throw hop > 0 && e instanceof OutboundError && e.code === 'url_not_allowed'
            ? new OutboundError(e.code, `redirect refused: ${e.message}`, e.resolvedAddress)
            : e
        }
        const location = res.headers.location
        if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string' || init.redirect === 'manual') {
          done()
          return wrap(res.statusCode, url, res.headers, res.body, init.maxBytes ?? DEFAULT_MAX_BYTES, fail)
        }
        await res.body.dump().catch(() => {})
        if (hop >= MAX_REDIRECTS) {
          done()
          throw new OutboundError('too_many_redirects', `more than ${MAX_REDIRECTS} redirects`)
        }
        let next: URL
        try {
          next = parseAllowedUrl(URL.canParse(location, url) ? new URL(location, url) : location, allow)
        } catch (err) {
          done()
          throw err instanceof OutboundError ? new OutboundError(err.code, `redirect refused: ${err.message}`, err.resolvedAddress) : err
        }
        if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !ORIGIN_BOUND_HEADERS.includes(k.toLowerCase())))
        // As fetch does: 303 always, and 301/302 after a POST, continue as a GET without the body.
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET'
          body = undefined
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)))
        }
        url = next
      }
    },

    async checkUrl(raw) {
      const url = parseAllowedUrl(raw, allow)
      if (!allow.has(hostPortKey(url.hostname, Number(url.port) || defaultPort(url.protocol))))
        await publicAddresses(url.hostname.replace(/^\[|\]$/g, ''), lookup)
      return url
    },

    close: () => agent.close(),
  }
}
