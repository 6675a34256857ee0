// Prometheus metrics (prom-client) on a registry owned by the app, not the library's global one, so two apps in
// one process (tests) never share counters. GET /metrics serves them to a Bearer METRICS_TOKEN holder only.
import { timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { AppEnv } from './context.js'
import { AppError } from './errors.js'

export interface Metrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  duration: Histogram<'method' | 'route' | 'status'>
  /** 429s from the rate limiter, by budget (api, widget, login, …). */
  rateLimited: Counter<'budget'>
  /** 429 quota_exceeded answers, by quota. */
  quotaRejected: Counter<'quota'>
  /** Server-Sent Event streams open on this instance, by kind (dashboard, widget). */
  sseStreams: Gauge<'kind'>
  /** Jobs by outcome (done, retried, dead). */
  jobs: Counter<'name' | 'outcome'>
  /** Outbound webhook deliveries by outcome. */
  webhookDeliveries: Counter<'outcome'>
  /** Sets the callback that fills a gauge at scrape time (job queue depth, Postgres and Redis health). */
  onCollect(gauge: 'queueDepth' | 'up' | 'sseStreams', collect: () => Promise<void> | void): void
  queueDepth: Gauge<'status'>
  up: Gauge<'dependency'>
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  // Node's own figures (event loop lag, heap, handles, CPU) on this registry.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  const collectors = new Map<'queueDepth' | 'up' | 'sseStreams', () => Promise<void> | void>()
  const registers = [registry]
  const metrics: Metrics = {
    registry,
    requests: new Counter({
      name: 'intelagent_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: 'intelagent_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    rateLimited: new Counter({ name: 'intelagent_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['budget'], registers }),
    quotaRejected: new Counter({ name: 'intelagent_quota_rejected_total', help: 'Requests refused at a plan quota', labelNames: ['quota'], registers }),
    sseStreams: new Gauge({
      name: 'intelagent_sse_streams_open',
      help: 'Open Server-Sent Event streams on this instance',
      labelNames: ['kind'],
      registers,
      async collect() {
        await collectors.get('sseStreams')?.()
      },
    }),
    jobs: new Counter({ name: 'intelagent_jobs_total', help: 'Durable jobs run, by outcome', labelNames: ['name', 'outcome'], registers }),
    webhookDeliveries: new Counter({
      name: 'intelagent_webhook_deliveries_total',
      help: 'Outbound webhook delivery attempts',
      labelNames: ['outcome'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'intelagent_jobs_queue_depth',
      help: 'Durable jobs by status',
      labelNames: ['status'],
      registers,
      async collect() {
        await collectors.get('queueDepth')?.()
      },
    }),
    up: new Gauge({
      name: 'intelagent_dependency_up',
      help: '1 when the dependency answered at scrape time',
      labelNames: ['dependency'],
      registers,
      async collect() {
        await collectors.get('up')?.()
      },
    }),
    onCollect(gauge, collect) {
      collectors.set(gauge, collect)
    },
  }
  return metrics
}

/**
 * Records one answered request: count and latency by (method, route pattern, status) — never the raw path, ids would
 * explode the label set — and a refusal by budget or quota. The label object of each combination is made once.
 */
export function requestObserver(metrics: Metrics): (c: Context<AppEnv>, started: number) => void {
  const labelSets = new Map<string, { method: string; route: string; status: string }>()
  return (c, started) => {
    const method = c.req.method
    const route = c.req.routePath || 'unmatched'
    const status = c.res.status
    const key = `${method} ${route} ${status}`
    let labels = labelSets.get(key)
    if (!labels) {
      labels = { method, route, status: String(status) }
      // Bounded: routes are the declared ones (or 'unmatched'), statuses and methods few.
      labelSets.set(key, labels)
    }
    metrics.requests.inc(labels)
    metrics.duration.observe(labels, (performance.now() - started) / 1000)
    if (c.error) countRefusal(metrics, c.error)
  }
}

/** A 429 from a rate limit (by the policy its RateLimit-Policy header names) or a plan quota (by quota). */
function countRefusal(metrics: Metrics, err: unknown): void {
  if (!(err instanceof AppError)) return
  if (err.code === 'rate_limited') metrics.rateLimited.inc({ budget: /^"([^"]+)"/.exec(err.headers['RateLimit-Policy'] ?? '')?.[1] ?? 'unknown' })
  else if (err.code === 'quota_exceeded') metrics.quotaRejected.inc({ quota: String((err.details as { quota?: unknown } | undefined)?.quota ?? 'unknown') })
}

/** True when the Authorization header carries exactly this token (constant-time compare). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '')
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}
