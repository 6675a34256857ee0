// One declaration per route: path and schemas (for @hono/zod-openapi), who may call it, the budget it charges,
// whether a retried POST replays, and every answer it can give, errors included. The guard middleware reads the
// declaration; nothing else lists routes, and a route without declared access does not mount.
import { createRoute, type OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi'
import type { Context, Handler, MiddlewareHandler, Next } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { AppEnv } from './context.js'
import { type ErrorCode, errorStatus } from './errors.js'

/** Who may call a route. */
export type Access =
  /** Anyone (health checks, registration, login, the reference page). */
  | { kind: 'public' }
  /**
   * A page with a publishable product key (chat_/sale_) from an allowed origin; `visitor` adds the visitor token
   * (Bearer), 'optional' checks one only when sent, and `queryToken` also accepts `?token=` (EventSource sends no headers).
   */
  | { kind: 'widget'; visitor: boolean | 'optional'; queryToken?: boolean }
  /** A logged-in person (session JWT or the dashboard cookie), not a key. */
  | { kind: 'session' }
  /** A session, or a secret key (intl_sk_, data_, agnt_) holding `scope` (null: any secret key, e.g. "who am I"). */
  | { kind: 'customer'; scope: string | null }
  /** An operator's session. */
  | { kind: 'operator' }
  /** A server that signs its calls (the body is verified by the handler against the raw bytes). */
  | { kind: 'signature'; scheme: 'squarespace' | 'n8n' | 'product' | 'stripe' }

export const access = {
  public: { kind: 'public' },
  widget: { kind: 'widget', visitor: false },
  visitor: { kind: 'widget', visitor: true },
  /** The visitor token is checked when sent (leads may name a conversation, or not). */
  visitorIfSent: { kind: 'widget', visitor: 'optional' },
  /** The visitor's event stream: the token may come as `?token=` since EventSource cannot send headers. */
  visitorStream: { kind: 'widget', visitor: true, queryToken: true },
  session: { kind: 'session' },
  /** Any authenticated caller: a session or a secret key of any scope. */
  caller: { kind: 'customer', scope: null },
  operator: { kind: 'operator' },
  customer: (scope: string) => ({ kind: 'customer', scope }) as const,
  signature: (scheme: 'squarespace' | 'n8n' | 'product' | 'stripe') => ({ kind: 'signature', scheme }) as const,
} as const satisfies Record<string, Access | ((...args: never[]) => Access)>

/** Which per-license budget a call spends: the owner's API budget, the widget budget, or none. */
export type Budget = 'api' | 'widget' | 'none'

export interface Declaration extends Omit<RouteConfig, 'security' | 'middleware' | 'tags' | 'summary' | 'operationId'> {
  operationId: string
  summary: string
  tag: string
  access: Access
  /** Default: 'api' for customer, session and operator routes, 'widget' for widget routes, 'none' otherwise. */
  budget?: Budget
  /** A POST answered once per Idempotency-Key and replayed to retries (default: every customer/session POST). */
  idempotent?: boolean
  /** Error codes this route answers beyond those its access, budget and request schemas imply. */
  errors?: readonly ErrorCode[]
  /** The least team role a person needs (owner > admin > member): members do not manage keys, billing or webhooks. */
  teamRole?: 'admin' | 'owner'
  /** A larger request body than the app's BODY_LIMIT_BYTES allows (an uploaded file); never a smaller one. */
  bodyLimitBytes?: number
  /**
   * Widget routes with a visitor: a limit per verified visitor (times RATE_LIMIT_SCALE), charged in the same step as
   * the widget budget (one Redis call), before the handler reads anything.
   */
  visitorLimit?: { policy: string; perMinute: number }
}

export interface Declared extends Declaration {
  budget: Budget
  idempotent: boolean
}

/** What the app plugs in to enforce declarations: authentication, scopes, budgets, idempotency. */
export interface Guard {
  run(c: Context<AppEnv>, route: Declared, next: Next): Promise<Response | undefined>
}

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'not_found' }),
      message: z.string().openapi({ example: 'Conversation not found' }),
      requestId: z.string().openapi({ example: 'req_3f1c2b7a9d8e4f60a1b2c3d4e5f60718' }),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error')

/** The security schemes of the document, the one place they are defined (registered by the app). */
export const SECURITY_SCHEMES = {
  session: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A session token from POST /api/auth/login or /api/auth/register' },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'intl_session',
    description: 'The dashboard’s HttpOnly session cookie; writes must come from the dashboard origin (CSRF check)',
  },
  secretKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'A secret key as a Bearer token: an API key (intl_sk_…) with scopes, or a secret product key (data_…, agnt_…) with its product’s fixed scopes',
  },
  productKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Product-Key',
    description: 'A publishable product key (chat_…, sale_…), accepted only from the key’s allowed origins; EventSource may send it as ?key=',
  },
  visitorToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The visitor token returned by POST /api/widget/conversations (the event stream also accepts ?token=)',
  },
} as const

/** Registers SECURITY_SCHEMES in the document. */
export function registerSecuritySchemes(registry: OpenAPIHono<AppEnv>['openAPIRegistry']): void {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) registry.registerComponent('securitySchemes', name, scheme)
}

type SchemeName = keyof typeof SECURITY_SCHEMES
function securityOf(a: Access): Partial<Record<SchemeName, string[]>>[] {
  switch (a.kind) {
    case 'public':
    case 'signature':
      return []
    case 'widget':
      return a.visitor === true
        ? [{ productKey: [], visitorToken: [] }]
        : a.visitor === 'optional'
          ? [{ productKey: [], visitorToken: [] }, { productKey: [] }]
          : [{ productKey: [] }]
    case 'session':
    case 'operator':
      return [{ session: [] }, { sessionCookie: [] }]
    case 'customer':
      return [{ session: [] }, { sessionCookie: [] }, { secretKey: [] }]
  }
}

/** The error codes a declaration implies: its access, its budget, its request schemas, and its own list. */
export function impliedErrors(route: Declared): ErrorCode[] {
  // Every route: a NUL in the URL is refused before routing (platform/input.ts), and a database outage answers 503.
  const codes = new Set<ErrorCode>(['invalid_request', 'unavailable'])
  const a = route.access
  if (a.kind === 'widget') {
    for (const c of ['malformed_key', 'invalid_key', 'key_revoked', 'origin_not_allowed', 'license_inactive'] as const) codes.add(c)
    if (a.visitor) codes.add('visitor_token_invalid')
  }
  if (a.kind === 'session' || a.kind === 'customer' || a.kind === 'operator') {
    for (const c of ['unauthorized', 'token_expired', 'token_invalid', 'session_revoked', 'csrf_rejected', 'forbidden', 'license_inactive'] as const)
      codes.add(c)
  }
  if (a.kind === 'customer') for (const c of ['malformed_key', 'invalid_key', 'key_revoked', 'license_inactive'] as const) codes.add(c)
  if (a.kind === 'customer' && a.scope !== null) codes.add('insufficient_scope')
  if (a.kind === 'signature') for (const c of ['invalid_signature', 'not_configured'] as const) codes.add(c)
  if (a.kind === 'signature' && a.scheme !== 'squarespace') codes.add('stale_signature')
  if (route.budget !== 'none') codes.add('rate_limited')
  if (route.idempotent) codes.add('idempotency_conflict')
  const req = route.request
  if (req?.body)
    for (const c of ['invalid_json', 'validation_failed', 'payload_too_large', 'unsupported_media_type', 'bad_request', 'invalid_request'] as const)
      codes.add(c)
  if (req?.query || req?.params || req?.headers) for (const c of ['validation_failed', 'invalid_request'] as const) codes.add(c)
  for (const c of route.errors ?? []) codes.add(c)
  return [...codes]
}

/** Every error status the route can answer, each with the one envelope and the codes that lead to it. */
export function errorResponses(codes: ErrorCode[]): RouteConfig['responses'] {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of codes) byStatus.set(errorStatus[code], [...(byStatus.get(errorStatus[code]) ?? []), code])
  const responses: RouteConfig['responses'] = {}
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: `Error: ${list.map((c) => `\`${c}\``).join(', ')}`,
      content: { 'application/json': { schema: ErrorEnvelope } },
    }
  }
  return responses
}

/** Declared answers win over the error envelope on the same status (e.g. /readyz answers 503 with its own body). */
function mergeResponses(declared: RouteConfig['responses'], errors: RouteConfig['responses']): RouteConfig['responses'] {
  const all: RouteConfig['responses'] = { ...errors, ...declared }
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => Number(a) - Number(b)))
}

function withDefaults(d: Declaration): Declared {
  const kind = d.access.kind
  const budget = d.budget ?? (kind === 'widget' ? 'widget' : kind === 'customer' || kind === 'session' || kind === 'operator' ? 'api' : 'none')
  const idempotent = d.idempotent ?? (d.method === 'post' && (kind === 'customer' || kind === 'session'))
  return { ...d, budget, idempotent }
}

/** Marks the guard middleware of a declared route, so the app can tell declared routes from the rest. */
export const DECLARED = Symbol('declared route')

/** The declaration behind a route handler, if the handler is a declared route's guard. */
export const declarationOf = (handler: unknown): Declared | undefined =>
  typeof handler === 'function' && DECLARED in handler ? (handler as unknown as Record<typeof DECLARED, Declared>)[DECLARED] : undefined

/** The body limit the matched route declares, if it declares one (platform/http.ts limitBody reads it). */
export const declaredBodyLimit = (c: Context): number | undefined =>
  matchedRoutes(c)
    .map((r) => declarationOf(r.handler)?.bodyLimitBytes)
    .find((n) => n !== undefined)

/** Whether the request matched a declared route (its guard authenticates and charges it, nothing else must). */
export const isDeclared = (c: Context): boolean => matchedRoutes(c).some((r) => declarationOf(r.handler) !== undefined)

/**
 * A route for `router.openapi(route, handler)`: the OpenAPI description (security, every response, errors included)
 * and the guard middleware that enforces the declaration, looked up from the app at request time so route modules
 * need not be handed the app's authentication machinery.
 */
export function declareRoute<const D extends Declaration>(declaration: D) {
  if (!declaration.access?.kind) throw new Error(`${declaration.method.toUpperCase()} ${declaration.path} declares no access: it will not mount`)
  const route = withDefaults(declaration)
  const { access: _a, budget: _b, idempotent: _i, errors: _e, teamRole: _t, bodyLimitBytes: _l, visitorLimit, tag, ...openapi } = route
  if (visitorLimit && (route.access.kind !== 'widget' || !route.access.visitor || route.budget !== 'widget'))
    throw new Error(`${route.method.toUpperCase()} ${route.path} declares a visitor limit without a visitor and the widget budget`)
  const guard = Object.assign(
    async function declaredRoute(c: Context<AppEnv>, next: Next) {
      const guards = c.get('guard')
      // A route mounted on an app that enforces nothing would be open to anyone: refuse instead.
      if (!guards) throw new Error(`${route.method.toUpperCase()} ${route.path} is declared but no guard is installed (createApp sets one)`)
      return guards.run(c, route, next)
    },
    { [DECLARED]: route },
  ) satisfies MiddlewareHandler<AppEnv>
  const config = {
    ...openapi,
    tags: [tag],
    security: securityOf(route.access),
    responses: mergeResponses(declaration.responses, errorResponses(impliedErrors(route))),
    middleware: guard,
    'x-access': route.access,
    'x-budget': route.budget,
    ...(visitorLimit ? { 'x-visitor-limit': visitorLimit } : {}),
    ...(route.idempotent ? { 'x-idempotent': true } : {}),
  }
  const created = createRoute(config as unknown as Omit<D, 'access' | 'budget' | 'idempotent' | 'errors' | 'tag'> & { middleware: MiddlewareHandler<AppEnv> })
  // Not enumerable: the route object is what the OpenAPI registry describes, and `declared` is no OpenAPI field.
  return Object.defineProperty(created, 'declared', { value: route, enumerable: false }) as typeof created & { readonly declared: Declared }
}

/** A JSON success response for a declaration. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } })

/** A response with no body. */
export const empty = (description: string) => ({ description })

/**
 * Mounts a declared route whose handler reads the raw request itself (a signed webhook must verify the exact bytes;
 * a stream answers with SSE): the declaration is documented and guarded, but no validator reads the body first.
 */
export function mountRaw(
  app: OpenAPIHono<AppEnv>,
  route: ReturnType<typeof declareRoute>,
  ...handlers: [...MiddlewareHandler<AppEnv>[], Handler<AppEnv>]
): void {
  const { middleware, hide, ...doc } = route as typeof route & { hide?: boolean }
  if (!hide) app.openAPIRegistry.registerPath(doc as RouteConfig)
  app.on([route.method.toUpperCase()], route.path.replaceAll(/\/{(.+?)}/g, '/:$1'), middleware, ...(handlers as MiddlewareHandler<AppEnv>[]))
}

/** A route as the router holds it (Hono's `app.routes`). */
export interface MountedRoute {
  method: string
  path: string
  handler: unknown
}

/**
 * Checked at app start: every route under /api/ is declared (its handler chain holds a declared route's guard),
 * apart from those named in `allowed` ("GET /api/x/:id") while they move to declarations. A route answered by a
 * handler alone, with nothing saying who may call it, stops the start. Returns the declarations found.
 */
export function assertDeclared(routes: readonly MountedRoute[], allowed: readonly string[] = []): Declared[] {
  const groups = new Map<string, { final: boolean; declared?: Declared }>()
  for (const r of routes) {
    if (!r.path.startsWith('/api/')) continue
    const id = `${r.method} ${r.path}`
    const g = groups.get(id) ?? { final: false }
    // A handler takes (c); middleware takes (c, next): a group with a handler answers requests, so it is a route.
    if (typeof r.handler === 'function' && r.handler.length < 2) g.final = true
    g.declared ??= declarationOf(r.handler)
    groups.set(id, g)
  }
  const undeclared = [...groups].filter(([id, g]) => g.final && !g.declared && !allowed.includes(id)).map(([id]) => id)
  if (undeclared.length > 0) throw new Error(`Routes without a declaration (declareRoute in platform/route.ts): ${undeclared.join(', ')}`)
  return [...groups.values()].flatMap((g) => (g.declared ? [g.declared] : []))
}
