// The SQL enrichment needs: a lead's inputs, and its result stored on the lead.
import type { Db } from '../platform/db.js'
import type { EnrichResult } from './service.js'

export function findLeadInputs(db: Db, leadId: string) {
  return db
    .selectFrom('leads')
    .select(['id', 'license_id', 'product', 'conversation_id', 'email', 'page_url', 'referrer', 'user_agent', 'ip_network'])
    .where('id', '=', leadId)
    .executeTakeFirst()
}

export async function saveLeadEnrichment(db: Db, licenseId: string, leadId: string, result: EnrichResult, at: Date): Promise<void> {
  await db
    .updateTable('leads')
    .set({ enrichment: JSON.stringify(result), enriched_at: at })
    .where('id', '=', leadId)
    .where('license_id', '=', licenseId)
    .execute()
}
