// The typed Hono environment and the dependencies every route receives.
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { Cache } from './cache.js'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { Db } from './db.js'
import { AppError } from './errors.js'
import type { Logger } from './logger.js'
import type { Memo } from './memo.js'
import type { Metrics } from './metrics.js'
import type { Outbound } from './outbound.js'
import type { LimitSpec } from './ratelimit.js'
import type { Guard } from './route.js'
import type { Tasks } from './tasks.js'

export interface Deps {
  db: Db
  cache: Cache
  clock: Clock
  config: Config
  logger: Logger
  /** Operator-configured URLs only (Squarespace, Stripe); anything a customer chose goes through `outbound`. */
  fetch: typeof fetch
  /** The SSRF-guarded client for customer-chosen URLs. */
  outbound: Outbound
  tasks: Tasks
  /** Per-process memos (verified tokens, settings, the dummy password hash): never module-level state. */
  memo: Memo
  metrics: Metrics
  /** Aborted when the process starts shutting down: long-lived responses (SSE) end themselves with a retry hint. */
  draining: AbortSignal
}

/** Who is calling: a dashboard session or a secret key, always bound to one license (or an operator). */
export interface Principal {
  kind: 'session' | 'product_key' | 'api_key'
  userId: string | null
  sessionId: string | null
  role: 'customer' | 'admin'
  /** A session's role in its license's team (platform/roles.ts); null for operators and keys (keys act by scope). */
  teamRole?: 'owner' | 'admin' | 'member' | null
  email: string | null
  licenseId: string | null
  licenseKey: string | null
  tier: string
  products: string[]
  /** The key behind a key principal (null for sessions). */
  keyId?: string | null
  /** Its prefix: an API key (intl_sk), a setup agent (agnt) or a data enrichment key (data). */
  keyKind?: 'intl_sk' | 'agnt' | 'data' | null
  /** A key's scopes (keys/scopes.ts); null means everything a customer may do (sessions only). */
  scopes: string[] | null
}

/** A widget call: the publishable key it came with and, once the visitor token is checked, the visitor. */
export interface WidgetCaller {
  keyId: string
  licenseId: string
  /** Names the license's widget budget (license:{key}:counter:widget_calls). */
  licenseKey: string
  product: string
  tier: string
  /** The caller's address's limit on this key: charged with the widget budget, or alone when the caller is refused. */
  addressLimit: LimitSpec
}

export interface AppEnv {
  Variables: {
    requestId: string
    clientIp: string
    principal: Principal
    widget: WidgetCaller
    visitorId: string
    /** Enforces route declarations (platform/route.ts); installed once by createApp. */
    guard: Guard
  }
}

export type Router = OpenAPIHono<AppEnv>

/** The caller's license id; operators acting without a license have no tenant routes. */
export function tenantOf(c: Context<AppEnv>): string {
  const id = c.get('principal').licenseId
  if (!id) throw new AppError('forbidden', 'This route needs a customer account bound to a license')
  return id
}
