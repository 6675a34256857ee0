// The Stripe client for one app (built from configuration, never a module singleton) and the pure rules that turn
// a subscription, as Stripe says it is now, into the tier it grants.
import Stripe from 'stripe'
import type { StripeConfig, Tier } from '../platform/config.js'

export type { Stripe }

export function createStripe(config: StripeConfig): Stripe {
  return new Stripe(config.secretKey, {
    host: config.host,
    port: config.port,
    protocol: config.protocol,
    maxNetworkRetries: config.maxNetworkRetries,
    timeout: 20_000,
    appInfo: { name: 'Intelagent' },
  })
}

/** The tier a Stripe price id stands for; undefined for a price this server does not sell. */
export function tierOfPrice(config: StripeConfig, priceId: string | null | undefined): Exclude<Tier, 'starter'> | undefined {
  if (!priceId) return undefined
  for (const [tier, id] of Object.entries(config.prices)) if (id === priceId) return tier as Exclude<Tier, 'starter'>
  return undefined
}

/** What a subscription holds: its first item's price, with the amounts MRR is computed from. */
export function subscriptionFacts(sub: Stripe.Subscription) {
  const item = sub.items.data[0]
  const price = item?.price
  const quantity = item?.quantity ?? 1
  return {
    priceId: price?.id ?? null,
    amount: price?.unit_amount === null || price?.unit_amount === undefined ? null : price.unit_amount * quantity,
    currency: price?.currency ?? sub.currency ?? null,
    interval: price?.recurring?.interval ?? null,
    intervalCount: price?.recurring?.interval_count ?? null,
    // Since API version 2025-03-31 the period lives on each item, not on the subscription.
    currentPeriodEnd: item?.current_period_end ? new Date(item.current_period_end * 1000) : null,
  }
}

export const GRACE_STATUSES: readonly string[] = ['past_due', 'unpaid']
export const ENDED_STATUSES: readonly string[] = ['canceled', 'incomplete_expired', 'paused']

/**
 * The mapping, in one place (docs/billing.md has it as a table):
 * active / trialing → the price's tier (also while cancel_at_period_end: Stripe ends it at the period end);
 * past_due / unpaid → the price's tier until the grace ends, then starter; canceled / incomplete_expired / paused →
 * starter at once; incomplete (first payment not made yet) → no change. A price this server does not sell → no change.
 */
export function tierFor(config: StripeConfig, sub: Stripe.Subscription, current: Tier, graceEndsAt: Date | null, now: number): Tier {
  const paid = tierOfPrice(config, subscriptionFacts(sub).priceId)
  if (ENDED_STATUSES.includes(sub.status)) return 'starter'
  if (GRACE_STATUSES.includes(sub.status)) {
    if (graceEndsAt && graceEndsAt.getTime() <= now) return 'starter'
    return paid ?? current
  }
  if (sub.status === 'active' || sub.status === 'trialing') return paid ?? current
  return current
}

/** The id of whatever a Stripe field holds: an id string or an expanded object. */
export const idOf = (v: string | { id: string } | null | undefined): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : v.id)
