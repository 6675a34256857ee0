// The app factory: builds the whole HTTP API from injected dependencies.

import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { assertKnownScope, createGuard, installGuard, UNDECLARED_API } from './access.js'
import { auditRoutes } from './audit/routes.js'
import { requireAuth } from './auth/middleware.js'
import { authRoutes, sessionRoutes } from './auth/routes.js'
import { REPLY_JOB, replyJob } from './conversations/respond.js'
import { conversationRoutes } from './conversations/routes.js'
import { enrichmentRoutes } from './enrichment/routes.js'
import { jobAdminRoutes } from './jobs/admin.js'
import { apiKeyRoutes } from './keys/api-key-routes.js'
import { KeyResolver } from './keys/resolver.js'
import { adminRoutes } from './licenses/admin.js'
import { docsRoutes } from './ops/docs.js'
import { DOCUMENT, opsRoutes } from './ops/routes.js'
import type { AppEnv, Deps } from './platform/context.js'
import { Events, registerEventSchemas } from './platform/events.js'
import { accessLog, createRouter, errorBody, errorHandler, limitBody, requestId } from './platform/http.js'
import { idempotency } from './platform/idempotency.js'
import { rejectNulInUrl } from './platform/input.js'
import { Jobs } from './platform/jobs.js'
import { observeRequests } from './platform/metrics.js'
import { describeUnvalidatedRoutes } from './platform/openapi-extra.js'
import { assertDeclared, isDeclared, registerSecuritySchemes } from './platform/route.js'
import { StreamHub } from './platform/streams.js'
import { knowledgeRoutes } from './products/knowledge.js'
import { productRoutes } from './products/routes.js'
import { createEngines } from './replies/index.js'
import { n8nRoutes } from './webhooks/n8n.js'
import { n8nReplyRoutes } from './webhooks/n8n-replies.js'
import { SQUARESPACE_ORDER_JOB, squarespaceOrderJob, squarespaceRoutes } from './webhooks/squarespace.js'
import { assetRoutes, type DemoKeys } from './widget/assets.js'
import { widgetRoutes } from './widget/routes.js'

export interface Intelagent {
  app: ReturnType<typeof createRouter>
  keys: KeyResolver
  /** The event streams open on this instance. */
  streams: StreamHub
  /** Durable jobs: the handler registry and this instance's worker (tests wait on `jobs.idle()`). */
  jobs: Jobs
  /** Domain events: consumers register with `events.onEvent(type, name, handler)`. */
  events: Events
  /** Sets the keys the /demo pages embed once demo data exists. */
  setDemo(keys: DemoKeys): void
  close(): Promise<void>
}

export interface AppOptions {
  /** Keys the /demo pages embed (set when the server runs with demo data). */
  demo?: DemoKeys
}

export async function createApp(deps: Deps, options: AppOptions = {}): Promise<Intelagent> {
  const keys = new KeyResolver(deps)
  await keys.start()
  const streams = new StreamHub(deps)
  await streams.start()
  const engines = createEngines(deps)
  const jobs = new Jobs(deps.db, deps.logger, deps.config.jobs, (name, outcome) => deps.metrics.jobs.inc({ name, outcome }))
  const events = new Events(deps.db, jobs)
  jobs.register(SQUARESPACE_ORDER_JOB, squarespaceOrderJob(deps))
  jobs.register(REPLY_JOB, replyJob(deps, engines))
  let demoKeys = options.demo

  const app = createRouter()
  app.use('*', requestId({ trustProxy: deps.config.trustProxy }))
  app.use('*', observeRequests(deps.metrics))
  // Request lines are info-level: with a quieter LOG_LEVEL the middleware is not mounted at all.
  if (['debug', 'info'].includes(deps.config.logLevel)) app.use('*', accessLog(deps.logger))
  app.use('*', rejectNulInUrl())
  // Every layer costs on the hot path, so each is mounted only where it applies.
  app.on(['POST', 'PUT', 'PATCH'], '/api/*', limitBody(deps.config.bodyLimitBytes))
  // Browser-facing pages get the full set of security headers; JSON answers carry nosniff (requestId sets it).
  const pageHeaders = secureHeaders({ crossOriginResourcePolicy: false, crossOriginEmbedderPolicy: false, contentSecurityPolicy: undefined })
  for (const path of ['/', '/demo', '/demo/*', '/dashboard', '/dashboard/*', '/api/docs']) app.use(path, pageHeaders)

  // Declared routes (platform/route.ts) are enforced by the guard; routes not yet declared (UNDECLARED_API) by
  // their prefix, which skips a request whose matched route is declared so nothing is authenticated or charged twice.
  app.use('*', installGuard(createGuard(deps, keys)))
  const legacy = (mw: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
    async function legacyPrefix(c, next) {
      return isDeclared(c) ? next() : mw(c, next)
    }
  // '/x/*' also matches '/x' itself: listing both would run the middleware twice.
  for (const prefix of ['/api/products/*', '/api/conversations/*', '/api/events']) {
    app.use(prefix, legacy(requireAuth(deps, keys, { limit: true })))
    app.on('POST', prefix, legacy(idempotency(deps)))
  }

  // Relative: the API is wherever this document is served from.
  const document = () => app.getOpenAPI31Document({ ...DOCUMENT, servers: [{ url: '/', description: 'This server' }] })
  app.route('/', opsRoutes(deps, { streams, document }))
  app.route('/', docsRoutes(deps))
  app.route('/', authRoutes(deps))
  app.route('/', sessionRoutes(deps))
  app.route('/', productRoutes(deps, keys))
  app.route('/', auditRoutes(deps))
  app.route('/', apiKeyRoutes(deps, keys))
  app.route('/', adminRoutes(deps, keys))
  app.route('/', jobAdminRoutes(deps))
  app.route('/', knowledgeRoutes(deps))
  app.route('/', conversationRoutes(deps, streams))
  app.route('/', enrichmentRoutes(deps))
  app.route('/', widgetRoutes(deps, keys, engines, streams))
  app.route('/', squarespaceRoutes(deps))
  app.route('/', n8nRoutes(deps))
  app.route('/', n8nReplyRoutes(deps))
  app.route(
    '/',
    assetRoutes(deps, () => demoKeys),
  )

  registerSecuritySchemes(app.openAPIRegistry)
  describeUnvalidatedRoutes(app)
  registerEventSchemas(app.openAPIRegistry)

  for (const route of assertDeclared(app.routes, UNDECLARED_API)) assertKnownScope(route)
  app.notFound((c) => c.json(errorBody(c, 'not_found', 'No such route'), 404, { 'x-should-retry': 'false' }))
  app.onError(errorHandler(deps.logger))
  await jobs.start()

  return {
    app,
    keys,
    streams,
    jobs,
    events,
    setDemo(k) {
      demoKeys = k
    },
    async close() {
      streams.stop()
      await jobs.stop()
      await keys.stop()
      await deps.tasks.idle()
    },
  }
}
