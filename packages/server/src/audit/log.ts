// The audit trail: who did what to which license, from where. Written in the caller's transaction when given one.
import type { Kysely } from 'kysely'
import type { Database } from '../platform/db.js'

export type AuditAction =
  | 'license.issued'
  | 'license.suspended'
  | 'license.reactivated'
  | 'account.registered'
  | 'auth.login'
  | 'auth.login_failed'
  | 'auth.logout'
  | 'key.created'
  | 'key.rotated'
  | 'key.revoked'
  | 'key.origins_updated'
  | 'settings.updated'
  | 'admin.created'
  | 'job.retried'

export interface AuditEntry {
  licenseId: string | null
  actor: string | null
  action: AuditAction
  target?: string | null
  ip?: string | null
  meta?: Record<string, unknown>
}

export async function audit(db: Kysely<Database>, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ license_id: e.licenseId, actor: e.actor, action: e.action, target: e.target ?? null, ip: e.ip ?? null, meta: JSON.stringify(e.meta ?? {}) })
    .execute()
}

export async function listAudit(db: Kysely<Database>, licenseId: string, limit = 100) {
  return db
    .selectFrom('audit_log')
    .select(['id', 'actor', 'action', 'target', 'ip', 'meta', 'created_at'])
    .where('license_id', '=', licenseId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}
