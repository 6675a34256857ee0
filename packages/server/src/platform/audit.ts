// The audit trail: who did what to which license, from where. Written in the caller's transaction when given one.
import type { Kysely } from 'kysely'
import type { Principal } from './context.js'
import type { Database } from './db.js'

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
  | 'knowledge.added'
  | 'knowledge.deleted'
  | 'knowledge.source_added'
  | 'setup.started'
  | 'setup.applied'
  | 'knowledge.source_synced'
  | 'knowledge.source_deleted'
  | 'conversation.replied'
  | 'conversation.closed'
  | 'conversation.reopened'
  | 'conversation.taken_over'
  | 'conversation.handed_back'
  | 'unanswered.answered'
  | 'unanswered.dismissed'
  | 'admin.created'
  | 'job.retried'
  | 'billing.subscription_updated'
  | 'billing.tier_changed'
  | 'team.invitation_created'
  | 'team.invitation_revoked'
  | 'team.invitation_accepted'
  | 'team.role_changed'
  | 'team.member_removed'
  | 'account.password_changed'
  | 'account.session_revoked'
  | 'account.other_sessions_revoked'
  | 'license.updated'
  | 'license.mail_resent'
  | 'license.order_joined'
  | 'license.order_cancelled'
  | 'license.updated'
  | 'auth.password_reset_requested'
  | 'auth.password_reset'
  | 'auth.email_change_requested'
  | 'auth.email_changed'

export interface AuditEntry {
  licenseId: string | null
  actor: string | null
  /** 'session' for a logged-in person, the key's prefix (intl_sk, agnt, data) for a key; null without credentials (sign-in, CLI, webhooks). */
  actorKind?: string | null
  /** The key that acted, so a leaked key's every act can be listed. */
  actorKeyId?: string | null
  action: AuditAction
  target?: string | null
  ip?: string | null
  meta?: Record<string, unknown>
}

export async function audit(db: Kysely<Database>, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      license_id: e.licenseId,
      actor: e.actor,
      actor_kind: e.actorKind ?? null,
      actor_key_id: e.actorKeyId ?? null,
      action: e.action,
      target: e.target ?? null,
      ip: e.ip ?? null,
      meta: JSON.stringify(e.meta ?? {}),
    })
    .execute()
}

/** Who acted, from the request's principal: every audit write of an authenticated route spreads this in. */
export function actorOf(p: Principal): Pick<AuditEntry, 'actor' | 'actorKind' | 'actorKeyId'> {
  return { actor: p.email, actorKind: p.kind === 'session' ? 'session' : (p.keyKind ?? null), actorKeyId: p.keyId ?? null }
}

export async function listAudit(db: Kysely<Database>, licenseId: string, limit = 100) {
  return db
    .selectFrom('audit_log')
    .select(['id', 'actor', 'actor_kind', 'actor_key_id', 'action', 'target', 'ip', 'meta', 'created_at'])
    .where('license_id', '=', licenseId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}
