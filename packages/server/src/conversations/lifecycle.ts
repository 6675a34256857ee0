// The conversation lifecycle: open → waiting (for a person) → closed, and back. Every change is one guarded UPDATE
// (it changes nothing when the conversation is already there) with its domain event in the same transaction, so an
// event exists exactly when the change does and a repeat (a retried request, two workers) emits nothing twice.
// Human takeover pauses the engines for one conversation until the owner hands it back or closes it.
// docs/conversation-lifecycle.md describes the states, who moves them, and the inactivity close.
import { type Kysely, sql } from 'kysely'
import type { Deps } from '../platform/context.js'
import type { ConversationRow, Database, WaitingReason } from '../platform/db.js'
import { emit } from '../platform/events.js'
import { enqueue, type Jobs } from '../platform/jobs.js'
import type { Product } from '../platform/products.js'
import { publishLicense } from './service.js'

type ConvRef = Pick<ConversationRow, 'id' | 'license_id' | 'product'>

/** Moves the conversation to waiting for a person (from open or closed); false when it was waiting already. */
export async function markWaiting(trx: Kysely<Database>, conv: ConvRef, reason: WaitingReason, now: Date): Promise<boolean> {
  const row = await trx
    .updateTable('conversations')
    .set({ status: 'waiting', waiting_reason: reason, waiting_since: now, closed_at: null, closed_by: null })
    .where('id', '=', conv.id)
    .where('license_id', '=', conv.license_id)
    .where('status', '<>', 'waiting')
    .returning('id')
    .executeTakeFirst()
  if (!row) return false
  await emit(trx, { type: 'conversation.waiting', licenseId: conv.license_id, data: { conversationId: conv.id, product: conv.product as Product, reason } })
  return true
}

/** Closes the conversation (and hands it back to the bot); undefined when it was closed already. */
export async function closeConversation(trx: Kysely<Database>, conv: ConvRef, by: 'owner' | 'inactivity', now: Date) {
  const row = await trx
    .updateTable('conversations')
    .set({
      status: 'closed',
      closed_at: now,
      closed_by: by,
      waiting_reason: null,
      waiting_since: null,
      taken_over_at: null,
      taken_over_by: null,
      // The owner acting is activity; the inactivity close leaves the last activity as it was.
      ...(by === 'owner' ? { updated_at: now } : {}),
    })
    .where('id', '=', conv.id)
    .where('license_id', '=', conv.license_id)
    .where('status', '<>', 'closed')
    .returningAll()
    .executeTakeFirst()
  if (row) await emit(trx, { type: 'conversation.closed', licenseId: conv.license_id, data: { conversationId: conv.id, product: conv.product as Product, by } })
  return row
}

/** Opens a waiting or closed conversation again; undefined when it was open already. */
export async function reopenConversation(trx: Kysely<Database>, conv: ConvRef, now: Date) {
  const row = await trx
    .updateTable('conversations')
    .set({ status: 'open', closed_at: null, closed_by: null, waiting_reason: null, waiting_since: null, updated_at: now })
    .where('id', '=', conv.id)
    .where('license_id', '=', conv.license_id)
    .where('status', '<>', 'open')
    .returningAll()
    .executeTakeFirst()
  if (row) await emit(trx, { type: 'conversation.reopened', licenseId: conv.license_id, data: { conversationId: conv.id, product: conv.product as Product } })
  return row
}

/**
 * A person takes the conversation: the engines stay quiet in it until it is handed back or closed. A waiting or
 * closed conversation is open again (someone is answering it). Repeats keep the first takeover's time.
 */
export async function takeOver(trx: Kysely<Database>, conv: ConvRef, by: string, now: Date): Promise<void> {
  await reopenConversation(trx, conv, now)
  await trx
    .updateTable('conversations')
    .set({ taken_over_at: sql`coalesce(taken_over_at, ${now})`, taken_over_by: by, updated_at: now })
    .where('id', '=', conv.id)
    .where('license_id', '=', conv.license_id)
    .execute()
}

/** The bot answers again in this conversation. */
export async function handBack(trx: Kysely<Database>, conv: ConvRef, now: Date): Promise<void> {
  await trx
    .updateTable('conversations')
    .set({ taken_over_at: null, taken_over_by: null, updated_at: now })
    .where('id', '=', conv.id)
    .where('license_id', '=', conv.license_id)
    .execute()
}

/** Tells the dashboards of the license that a conversation's status or takeover changed (after the commit). */
export async function announceConversation(deps: Deps, conv: ConversationRow): Promise<void> {
  await publishLicense(deps, conv.license_id, {
    type: 'conversation.updated',
    conversationId: conv.id,
    product: conv.product,
    status: conv.status,
    waitingReason: conv.waiting_reason,
    takenOver: conv.taken_over_at !== null,
  })
}

/** Runs a lifecycle change in a transaction, then announces the conversation as it now is. */
export async function changeConversation(deps: Deps, conv: ConvRef, change: (trx: Kysely<Database>, now: Date) => Promise<unknown>): Promise<ConversationRow> {
  const now = new Date(deps.clock.now())
  const row = await deps.db.transaction().execute(async (trx) => {
    await change(trx, now)
    return trx.selectFrom('conversations').selectAll().where('id', '=', conv.id).where('license_id', '=', conv.license_id).executeTakeFirstOrThrow()
  })
  await announceConversation(deps, row)
  return row
}

// ---------------------------------------------------------------------------------------------------------
// Inactivity close: a durable job once every SWEEP_EVERY_MS closes the conversations whose last activity is older than
// their product's `autoCloseHours` (0 = never), at most SWEEP_BATCH per pass.

export const INACTIVITY_JOB = 'conversations.close-inactive'
export const SWEEP_EVERY_MS = 15 * 60_000
const SWEEP_BATCH = 500
/** When a product has no `autoCloseHours` setting (products/settings.ts has the same default). */
export const DEFAULT_AUTO_CLOSE_HOURS = 24

/** Closes inactive conversations as of the Deps clock; resolves to how many it closed. */
export async function closeInactive(deps: Deps): Promise<number> {
  const now = new Date(deps.clock.now())
  let closed = 0
  for (;;) {
    const { rows } = await sql<{ id: string; license_id: string; product: string }>`
      select c.id, c.license_id, c.product
      from conversations c
      left join product_settings s on s.license_id = c.license_id and s.product = c.product
      where c.status <> 'closed'
        and coalesce((s.settings->>'autoCloseHours')::numeric, ${DEFAULT_AUTO_CLOSE_HOURS}) > 0
        and c.updated_at < ${now}::timestamptz - coalesce((s.settings->>'autoCloseHours')::numeric, ${DEFAULT_AUTO_CLOSE_HOURS}) * interval '1 hour'
      order by c.updated_at
      limit ${SWEEP_BATCH}`.execute(deps.db)
    for (const conv of rows) {
      const row = await deps.db.transaction().execute((trx) => closeConversation(trx, conv, 'inactivity', now))
      if (row) {
        closed++
        await announceConversation(deps, row)
      }
    }
    if (rows.length < SWEEP_BATCH) return closed
  }
}

/**
 * Registers the sweep job and the worker tick that enqueues it once per slot (per instance; the dedupe key keeps
 * instances from queueing the same slot twice while one is pending, and a second run of a slot closes nothing new).
 * A tick rather than a job queued for later: the sweep is always runnable when queued, so the worker stays simple.
 */
export function registerInactivitySweep(deps: Deps, jobs: Jobs): void {
  jobs.register<{ slot: number }>(INACTIVITY_JOB, {
    async run() {
      await closeInactive(deps)
    },
  })
  let lastSlot = Number.NaN
  jobs.addTick(async () => {
    const slot = Math.floor(deps.clock.now() / SWEEP_EVERY_MS)
    if (slot === lastSlot) return 0
    lastSlot = slot
    await enqueue(deps.db, INACTIVITY_JOB, { slot }, { dedupeKey: `${INACTIVITY_JOB}:${slot}`, maxAttempts: 3 })
    return 0
  })
}
