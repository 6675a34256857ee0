// After a change to a license (status, tier), every instance must see it at once: its keys' resolved copies and
// its cached sessions carry the license's status and tier, so both are dropped everywhere.
import { dropCachedSessions } from '../auth/sessions.js'
import type { KeyResolver } from '../keys/resolver.js'
import type { Deps } from '../platform/context.js'

export async function dropLicenseCaches(deps: Deps, keys: KeyResolver, license: { id: string; key: string }): Promise<void> {
  const lookups = await deps.db
    .selectFrom('product_keys')
    .select('lookup')
    .where('license_id', '=', license.id)
    .unionAll(deps.db.selectFrom('api_keys').select('lookup').where('license_id', '=', license.id))
    .execute()
  await keys.invalidate(lookups.map((k) => k.lookup))
  const sessions = await deps.db.selectFrom('sessions').select('id').where('license_id', '=', license.id).where('revoked_at', 'is', null).execute()
  await dropCachedSessions(
    deps,
    license.key,
    sessions.map((s) => s.id),
  )
}
