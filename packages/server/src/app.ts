// The app factory: builds the whole HTTP API from injected dependencies.

import type { Context } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { assertKnownScope, createGuard, installGuard } from './access.js'
import { accountRoutes } from './account/routes.js'
import { listenForDroppedSessions } from './account/sessions.js'
import { registerAnalyticsConsumers } from './analytics/consumers.js'
import { analyticsRoutes } from './analytics/routes.js'
import { auditRoutes } from './audit/routes.js'
import { emailChangeRoutes } from './auth/email-change.js'
import { registerLicenseCacheDrop } from './auth/license-caches.js'
import { passwordResetRoutes } from './auth/password-reset.js'
import { authRoutes, sessionRoutes } from './auth/routes.js'
import { billingRoutes } from './billing/routes.js'
import { Billing, GRACE_JOB, RECONCILE_JOB } from './billing/service.js'
import { registerInactivitySweep } from './conversations/lifecycle.js'
import { conversationRoutes } from './conversations/routes.js'
import { registerLeadEnrichment } from './enrichment/enricher.js'
import { enrichmentRoutes } from './enrichment/routes.js'
import { jobAdminRoutes } from './jobs/admin.js'
import { apiKeyRoutes } from './keys/api-key-routes.js'
import { KeyResolver } from './keys/resolver.js'
import { knowledgeRoutes } from './knowledge/routes.js'
import { knowledgeSourceRoutes } from './knowledge/source-routes.js'
import { KnowledgeSources } from './knowledge/sources.js'
import { unansweredRoutes } from './knowledge/unanswered.js'
import { leadRoutes } from './leads/routes.js'
import { registerMailConsumers } from './mail/consumers.js'
import { createMailer, MAIL_JOB } from './mail/mailer.js'
import { mailRoutes } from './mail/routes.js'
import { adminRoutes } from './operator/license-admin.js'
import { operatorRoutes } from './operator/routes.js'
import { docsRoutes } from './ops/docs.js'
import { DOCUMENT, opsRoutes } from './ops/routes.js'
import { outboundWebhookRoutes } from './outbound-webhooks/routes.js'
import { OutboundWebhooks } from './outbound-webhooks/service.js'
import { planRoutes } from './plans/routes.js'
import type { AppEnv, Deps } from './platform/context.js'
import { Events, registerEventSchemas } from './platform/events.js'
import { createRouter, edge, errorBody, errorHandler, limitBodyByRoute, requestLog } from './platform/http.js'
import { Jobs } from './platform/jobs.js'
import { requestObserver } from './platform/metrics.js'
import { assertDeclared, registerSecuritySchemes } from './platform/route.js'
import { StreamHub } from './platform/streams.js'
import { productRoutes } from './products/routes.js'
import { createEngines } from './replies/index.js'
import { REPLY_JOB, replyJob } from './replies/respond.js'
import { replyRoutes } from './replies/routes.js'
import { setupRoutes } from './setup/routes.js'
import { SetupAgent } from './setup/service.js'
import { teamRoutes } from './team/routes.js'
import { Usage } from './usage/meter.js'
import { usageRoutes } from './usage/routes.js'
import { n8nRoutes } from './webhooks/n8n.js'
import { n8nActionRoutes } from './webhooks/n8n-actions.js'
import { n8nReplyRoutes } from './webhooks/n8n-replies.js'
import { SQUARESPACE_ORDER_JOB, SQUARESPACE_UPDATE_JOB, squarespaceOrderJob, squarespaceRoutes } from './webhooks/squarespace.js'
import { squarespaceUpdateJob } from './webhooks/squarespace-updates.js'
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
  /** Stripe billing; null when STRIPE_SECRET_KEY is unset. */
  billing: Billing | null
  /** Usage metering (src/usage/): tests flush it by hand. */
  usage: Usage
  /** Outbound webhooks: endpoints, deliveries and their retry schedule. */
  webhooks: OutboundWebhooks
  /** Knowledge sources and their crawler (tests shrink its limits). */
  knowledge: KnowledgeSources
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
  const stopSessionDrops = await listenForDroppedSessions(deps)
  const streams = new StreamHub(deps)
  await streams.start()
  const engines = createEngines(deps)
  const usage = new Usage(deps)
  usage.start()
  const jobs = new Jobs(deps.db, deps.logger, deps.config.jobs, (name, outcome) => deps.metrics.jobs.inc({ name, outcome }))
  const events = new Events(deps.db, jobs)
  jobs.register(SQUARESPACE_ORDER_JOB, squarespaceOrderJob(deps))
  jobs.register(SQUARESPACE_UPDATE_JOB, squarespaceUpdateJob(deps))
  jobs.register(REPLY_JOB, replyJob(deps, engines))
  registerInactivitySweep(deps, jobs)
  const billing = deps.config.stripe ? new Billing(deps, keys, deps.config.stripe) : null
  if (billing) {
    jobs.register(GRACE_JOB, billing.graceJob())
    jobs.register(RECONCILE_JOB, billing.reconcileJob())
  }
  const mailer = createMailer(deps)
  jobs.register(MAIL_JOB, mailer.job)
  registerMailConsumers(deps, events)
  registerLicenseCacheDrop(deps, events, keys)
  registerLeadEnrichment(deps, events, usage)
  registerAnalyticsConsumers(deps, events)
  const webhooks = new OutboundWebhooks(deps, jobs, events)
  const knowledge = new KnowledgeSources(deps, jobs)
  let demoKeys = options.demo

  const app = createRouter()
  const onError = errorHandler(deps.logger)
  const measure = requestObserver(deps.metrics)
  // Request lines are info-level: with a quieter LOG_LEVEL they are not even assembled.
  const log = ['debug', 'info'].includes(deps.config.logLevel) ? requestLog(deps.logger) : undefined
  const observe = log
    ? (c: Context<AppEnv>, started: number) => {
        measure(c, started)
        log(c, started)
      }
    : measure
  app.use('*', edge({ trustProxy: deps.config.trustProxy, observe, onError }))
  // Every layer costs on the hot path, so each is mounted only where it applies.
  app.on(['POST', 'PUT', 'PATCH'], '/api/*', limitBodyByRoute(deps.config.bodyLimitBytes))
  // Browser-facing pages get the full set of security headers; JSON answers carry nosniff (edge sets it).
  const pageHeaders = secureHeaders({ crossOriginResourcePolicy: false, crossOriginEmbedderPolicy: false, contentSecurityPolicy: undefined })
  for (const path of ['/', '/demo', '/demo/*', '/dashboard', '/dashboard/*', '/api/docs']) app.use(path, pageHeaders)

  // Every route declares who may call it (platform/route.ts); the guard (access.ts) enforces it: authentication,
  // scope, role, budget, idempotency. Nothing else lists routes.
  app.use('*', installGuard(createGuard(deps, keys, usage)))

  // Relative: the API is wherever this document is served from.
  const document = () => app.getOpenAPI31Document({ ...DOCUMENT, servers: [{ url: '/', description: 'This server' }] })
  app.route('/', opsRoutes(deps, { streams, document }))
  app.route('/', docsRoutes(deps))
  app.route('/', authRoutes(deps))
  app.route('/', sessionRoutes(deps))
  app.route('/', passwordResetRoutes(deps))
  app.route('/', emailChangeRoutes(deps))
  app.route('/', productRoutes(deps, keys))
  app.route('/', replyRoutes(deps))
  app.route('/', auditRoutes(deps))
  app.route('/', apiKeyRoutes(deps, keys))
  app.route('/', operatorRoutes(deps, keys, usage))
  app.route('/', adminRoutes(deps, keys))
  app.route('/', jobAdminRoutes(deps))
  app.route('/', mailRoutes(deps))
  app.route('/', knowledgeRoutes(deps))
  app.route('/', knowledgeSourceRoutes(knowledge))
  app.route('/', setupRoutes(deps, new SetupAgent(deps, knowledge), keys))
  app.route('/', conversationRoutes(deps, streams))
  app.route('/', leadRoutes(deps))
  app.route('/', unansweredRoutes(deps))
  app.route('/', enrichmentRoutes(deps, usage))
  app.route('/', teamRoutes(deps))
  app.route('/', accountRoutes(deps))
  app.route('/', planRoutes(deps))
  app.route('/', usageRoutes(deps, usage))
  app.route('/', analyticsRoutes(deps))
  app.route('/', outboundWebhookRoutes(webhooks))
  app.route('/', widgetRoutes(deps, keys, engines, streams, usage))
  app.route('/', squarespaceRoutes(deps))
  app.route('/', n8nRoutes(deps))
  app.route('/', n8nActionRoutes(deps))
  app.route('/', n8nReplyRoutes(deps))
  app.route('/', billingRoutes(deps, billing))
  app.route(
    '/',
    assetRoutes(deps, () => demoKeys),
  )

  registerSecuritySchemes(app.openAPIRegistry)
  registerEventSchemas(app.openAPIRegistry)

  for (const route of assertDeclared(app.routes, [])) assertKnownScope(route)
  app.notFound((c) => c.json(errorBody(c, 'not_found', 'No such route'), 404, { 'x-should-retry': 'false' }))
  app.onError(onError)
  await jobs.start()
  // The nightly reconciliation: one queued run per day across every instance (its dedupe key is the day).
  if (billing && jobs.enabled) await billing.scheduleReconcile(deps.db)

  return {
    app,
    keys,
    streams,
    jobs,
    events,
    billing,
    usage,
    webhooks,
    knowledge,
    setDemo(k) {
      demoKeys = k
    },
    async close() {
      streams.stop()
      await jobs.stop()
      mailer.close()
      await keys.stop()
      stopSessionDrops()
      await usage.stop()
      await deps.tasks.idle()
    },
  }
}
