// Domain events: an outbox row written in the same transaction as the change it describes, then handed by the
// job worker's dispatcher to every registered consumer as a durable job of its own. The schemas are the contract.
import type { OpenAPIHono } from '@hono/zod-openapi'
import { z } from '@hono/zod-openapi'
import { type Kysely, sql } from 'kysely'
import { type Database, type Db, type EventRow, isDeadlock, pgArray } from './db.js'
import { newId } from './ids.js'
import { enqueue, type JobContext, type Jobs } from './jobs.js'
import { PRODUCTS } from './products.js'

const licenseStatus = z.enum(['active', 'suspended', 'revoked'])
const tier = z.enum(['starter', 'professional', 'business', 'enterprise'])

/** The data of each event type. Add fields freely; renaming or removing one breaks consumers. */
export const eventSchemas = {
  'license.created': z.object({
    licenseId: z.uuid(),
    source: z.string(),
    orderId: z.string().nullable(),
    products: z.array(z.enum(PRODUCTS)),
    tier,
    status: licenseStatus,
  }),
  'license.updated': z.object({
    licenseId: z.uuid(),
    /**
     * What changed: the status (other than to suspended, which is license.suspended), the first registration,
     * the products or the tier (a purchase joined the license, an order was cancelled, an n8n action).
     */
    changes: z.array(z.enum(['status', 'claimed', 'products', 'tier'])).min(1),
    status: licenseStatus,
    claimed: z.boolean(),
    /** The license's products and tier after the change (present when they changed). */
    products: z.array(z.enum(PRODUCTS)).optional(),
    tier: tier.optional(),
    previousTier: tier.optional(),
    /** Why: a purchase by the same buyer, an order cancelled or refunded, an n8n action, an operator. */
    cause: z.enum(['purchase', 'order_cancelled', 'order_refunded', 'action', 'operator']).optional(),
    /** The order behind a purchase or cancellation. */
    source: z.string().optional(),
    orderId: z.string().optional(),
  }),
  'license.suspended': z.object({ licenseId: z.uuid(), previousStatus: licenseStatus }),
  /** The license's Stripe subscription as Stripe now says it is, and the tier it grants. */
  'subscription.updated': z.object({
    licenseId: z.uuid(),
    subscriptionId: z.string().nullable(),
    status: z.string().nullable(),
    tier,
    previousTier: tier,
    cancelAtPeriodEnd: z.boolean(),
    currentPeriodEnd: z.iso.datetime({ offset: true }).nullable(),
    /** past_due: when the tier drops to starter unless the payment succeeds first. */
    graceEndsAt: z.iso.datetime({ offset: true }).nullable(),
    reason: z.string(),
  }),
  /** A renewal payment failed (dunning: the owner is told to update the card before the grace ends). */
  'billing.payment_failed': z.object({
    licenseId: z.uuid(),
    email: z.string(),
    invoiceId: z.string(),
    amountDue: z.number().int(),
    currency: z.string(),
    attempt: z.number().int(),
    hostedInvoiceUrl: z.string().nullable(),
    graceEndsAt: z.iso.datetime({ offset: true }).nullable(),
  }),
  'conversation.created': z.object({
    conversationId: z.uuid(),
    product: z.enum(PRODUCTS),
    visitorId: z.uuid(),
    pageUrl: z.string().nullable(),
  }),
  'message.created': z.object({
    conversationId: z.uuid(),
    product: z.enum(PRODUCTS),
    message: z.object({
      id: z.uuid(),
      seq: z.number().int(),
      role: z.enum(['visitor', 'assistant', 'agent', 'system']),
      text: z.string(),
      clientMessageId: z.string().nullable(),
      sources: z.array(z.object({ url: z.string().nullable(), title: z.string() })),
      createdAt: z.iso.datetime({ offset: true }),
    }),
  }),
  'lead.created': z.object({ leadId: z.uuid(), product: z.enum(PRODUCTS), conversationId: z.uuid().nullable() }),
  /** Enrichment ran on a lead (a lead.created consumer): what it found, as GET /api/enrich answers it. */
  'lead.enriched': z.object({
    leadId: z.uuid(),
    product: z.enum(PRODUCTS),
    conversationId: z.uuid().nullable(),
    enrichment: z.record(z.string(), z.unknown()).openapi({ description: 'The EnrichResult of the lead (see POST /api/enrich)' }),
  }),
  /** The bot could not answer (below its confidence threshold, or the visitor asked for a person): a person should. */
  'conversation.waiting': z.object({
    conversationId: z.uuid(),
    product: z.enum(PRODUCTS),
    reason: z.enum(['unanswered', 'visitor_request', 'quota']),
  }),
  /** The owner or a teammate closed the conversation, or it closed itself after inactivity. */
  'conversation.closed': z.object({
    conversationId: z.uuid(),
    product: z.enum(PRODUCTS),
    by: z.enum(['owner', 'inactivity']),
  }),
  /** A closed or waiting conversation is open again (a new visitor message, or the owner reopened it). */
  'conversation.reopened': z.object({ conversationId: z.uuid(), product: z.enum(PRODUCTS) }),
  /** A visitor rated one of the bot's answers. A later rating of the same message replaces the earlier one. */
  'message.rated': z.object({
    conversationId: z.uuid(),
    product: z.enum(PRODUCTS),
    messageId: z.uuid(),
    rating: z.enum(['helpful', 'not_helpful']),
  }),
  /** A visitor's question the bot could not answer from the knowledge (collected as an unanswered question). */
  'question.unanswered': z.object({
    conversationId: z.uuid(),
    product: z.enum(PRODUCTS),
    messageId: z.uuid(),
    question: z.string(),
  }),
  /** An owner or admin invited someone (the invitation mail, sent in the same transaction, holds the one-time link). */
  'team.invitation.created': z.object({
    invitationId: z.uuid(),
    licenseId: z.uuid(),
    email: z.string(),
    role: z.enum(['admin', 'member']),
    expiresAt: z.iso.datetime({ offset: true }),
  }),
  /** A quota reached 80 % or 100 %, or its forecast runs out before the period ends: once per period each. */
  'usage.warning': z.object({
    quota: z.enum(['conversations', 'messages', 'aiReplies', 'apiCalls', 'enrichments', 'knowledgePages', 'products', 'seats']),
    level: z.enum(['80', '100', 'forecast']),
    used: z.number().int(),
    limit: z.number().int(),
    forecast: z.number().int(),
    periodStart: z.iso.datetime({ offset: true }),
    periodEnd: z.iso.datetime({ offset: true }),
    /** When the forecast says the quota runs out (level forecast), else null. */
    runsOutAt: z.iso.datetime({ offset: true }).nullable(),
    /** One line for a person: "conversations run out around the 23rd". */
    message: z.string(),
  }),
  /** A visitor's message was stored past a quota or cap, with no engine reply: a person should answer it. */
  'usage.limited': z.object({
    quota: z.enum(['conversations', 'messages', 'aiReplies', 'visitorCap']),
    conversationId: z.uuid(),
    messageId: z.uuid(),
    product: z.enum(PRODUCTS),
  }),
  /** An outbound webhook endpoint failed every delivery for three days and stopped receiving them. */
  'webhook_endpoint.disabled': z.object({
    endpointId: z.string(),
    url: z.string(),
    failingSince: z.iso.datetime({ offset: true }),
    reason: z.string(),
  }),
}

export type EventType = keyof typeof eventSchemas
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[]

export interface DomainEvent<T extends EventType = EventType> {
  id: string
  type: T
  licenseId: string | null
  createdAt: string
  data: EventData<T>
}

/** The envelope every event travels in, around its type's data. */
export function eventEnvelope<T extends EventType>(type: T) {
  return z.object({
    id: z.string().regex(/^evt_[0-9A-Za-z]{24}$/),
    type: z.literal(type),
    licenseId: z.uuid().nullable(),
    createdAt: z.iso.datetime({ offset: true }),
    data: eventSchemas[type],
  })
}

const componentName = (type: EventType): string =>
  `${type
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Event`

/** Publishes every event schema in the OpenAPI document's components, and their union as DomainEvent. */
export function registerEventSchemas(registry: OpenAPIHono['openAPIRegistry']): void {
  const envelopes = EVENT_TYPES.map((type) => registry.register(componentName(type), eventEnvelope(type)))
  registry.register(
    'DomainEvent',
    z.discriminatedUnion('type', envelopes as unknown as [ReturnType<typeof eventEnvelope>, ...ReturnType<typeof eventEnvelope>[]]),
  )
}

/**
 * Records an event in the caller's transaction: it exists exactly when the change does. The data is checked
 * against its schema, so a consumer never receives a shape the contract does not describe.
 */
export async function emit<T extends EventType>(db: Kysely<Database>, event: { type: T; licenseId: string | null; data: EventData<T> }): Promise<string> {
  const row = eventRow(event)
  await db.insertInto('events').values(row).execute()
  return row.id
}

/** The row `emit` inserts, checked against the event's schema, for a caller that writes it in a statement of its own. */
export function eventRow<T extends EventType>(event: { type: T; licenseId: string | null; data: EventData<T> }) {
  const data = eventSchemas[event.type].parse(event.data)
  return { id: newId('evt'), type: event.type as string, license_id: event.licenseId, data: JSON.stringify(data) }
}

export const toDomainEvent = (row: EventRow): DomainEvent =>
  ({ id: row.id, type: row.type, licenseId: row.license_id, createdAt: row.created_at.toISOString(), data: row.data }) as DomainEvent

/**
 * What a consumer's handler gets beside the event: its job, and `once`, which runs a read once for all the events of
 * the job (a dispatcher pass's batch, or the one event of a retry). Every event of a batch was committed before the
 * batch started, so a read made once at its start sees what a read per event would have seen for each of them.
 */
export interface ConsumerContext extends JobContext {
  once<T>(key: string, read: () => Promise<T>): Promise<T>
}

const onceWithin = (): ConsumerContext['once'] => {
  const reads = new Map<string, Promise<unknown>>()
  return <T>(key: string, read: () => Promise<T>) => {
    let r = reads.get(key) as Promise<T> | undefined
    if (!r) {
      r = read()
      reads.set(key, r)
      // A failed read is not kept: the next event of the batch reads again.
      r.catch(() => reads.delete(key))
    }
    return r
  }
}

type Consumer = {
  type: EventType
  job: string
  handle: (event: DomainEvent, job: ConsumerContext) => Promise<void>
  /** The licenses among these the consumer has work for (ConsumerOptions). */
  interestedIn?: ConsumerOptions['interestedIn']
  /** A consumer registered with onEvents: the pass's events together. */
  handleAll?: (events: DomainEvent[], job: ConsumerContext) => Promise<void>
}

/** How many committed events one dispatcher pass hands out. */
const DISPATCH_BATCH = 200
/** Dispatched events are kept this long (message events repeat message text), then pruned hourly. */
const KEEP_DISPATCHED_MS = 30 * 24 * 3600_000
const PRUNE_EVERY_MS = 3600_000

/** The job that hands one dispatcher pass's events to one consumer, in order (claimed only where it is registered). */
export const batchJobOf = (consumerJob: string): string => `batch.${consumerJob}`
interface BatchPayload {
  eventIds: string[]
  /** Each event's license (null: none), for a consumer that says which licenses it has work for. */
  licenseIds?: (string | null)[]
}

export interface ConsumerOptions {
  /**
   * The licenses among `licenseIds` this consumer has any work for right now (outbound webhooks: those with an
   * enabled endpoint). A batch's events of other licenses are not even read; events without a license always are.
   * Asked when the batch runs, so it sees what holds then, as the handler would.
   */
  interestedIn?: (licenseIds: string[]) => Promise<ReadonlySet<string>>
}

/**
 * The consumer registry and the dispatcher. A dispatcher pass claims up to DISPATCH_BATCH committed events (SKIP
 * LOCKED, so two workers never hand out the same event twice), marks them dispatched and, in that transaction,
 * enqueues one job per consumer holding that consumer's events of the pass (`batch.event.<name>`): a busy conversation
 * costs the outbox a handful of jobs per pass instead of one job per event per consumer. The batch runs its events
 * in order; an event whose handler throws is handed to a job of its own (`event.<name>`, one event, with that job's
 * retries), so one bad event neither blocks nor repeats the others. Consumers must be idempotent either way: a
 * worker that dies mid-batch leaves the whole batch to run again (at least once, as every job).
 */
export class Events {
  private consumers = new Map<EventType, Consumer[]>()
  private prunedAt = Number.NEGATIVE_INFINITY

  constructor(
    private db: Db,
    private jobs: Jobs,
  ) {
    jobs.addTick(() => this.dispatch(), { batch: DISPATCH_BATCH })
  }

  /** `name` is the consumer's stable identity (its job name): usage metering, outbound webhooks, enrichment… */
  onEvent<T extends EventType>(
    type: T,
    name: string,
    handle: (event: DomainEvent<T>, job: ConsumerContext) => Promise<void>,
    options: ConsumerOptions = {},
  ): void {
    const consumer: Consumer = { type, job: `event.${name}`, handle: handle as Consumer['handle'], ...options }
    // One event on its own: the retry path of an event its batch could not handle.
    this.jobs.register<{ eventId: string }>(consumer.job, {
      run: async ({ eventId }, job) => {
        const row = await this.db.selectFrom('events').selectAll().where('id', '=', eventId).executeTakeFirst()
        if (row) await consumer.handle(toDomainEvent(row), { ...job, once: onceWithin() })
      },
    })
    this.jobs.register<BatchPayload>(batchJobOf(consumer.job), { run: (payload, job) => this.runBatch(consumer, payload, job) })
    this.consumers.set(type, [...(this.consumers.get(type) ?? []), consumer])
  }

  /**
   * A consumer that handles a pass's events of its type all at once, in seq order (aggregating them in a few
   * statements instead of a transaction per event). When it throws, each event of the batch gets a job of its own
   * that hands it over alone, with that job's retries: the handler must be all or nothing (one transaction).
   */
  onEvents<T extends EventType>(
    type: T,
    name: string,
    handleAll: (events: DomainEvent<T>[], job: ConsumerContext) => Promise<void>,
    options: ConsumerOptions = {},
  ): void {
    this.onEvent(type, name, (event, job) => handleAll([event], job), options)
    const consumer = this.consumers.get(type)?.at(-1) as Consumer
    consumer.handleAll = handleAll as Consumer['handleAll']
  }

  private async runBatch(consumer: Consumer, { eventIds: all, licenseIds }: BatchPayload, job: JobContext): Promise<void> {
    let eventIds = all
    if (consumer.interestedIn && licenseIds?.length === all.length) {
      const wanted = await consumer.interestedIn([...new Set(licenseIds.filter((l): l is string => l !== null))])
      eventIds = all.filter((_, i) => {
        const license = licenseIds[i]
        return license === null || license === undefined || wanted.has(license)
      })
      if (eventIds.length === 0) return
    }
    // One statement text whatever the batch's size (an `in` list of n parameters is a text, and a plan, per n).
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where(sql<boolean>`id = any(${pgArray(eventIds)}::text[])`)
      .orderBy('seq')
      .execute()
    const context: ConsumerContext = { ...job, once: onceWithin() }
    if (consumer.handleAll) {
      try {
        await consumer.handleAll(rows.map(toDomainEvent), context)
      } catch (err) {
        if (job.signal.aborted) throw new Error('batch abandoned: the job lease was lost')
        // Chosen as a deadlock's victim, the batch did nothing wrong (and, all or nothing, did nothing at all): it runs
        // again whole, with the job's retries. Split, it would cost a job and a transaction per event.
        if (isDeadlock(err) && job.attempt < job.maxAttempts) throw err
        for (const row of rows) await enqueue(this.db, consumer.job, { eventId: row.id }, { dedupeKey: `${consumer.job}:${row.id}` })
      }
      return
    }
    for (const row of rows) {
      if (job.signal.aborted) throw new Error('batch abandoned: the job lease was lost')
      try {
        await consumer.handle(toDomainEvent(row), context)
      } catch {
        await enqueue(this.db, consumer.job, { eventId: row.id }, { dedupeKey: `${consumer.job}:${row.id}` })
      }
    }
  }

  /** One pass: committed, undispatched events become consumer jobs. Resolves to the number of events handed out. */
  async dispatch(): Promise<number> {
    await this.prune()
    const claim = (db: Kysely<Database>) =>
      sql<{ id: string; type: EventType; license_id: string | null }>`
        update events set dispatched_at = now()
        where id in (select id from events where dispatched_at is null order by created_at limit ${DISPATCH_BATCH} for update skip locked)
        returning id, type, license_id`.execute(db)
    // Nobody listens yet: one statement marks the batch, no transaction needed.
    if (this.consumers.size === 0) return (await claim(this.db)).rows.length
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await claim(trx)
      const batches = new Map<string, BatchPayload>()
      for (const row of rows) {
        for (const c of this.consumers.get(row.type) ?? []) {
          let batch = batches.get(c.job)
          if (!batch) {
            batch = c.interestedIn ? { eventIds: [], licenseIds: [] } : { eventIds: [] }
            batches.set(c.job, batch)
          }
          batch.eventIds.push(row.id)
          batch.licenseIds?.push(row.license_id)
        }
      }
      for (const [consumer, payload] of batches) await enqueue(trx, batchJobOf(consumer), payload)
      return rows.length
    })
  }

  private async prune(): Promise<void> {
    const now = performance.now()
    if (now - this.prunedAt < PRUNE_EVERY_MS) return
    this.prunedAt = now
    await this.pruneDispatched()
  }

  /**
   * Deletes up to 1,000 events dispatched and older than the retention (the records consumers keep of them go too, by
   * trigger); resolves to how many. Runs hourly from the dispatcher.
   */
  async pruneDispatched(): Promise<number> {
    const { numAffectedRows } = await sql`
      delete from events where id in (
        select id from events
        where created_at < now() - ${KEEP_DISPATCHED_MS} * interval '1 millisecond' and dispatched_at is not null limit 1000
      )`.execute(this.db)
    return Number(numAffectedRows ?? 0)
  }
}
