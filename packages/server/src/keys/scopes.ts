// What a secret key may do: one scope per capability and direction, derived from the route it calls, and the
// fixed scope set of each product key kind. A key creates only keys whose powers lie within its own.
import type { ResolvedKey } from '../keys/resolver.js'
import type { Principal } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { isPublishable, KEY_PREFIX, type Product } from '../platform/products.js'

/** Every scope, in display order; an API key (intl_sk_) may be given any of them. */
export const SCOPES = [
  'keys:read',
  'keys:write',
  'keys:revoke',
  'settings:read',
  'settings:write',
  'conversations:read',
  'conversations:write',
  'leads:read',
  'audit:read',
  'enrichment:write',
  'billing:read',
  'billing:write',
  'usage:read',
  'analytics:read',
  'webhooks:read',
  'webhooks:write',
] as const
export type Scope = (typeof SCOPES)[number]

/**
 * The powers of each product's keys, the one place they are defined. Publishable keys live in web pages and
 * act only on the widget routes, so they hold no secret powers. The setup agent sets products up (configure,
 * allowed origins, embed code, settings, knowledge and integration secrets: the reply engine's setup) but
 * cannot rotate or revoke keys, read conversations, leads or the audit log. A data_ key only enriches.
 */
export const PRODUCT_KEY_SCOPES = {
  chatbot: [],
  'sales-agent': [],
  'data-enrichment': ['enrichment:write'],
  'setup-agent': ['keys:read', 'keys:write', 'settings:read', 'settings:write'],
} as const satisfies Record<Product, readonly Scope[]>

/** How a secret key shows up in the audit trail: its prefix. */
export type KeyKind = NonNullable<Principal['keyKind']>

export function keyKindOf(key: Pick<ResolvedKey, 'kind' | 'product'>): KeyKind {
  if (key.kind === 'api') return 'intl_sk'
  return KEY_PREFIX[key.product as 'setup-agent' | 'data-enrichment']
}

/** A secret key's scopes: chosen at creation for an API key, fixed by the product for a product key. */
export function keyScopes(key: Pick<ResolvedKey, 'kind' | 'product' | 'scopes'>): string[] {
  if (key.kind === 'api') return key.scopes ?? []
  return [...(PRODUCT_KEY_SCOPES[key.product as Product] ?? [])]
}

const keyName = (p: Principal): string => (p.keyKind ? `This ${p.keyKind}_ key` : 'This key')

/** Refuses a key that lacks the scope; sessions hold every scope of their account. */
export function requireScope(p: Principal, scope: Scope): void {
  if (p.kind === 'session') return
  // A key principal without scopes is a bug somewhere upstream: refuse rather than grant everything.
  if (!p.scopes?.includes(scope)) throw new AppError('insufficient_scope', `${keyName(p)} lacks the ${scope} scope`)
}

/**
 * No privilege escalation: issuing a key of this product (configure, rotate) is refused unless every power of
 * the new key is one the caller holds. Product keys never issue secret keys at all, not even one like
 * themselves: a leaked agnt_ key could otherwise mint a twin that outlives its own revocation.
 */
export function requireCanIssue(p: Principal, product: Product): void {
  if (p.kind === 'session' || isPublishable(product)) return
  if (p.kind === 'product_key') throw new AppError('insufficient_scope', `${keyName(p)} cannot issue secret keys; only people and API keys can`)
  const missing = PRODUCT_KEY_SCOPES[product].filter((s) => !p.scopes?.includes(s))
  if (missing.length > 0)
    throw new AppError(
      'insufficient_scope',
      `A ${product} key would hold ${missing.join(', ')}, which ${keyName(p).replace(/^This/, 'this')} lacks: a key may only issue keys within its own powers`,
    )
}
