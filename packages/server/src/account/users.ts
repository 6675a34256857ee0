// What a signed-in person may see of their own account: the user row and the license it belongs to.
import type { License, User } from '../platform/db.js'

/** The user as /api/auth/me, login and register answer it (never the password hash). */
export function publicUser(user: User, license: License | undefined) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    teamRole: user.team_role,
    licenseKey: license?.key ?? null,
    products: license?.products ?? [],
    tier: license?.tier ?? null,
    createdAt: user.created_at.toISOString(),
  }
}
