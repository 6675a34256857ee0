// A license whose products, tier or status changed outside an operator's request (a purchase joined it, an order
// was refunded, an n8n action) has its cached keys and sessions dropped on every instance by this event consumer,
// so the change applies within moments wherever it came from.
import { dropCachedSessions } from '../account/sessions.js'
import type { KeyResolver } from '../keys/resolver.js'
import type { Deps } from '../platform/context.js'
import type { Events } from '../platform/events.js'
import { closeStreams, streamTag } from '../platform/streams.js'

export async function dropLicenseCaches(deps: Deps, keys: KeyResolver, licenseId: string): Promise<void> {
  const license = await deps.db.selectFrom('licenses').select(['key', 'status']).where('id', '=', licenseId).executeTakeFirst()
  if (!license) return
  const lookups = await deps.db
    .selectFrom('product_keys')
    .select('lookup')
    .where('license_id', '=', licenseId)
    .unionAll(deps.db.selectFrom('api_keys').select('lookup').where('license_id', '=', licenseId))
    .execute()
  await keys.invalidate(lookups.map((k) => k.lookup))
  const sessions = await deps.db.selectFrom('sessions').select('id').where('license_id', '=', licenseId).where('revoked_at', 'is', null).execute()
  await dropCachedSessions(
    deps,
    license.key,
    sessions.map((s) => s.id),
  )
  if (license.status !== 'active')
    await closeStreams(deps.cache, [streamTag.license(licenseId)], license.status === 'suspended' ? 'license_suspended' : 'license_revoked')
}

export function registerLicenseCacheDrop(deps: Deps, events: Events, keys: KeyResolver): void {
  events.onEvent('license.updated', 'licenses.drop-caches', async (event) => {
    if (event.data.changes.some((c) => c !== 'claimed')) await dropLicenseCaches(deps, keys, event.data.licenseId)
  })
  events.onEvent('license.suspended', 'licenses.drop-caches-suspended', async (event) => dropLicenseCaches(deps, keys, event.data.licenseId))
}
