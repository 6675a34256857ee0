// Enrichment for one license: the offline rules for each item, then the customer's firmographics webhook once per
// business domain. The routes and lead capture both come through here; each counts its items against the plan's
// `enrichments` quota (src/usage/) before enriching anything.

import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { type Events, emit } from '../platform/events.js'
import { hasFeature } from '../platform/features.js'
import type { Product } from '../platform/products.js'
import { getSettings } from '../settings/settings.js'
import type { Usage } from '../usage/meter.js'
import { type FirmographicsOutcome, firmographicsSecret, lookupFirmographics } from './firmographics.js'
import { findLeadInputs, saveLeadEnrichment } from './queries.js'
import { type EnrichInput, type EnrichResult, enrich, withFirmographics } from './service.js'

/** Webhook calls in flight at once for one batch, and the time after which a batch stops starting new ones. */
export const WEBHOOK_CONCURRENCY = 5
export const WEBHOOK_BATCH_BUDGET_MS = 15_000

export interface LicenseRef {
  id: string
  key: string
  products: string[]
}

const isBusiness = (r: EnrichResult): r is EnrichResult & { domain: string } => r.domain !== null && !r.freeMail && !r.disposable

async function firmographicsFor(
  deps: Deps,
  license: LicenseRef,
  domains: string[],
): Promise<{ outcomes: Map<string, FirmographicsOutcome> } | { skipped: string } | null> {
  if (domains.length === 0 || !license.products.includes('data-enrichment')) return null
  const hook = (await getSettings(deps, license.id, 'data-enrichment')).enrichment
  if (!hook) return null
  let secret: string | null
  try {
    secret = await firmographicsSecret(deps, license.id)
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_configured') return { skipped: 'its signing secret cannot be decrypted; set it again' }
    throw err
  }
  if (!secret) return { skipped: 'set a webhook_signing_secret for data-enrichment first (calls are always signed)' }
  const outcomes = new Map<string, FirmographicsOutcome>()
  const deadline = deps.clock.now() + WEBHOOK_BATCH_BUDGET_MS
  let next = 0
  const worker = async () => {
    while (next < domains.length) {
      const domain = domains[next++] as string
      if (deps.clock.now() > deadline) {
        outcomes.set(domain, { ok: false, reason: `was skipped: this batch used up its ${WEBHOOK_BATCH_BUDGET_MS / 1000} s for webhook calls` })
        continue
      }
      outcomes.set(
        domain,
        await lookupFirmographics(deps, { url: hook.webhookUrl, timeoutMs: hook.timeoutMs }, secret, {
          event: 'enrichment.lookup',
          licenseId: license.id,
          domain,
        }),
      )
    }
  }
  await Promise.all(Array.from({ length: Math.min(WEBHOOK_CONCURRENCY, domains.length) }, worker))
  return { outcomes }
}

/**
 * Enriches every input for this license; the answer at index i is for input i. The offline part is deterministic;
 * a firmographics webhook, when configured, adds to it and its failure only adds a reason.
 */
export async function enrichForLicense(deps: Deps, license: LicenseRef, inputs: EnrichInput[]): Promise<EnrichResult[]> {
  const results = await Promise.all(inputs.map((input) => enrich(input)))
  const domains = [...new Set(results.filter(isBusiness).map((r) => r.domain))]
  const hooked = await firmographicsFor(deps, license, domains)
  const merged = results.map((r) => {
    if (!hooked || !isBusiness(r)) return r
    if ('skipped' in hooked) return { ...r, reasons: [...r.reasons, `Firmographics webhook not called: ${hooked.skipped}`] }
    const outcome = hooked.outcomes.get(r.domain)
    if (!outcome) return r
    if (!outcome.ok) return { ...r, reasons: [...r.reasons, `Firmographics webhook failed (${outcome.reason}): offline result only`] }
    if (Object.keys(outcome.firmographics).length === 0) return { ...r, reasons: [...r.reasons, `Your firmographics webhook has nothing on ${r.domain}`] }
    return withFirmographics(r, outcome.firmographics)
  })
  return merged
}

/**
 * Enriches a stored lead and keeps the result on it, with a `lead.enriched` event in the same transaction. Run by
 * the `lead.created` consumer below (a durable job: a crash or a retry enriches again and overwrites, never twice
 * in part). The lead counts one against the `enrichments` quota, with its id as the dedupe id so a retried job
 * counts once. Returns null for a lead that no longer exists, on a plan without the feature, or past the quota:
 * the lead is kept as captured (`enrichment: null`, no `lead.enriched`).
 */
export async function enrichLead(deps: Deps, usage: Usage, leadId: string): Promise<EnrichResult | null> {
  const lead = await findLeadInputs(deps.db, leadId)
  if (!lead) return null
  const license = await deps.db.selectFrom('licenses').select(['id', 'key', 'products', 'tier']).where('id', '=', lead.license_id).executeTakeFirst()
  if (!license) return null
  // Lead enrichment is a plan feature: on a plan without it a lead stays as the visitor left it.
  if (!hasFeature(deps.config.plans, license.tier, 'enrichment')) return null
  const counted = await usage.count({ licenseId: license.id, tier: license.tier }, { metrics: ['enrichments'], dedupeId: `lead:${lead.id}` })
  if (!counted.ok) {
    // Past the quota the lead stays as the visitor left it; the owner sees the quota exceeded on the Usage page.
    deps.logger.info('lead not enriched: the enrichments quota is used up', { leadId: lead.id, licenseId: license.id })
    return null
  }
  const [result] = await enrichForLicense(deps, license, [
    {
      email: lead.email,
      ip: lead.ip_network ?? undefined,
      userAgent: lead.user_agent ?? undefined,
      referrer: lead.referrer ?? undefined,
      pageUrl: lead.page_url ?? undefined,
    },
  ])
  if (!result) return null
  await deps.db.transaction().execute(async (trx) => {
    await saveLeadEnrichment(trx, lead.license_id, lead.id, result, new Date(deps.clock.now()))
    await emit(trx, {
      type: 'lead.enriched',
      licenseId: lead.license_id,
      data: { leadId: lead.id, product: lead.product as Product, conversationId: lead.conversation_id, enrichment: { ...result } },
    })
  })
  return result
}

/** Every captured lead is enriched after it is stored, off the visitor's request, by a durable consumer job. */
export function registerLeadEnrichment(deps: Deps, events: Events, usage: Usage): void {
  events.onEvent('lead.created', 'enrichment.enrich-lead', async (event) => {
    try {
      await enrichLead(deps, usage, event.data.leadId)
    } catch (err) {
      // A refusal (quota, configuration) will not change by retrying: the lead stays as captured, shown unenriched.
      if (!(err instanceof AppError)) throw err
      deps.logger.warn('lead not enriched', { leadId: event.data.leadId, code: err.code })
    }
  })
}
