// One declaration per route: path and schemas (for @hono/zod-openapi), who may call it, the budget it charges,
// whether a retried POST replays, and every answer it can give, errors included. The guard middleware reads the
// declaration; nothing else lists routes, and a route without declared access does not mount.
import { createRoute, type RouteConfig, z } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler, Next } from 'hono'
import type { AppEnv } from './context.js'
import { type ErrorCode, errorStatus } from './errors.js'

/** Who may call a route. */
export type Access =
  /** Anyone (health checks, registration, login, the reference page). */
  | { kind: 'public' }
  /** A page with a publishable product key (chat_/sale_) from an allowed origin; `visitor` adds the visitor token. */
  | { kind: 'widget'; visitor: boolean }
  /** A logged-in person (session JWT or the dashboard cookie), not a key. */
  | { kind: 'session' }
  /** A session, or a secret key (intl_sk_, data_, agnt_) holding `scope`. */
  | { kind: 'customer'; scope: string }
  /** An operator's session. */
  | { kind: 'operator' }
  /** A server that signs its calls (the body is verified by the handler against the raw bytes). */
  | { kind: 'signature'; scheme: 'squarespace' | 'n8n' | 'product' | 'stripe' }

export const access = {
  public: { kind: 'public' },
  widget: { kind: 'widget', visitor: false },
  visitor: { kind: 'widget', visitor: true },
  session: { kind: 'session' },
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

const SECURITY: Record<Access['kind'], Record<string, string[]>[]> = {
  public: [],
  widget: [{ productKey: [] }],
  session: [{ session: [] }, { sessionCookie: [] }],
  customer: [{ session: [] }, { sessionCookie: [] }, { secretKey: [] }],
  operator: [{ session: [] }, { sessionCookie: [] }],
  signature: [],
}

/** The error codes a declaration implies: its access, its budget, its request schemas, and its own list. */
export function impliedErrors(route: Declared): ErrorCode[] {
  const codes = new Set<ErrorCode>(['unavailable'])
  const a = route.access
  if (a.kind === 'widget') {
    for (const c of ['malformed_key', 'invalid_key', 'key_revoked', 'origin_not_allowed', 'license_inactive'] as const) codes.add(c)
    if (a.visitor) codes.add('visitor_token_invalid')
  }
  if (a.kind === 'session' || a.kind === 'customer' || a.kind === 'operator') {
    for (const c of ['unauthorized', 'token_expired', 'token_invalid', 'session_revoked', 'csrf_rejected', 'forbidden'] as const) codes.add(c)
  }
  if (a.kind === 'customer') for (const c of ['malformed_key', 'invalid_key', 'key_revoked', 'insufficient_scope'] as const) codes.add(c)
  if (a.kind === 'signature') for (const c of ['invalid_signature', 'not_configured'] as const) codes.add(c)
  if (route.budget !== 'none') codes.add('rate_limited')
  if (route.idempotent) codes.add('idempotency_conflict')
  const req = route.request
  if (req?.body) for (const c of ['invalid_json', 'validation_failed', 'payload_too_large', 'unsupported_media_type', 'bad_request'] as const) codes.add(c)
  if (req?.query || req?.params || req?.headers) codes.add('validation_failed')
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

function withDefaults(d: Declaration): Declared {
  const kind = d.access.kind
  const budget = d.budget ?? (kind === 'widget' ? 'widget' : kind === 'customer' || kind === 'session' || kind === 'operator' ? 'api' : 'none')
  const idempotent = d.idempotent ?? (d.method === 'post' && (kind === 'customer' || kind === 'session'))
  return { ...d, budget, idempotent }
}

/**
 * A route for `router.openapi(route, handler)`: the OpenAPI description (security, every response, errors included)
 * and the guard middleware that enforces the declaration, looked up from the app at request time so route modules
 * need not be handed the app's authentication machinery.
 */
export function declareRoute<const D extends Declaration>(declaration: D) {
  if (!declaration.access?.kind) throw new Error(`${declaration.method.toUpperCase()} ${declaration.path} declares no access: it will not mount`)
  const route = withDefaults(declaration)
  const { access: _a, budget: _b, idempotent: _i, errors: _e, tag, ...openapi } = route
  const guard: MiddlewareHandler<AppEnv> = async function declaredRoute(c, next) {
    const guards = c.get('guard')
    // While routes move to declarations, the app's prefix middleware still guards undeclared ones; once every
    // route is declared the guard is installed for all of them and this fallback goes.
    if (!guards) return next()
    return guards.run(c, route, next)
  }
  const config = {
    ...openapi,
    tags: [tag],
    security: SECURITY[route.access.kind],
    responses: { ...declaration.responses, ...errorResponses(impliedErrors(route)) },
    middleware: guard,
    'x-access': route.access,
    'x-budget': route.budget,
    ...(route.idempotent ? { 'x-idempotent': true } : {}),
  }
  const created = createRoute(config as unknown as Omit<D, 'access' | 'budget' | 'idempotent' | 'errors' | 'tag'> & { middleware: MiddlewareHandler<AppEnv> })
  // Not enumerable: the registry copies the route object into the document, where `declared` is no OpenAPI field.
  return Object.defineProperty(created, 'declared', { value: route, enumerable: false }) as typeof created & { declared: Declared }
}

/** A JSON success response for a declaration. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } })

/** A response with no body. */
export const empty = (description: string) => ({ description })
