// Team roles and the check routes use to keep members away from keys and billing.

import type { Principal } from './context.js'
import type { TeamRole } from './db.js'
import { AppError } from './errors.js'
import type { Plans, Tier } from './plans.js'

export const TEAM_ROLES = ['owner', 'admin', 'member'] as const satisfies readonly TeamRole[]
/** Roles an invitation or a role change can give: there is one owner per license, set at registration. */
export const ASSIGNABLE_ROLES = ['admin', 'member'] as const

/** Seats of the license's plan (platform/plans.ts, PLANS overrides), pending invitations included. */
export const seatLimit = (plans: Plans, tier: string): number => (plans[tier as Tier] ?? plans.starter).quotas.seats

const RANK: Record<TeamRole, number> = { member: 0, admin: 1, owner: 2 }

/**
 * Refuses a person whose team role is below `role` (owner > admin > member). Keys pass: a secret key is made by
 * an owner or admin and acts within its scopes (keys/scopes.ts). Operators pass: they hold no team role.
 */
export function requireRole(p: Principal, role: 'admin' | 'owner'): void {
  if (p.kind !== 'session') return
  if (p.role === 'admin' && p.licenseId === null) return
  // A session without a team role (not possible once the teams migration ran) gets the least power.
  const have = RANK[p.teamRole ?? 'member']
  if (have < RANK[role])
    throw new AppError('forbidden', role === 'owner' ? 'Only the owner of this license can do this' : 'Only the owner or an admin of this team can do this')
}
