// What a signed-in person may see of their own account: the user row and the license it belongs to.
import type { Tier } from '../platform/config.js'
import type { License, User } from '../platform/db.js'
import type { Product } from '../platform/products.js'

/** The user as /api/auth/me, login and register answer it (never the password hash). */
export function publicUser(user: User, license: License | undefined) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    teamRole: user.team_role,
    licenseKey: license?.key ?? null,
    // The database types them as text; its constraints hold them to the document's enums.
    products: (license?.products ?? []) as Product[],
    tier: (license?.tier ?? null) as Tier | null,
    createdAt: user.created_at.toISOString(),
  }
}
