// The guard: enforces what a route declares (platform/route.ts) about who may call it, the budget it charges and
// whether a retried POST replays. One place for authentication, scopes, roles, budgets and idempotency; the app
// installs it once (app.ts) and every declared route runs it before its validators and handler.
import type { Context, MiddlewareHandler } from 'hono'
import { apiBudget, authenticate } from './auth/middleware.js'
import type { KeyResolver } from './keys/resolver.js'
import { requireScope, SCOPES, type Scope } from './keys/scopes.js'
import { chargeAddress, chargeWidget, visitorAuth, widgetAuth } from './keys/widget-auth.js'
import type { AppEnv, Deps } from './platform/context.js'
import { AppError } from './platform/errors.js'
import { idempotency } from './platform/idempotency.js'
import { enforce } from './platform/ratelimit.js'
import { requireRole } from './platform/roles.js'
import type { Declared, Guard } from './platform/route.js'
import { chargeApiCall, type Usage } from './usage/meter.js'

/** Runs a middleware as a step: it checks, sets variables, or throws; what follows is the guard's business. */
const step = async (mw: MiddlewareHandler<AppEnv>, c: Context<AppEnv>): Promise<void> => {
  await mw(c, async () => {})
}

export function createGuard(deps: Deps, keys: KeyResolver, usage: Usage): Guard {
  const widgetKey = widgetAuth(deps, keys)
  const visitor = {
    required: visitorAuth(deps),
    optional: visitorAuth(deps, { optional: true }),
    stream: visitorAuth(deps, { queryToken: true }),
  }
  const replay = idempotency(deps)
  const replayPublic = idempotency(deps, { public: true })

  return {
    async run(c, route: Declared, next) {
      const a = route.access
      switch (a.kind) {
        case 'public':
        // The handler verifies the signature against the raw body: only it can read the bytes as sent.
        case 'signature':
          break
        case 'widget':
          // Key and origin, then the visitor token, all before the license's widget budget is charged. A caller
          // refused here after its key checked out still pays its address (an attacker guessing visitor tokens).
          await step(widgetKey, c)
          if (a.visitor)
            await step(a.queryToken ? visitor.stream : a.visitor === 'optional' ? visitor.optional : visitor.required, c).catch(async (err) => {
              await chargeAddress(deps, c)
              throw err
            })
          break
        case 'session':
        case 'customer':
        case 'operator': {
          const p = await authenticate(deps, keys, c)
          c.set('principal', p)
          if (a.kind === 'operator' && (p.kind !== 'session' || p.role !== 'admin')) throw new AppError('forbidden', 'Operators only')
          if (a.kind === 'session' && p.kind !== 'session') throw new AppError('forbidden', 'This route needs a logged-in session, not a key')
          if (a.kind === 'customer' && a.scope !== null) requireScope(p, a.scope as Scope)
          if (route.teamRole) requireRole(p, route.teamRole)
          break
        }
      }
      // Charged last: a request refused above (bad token, revoked session or key, suspended license, wrong role or
      // scope, a foreign origin) spends no license's budget, so nobody can drain an owner's budget with failures.
      if (route.budget === 'api') {
        const p = c.get('principal')
        if (p) {
          await enforce(deps, c, apiBudget(deps, p))
          // A secret key's call counts against the plan's apiCalls quota (src/usage/), once per Idempotency-Key.
          await chargeApiCall(usage, p, c.req.header('idempotency-key'), () => deps.clock.now())
        }
      } else if (route.budget === 'widget' && c.get('widget')) await chargeWidget(deps, c, route.visitorLimit)
      else await chargeAddress(deps, c)
      const p = c.get('principal')
      // A use is a call the key was allowed to make.
      if (p?.kind === 'api_key' && p.keyId) keys.recordUse(p.keyId)
      if (route.idempotent && c.req.method === 'POST') return (p ? replay : replayPublic)(c, next) as Promise<Response | undefined>
      await next()
      return undefined
    },
  }
}

/** A declared scope that keys/scopes.ts does not know could never be granted: the app refuses to start. */
export function assertKnownScope(route: Declared): void {
  const a = route.access
  if (a.kind === 'customer' && a.scope !== null && !(SCOPES as readonly string[]).includes(a.scope))
    throw new Error(`${route.method.toUpperCase()} ${route.path} declares the unknown scope ${a.scope}: add it to keys/scopes.ts SCOPES`)
}

/** Makes the guard available to every declared route's middleware (platform/route.ts reads it from the context). */
export const installGuard = (guard: Guard): MiddlewareHandler<AppEnv> =>
  async function guardInstaller(c, next) {
    c.set('guard', guard)
    await next()
  }
