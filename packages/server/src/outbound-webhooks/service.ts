// Outbound webhooks: endpoints a license registers, fan-out of every domain event to the endpoints subscribed
// to it (one durable delivery job per event and endpoint), signed POSTs through the one outbound client, the
// retry schedule, and disabling an endpoint that has failed for three days. docs/webhooks.md has the decisions.
import { sql } from 'kysely'
import type { Deps } from '../platform/context.js'
import { randomBase62 } from '../platform/crypto.js'
import { pgArray } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { type ConsumerContext, type DomainEvent, EVENT_TYPES, type Events, type EventType, emit } from '../platform/events.js'
import { newId } from '../platform/ids.js'
import { enqueue, type Jobs } from '../platform/jobs.js'
import { OutboundError } from '../platform/outbound.js'
import { type ConnectionReport, startProbe } from '../platform/probe.js'
import { decryptSecret, encryptSecret, SecretDecryptError } from '../platform/secrets.js'
import { SIGNATURE_HEADER, signIntelagent } from '../platform/signature.js'
import { appDb, type DeliveryRow, deliveryOf, type EndpointRow, endpointOf, type WebhookDb, wdb } from './store.js'

export const DELIVER_JOB = 'webhook.deliver'
const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** Delay before each retry: 11 retries over about 3 days and 3 hours, then the delivery is failed. */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  MINUTE,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
  12 * HOUR,
  12 * HOUR,
  12 * HOUR,
  12 * HOUR,
]
/** An endpoint whose every attempt failed for this long is disabled. */
export const DISABLE_AFTER_MS = 3 * 24 * HOUR
/** After a rotation the old secret keeps signing (a second v1) this long. */
export const PREVIOUS_SECRET_TTL_MS = 24 * HOUR
export const ATTEMPT_TIMEOUT_MS = 10_000
export const MAX_ENDPOINTS_PER_LICENSE = 20
export const USER_AGENT = 'Intelagent-Webhooks/1.0'

export type PayloadType = EventType | 'ping'

/** What one attempt found out, step by step: the "test connection" answer and the delivery log's row. */
export type AttemptResult = ConnectionReport

const newSecret = (): string => `whsec_${randomBase62(32)}`
const aad = (ep: Pick<EndpointRow, 'id' | 'license_id'>): string => `${ep.license_id}/webhook_endpoint/${ep.id}`

export class OutboundWebhooks {
  /** Delays between attempts (RETRY_SCHEDULE_MS); an instance property so tests can shorten it. */
  retryScheduleMs: readonly number[] = RETRY_SCHEDULE_MS
  private readonly db: WebhookDb

  constructor(
    private deps: Deps,
    jobs: Jobs,
    events: Events,
  ) {
    this.db = wdb(deps.db)
    jobs.register<{ deliveryId: string }>(DELIVER_JOB, {
      run: ({ deliveryId }) => this.deliver(deliveryId),
      retryDelayMs: (attempt) => this.retryScheduleMs[Math.min(attempt, this.retryScheduleMs.length) - 1] ?? MINUTE,
      onDead: async (trx, { deliveryId }, error) => {
        await wdb(trx)
          .updateTable('webhook_deliveries')
          .set({ status: 'failed', last_error: error.slice(0, 1000), updated_at: new Date(this.deps.clock.now()) })
          .where('id', '=', deliveryId)
          .where('status', '=', 'pending')
          .execute()
      },
    })
    // A batch of events whose licenses have no enabled endpoint (most licenses, most of the time) is not even read.
    const interestedIn = async (licenseIds: string[]) => {
      const rows = await this.db
        .selectFrom('webhook_endpoints')
        .select('license_id')
        .distinct()
        .where(sql<boolean>`license_id = any(${pgArray(licenseIds)}::uuid[])`)
        .where('enabled', '=', true)
        .execute()
      return new Set(rows.map((r) => r.license_id))
    }
    for (const type of EVENT_TYPES) events.onEvent(type, `webhooks.${type}`, (event, job) => this.fanOut(event, job), { interestedIn })
  }

  /** Attempts a delivery gets: the first and one per scheduled retry. */
  get maxAttempts(): number {
    return this.retryScheduleMs.length + 1
  }

  // ---- endpoints ----

  /** Refuses a URL the outbound client would refuse; a name that does not resolve yet is accepted (each attempt checks again). */
  async assertUrl(url: string): Promise<void> {
    try {
      await this.deps.outbound.checkUrl(url)
    } catch (err) {
      if (err instanceof OutboundError && err.code === 'network') return
      if (err instanceof OutboundError && err.code === 'url_not_allowed') {
        const why = err.resolvedAddress === undefined ? err.message : 'its host resolves to a loopback, private, link-local or otherwise non-public address'
        throw new AppError('url_not_allowed', `url: must be a public http(s) URL (${why})`)
      }
      throw err
    }
  }

  async create(
    licenseId: string,
    input: { url: string; events: EventType[]; description?: string | null },
  ): Promise<{ endpoint: EndpointRow; secret: string }> {
    await this.assertUrl(input.url)
    const count = await this.db
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('license_id', '=', licenseId)
      .executeTakeFirstOrThrow()
    if (Number(count.n) >= MAX_ENDPOINTS_PER_LICENSE)
      throw new AppError('conflict', `A license may have at most ${MAX_ENDPOINTS_PER_LICENSE} webhook endpoints; delete one first`)
    const id = newId('we')
    const secret = newSecret()
    const now = new Date(this.deps.clock.now())
    const endpoint = await this.db
      .insertInto('webhook_endpoints')
      .values({
        id,
        license_id: licenseId,
        url: input.url,
        events: JSON.stringify([...new Set(input.events)]),
        description: input.description ?? null,
        secret_ciphertext: encryptSecret(this.deps.config.encryptionKeys, secret, aad({ id, license_id: licenseId })),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return { endpoint, secret }
  }

  list(licenseId: string): Promise<EndpointRow[]> {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('license_id', '=', licenseId).orderBy('created_at').orderBy('id').execute()
  }

  async get(licenseId: string, id: string): Promise<EndpointRow> {
    const ep = await endpointOf(this.db, licenseId, id)
    if (!ep) throw notFound('Webhook endpoint')
    return ep
  }

  async update(licenseId: string, id: string, patch: { url?: string; events?: EventType[]; enabled?: boolean; description?: string | null }) {
    await this.get(licenseId, id)
    if (patch.url !== undefined) await this.assertUrl(patch.url)
    const ep = await this.db
      .updateTable('webhook_endpoints')
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.events !== undefined ? { events: JSON.stringify([...new Set(patch.events)]) } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        // Enabling again starts a fresh failure window.
        ...(patch.enabled === true ? { enabled: true, disabled_reason: null, failing_since: null } : {}),
        ...(patch.enabled === false ? { enabled: false, disabled_reason: 'Disabled by the owner' } : {}),
        updated_at: new Date(this.deps.clock.now()),
      })
      .where('id', '=', id)
      .where('license_id', '=', licenseId)
      .returningAll()
      .executeTakeFirst()
    if (!ep) throw notFound('Webhook endpoint')
    return ep
  }

  async remove(licenseId: string, id: string): Promise<void> {
    const r = await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).where('license_id', '=', licenseId).executeTakeFirst()
    if (Number(r.numDeletedRows) === 0) throw notFound('Webhook endpoint')
  }

  /** A new secret, shown once; the current one keeps signing beside it for PREVIOUS_SECRET_TTL_MS. */
  async rotate(licenseId: string, id: string): Promise<{ endpoint: EndpointRow; secret: string }> {
    const ep = await this.get(licenseId, id)
    const secret = newSecret()
    const now = this.deps.clock.now()
    const endpoint = await this.db
      .updateTable('webhook_endpoints')
      .set({
        secret_ciphertext: encryptSecret(this.deps.config.encryptionKeys, secret, aad(ep)),
        previous_secret_ciphertext: ep.secret_ciphertext,
        previous_secret_expires_at: new Date(now + PREVIOUS_SECRET_TTL_MS),
        updated_at: new Date(now),
      })
      .where('id', '=', id)
      .where('license_id', '=', licenseId)
      // Two rotations at once: the second finds the secret changed and loses, rather than dropping one.
      .where('secret_ciphertext', '=', ep.secret_ciphertext)
      .returningAll()
      .executeTakeFirst()
    if (!endpoint) throw new AppError('conflict', 'The secret was rotated by another request at the same time; try again', { retry: true })
    return { endpoint, secret }
  }

  /** The secrets that sign now: the current one, and the previous one until it expires. */
  private secretsOf(ep: EndpointRow): string[] {
    const keys = this.deps.config.encryptionKeys
    const open = (stored: string) => {
      try {
        return decryptSecret(keys, stored, aad(ep))
      } catch (err) {
        if (err instanceof SecretDecryptError)
          throw new AppError('not_configured', 'The endpoint secret cannot be decrypted with the configured ENCRYPTION_KEYS; rotate it')
        throw err
      }
    }
    const secrets = [open(ep.secret_ciphertext)]
    const prevUntil = ep.previous_secret_expires_at?.getTime()
    if (ep.previous_secret_ciphertext && prevUntil !== undefined && prevUntil > this.deps.clock.now()) secrets.push(open(ep.previous_secret_ciphertext))
    return secrets
  }

  // ---- delivery ----

  static body(event: { id: string; type: PayloadType; createdAt: string | number; data: unknown }): string {
    const created = Math.floor(new Date(event.createdAt).getTime() / 1000)
    return JSON.stringify({ id: event.id, type: event.type, created, data: event.data })
  }

  /** The event consumer: one delivery and one durable job per endpoint of the event's license subscribed to its type. */
  private async fanOut(event: DomainEvent, job: ConsumerContext): Promise<void> {
    const licenseId = event.licenseId
    if (!licenseId) return
    // Read once per license for all the events of the batch (a busy license sends many per pass).
    const enabled = await job.once(`endpoints:${licenseId}`, () =>
      this.db.selectFrom('webhook_endpoints').selectAll().where('license_id', '=', licenseId).where('enabled', '=', true).execute(),
    )
    const endpoints = enabled.filter((ep) => ep.events.includes(event.type))
    if (endpoints.length === 0) return
    const body = OutboundWebhooks.body(event)
    const now = new Date(this.deps.clock.now())
    await this.db.transaction().execute(async (trx) => {
      for (const ep of endpoints) {
        const row = await trx
          .insertInto('webhook_deliveries')
          .values({
            id: newId('wd'),
            endpoint_id: ep.id,
            license_id: licenseId,
            event_id: event.id,
            event_type: event.type,
            body,
            created_at: now,
            updated_at: now,
          })
          // The consumer ran before (a retry): that run's delivery and its job stand.
          .onConflict((oc) => oc.columns(['event_id', 'endpoint_id']).doNothing())
          .returning('id')
          .executeTakeFirst()
        if (row) await this.enqueueDelivery(trx, row.id)
      }
    })
  }

  private enqueueDelivery(trx: WebhookDb, deliveryId: string): Promise<string | null> {
    return enqueue(appDb(trx), DELIVER_JOB, { deliveryId }, { dedupeKey: `${DELIVER_JOB}:${deliveryId}`, maxAttempts: this.maxAttempts })
  }

  /** One signed POST: never throws, says what happened. */
  async send(ep: EndpointRow, body: string, eventId: string, type: string): Promise<AttemptResult> {
    const probe = startProbe(this.deps.outbound)
    let header: string
    try {
      const t = Math.floor(this.deps.clock.now() / 1000)
      const [current, ...older] = this.secretsOf(ep)
      // t=…,v1=<current>[,v1=<previous>]: a receiver holding either secret verifies during the overlap.
      header = [signIntelagent(current as string, body, t), ...older.map((s) => signIntelagent(s, body, t).split(',')[1])].join(',')
    } catch (err) {
      const e = err as AppError
      return probe.report({ code: e.code === 'not_configured' ? 'not_configured' : 'internal_error', message: e.message })
    }
    try {
      const res = await probe.outbound.request(ep.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          [SIGNATURE_HEADER]: header,
          'x-intelagent-event-id': eventId,
          'x-intelagent-event-type': type,
        },
        body,
        timeoutMs: ATTEMPT_TIMEOUT_MS,
      })
      await probe.skim(res)
      // A redirect after a POST may turn into a GET without the body: the endpoint's URL needs updating instead.
      const redirected = res.url !== new URL(ep.url).href
      return probe.report(
        redirected
          ? { code: 'redirected', message: `Redirected to ${res.url}: webhooks count a redirect as a failure; set the endpoint URL to the final address` }
          : !res.ok
            ? { code: 'http_status', message: `The endpoint answered HTTP ${res.status}` }
            : null,
      )
    } catch {
      // The probe recorded the transport failure and reports it.
      return probe.report(null)
    }
  }

  /** Records an attempt on its delivery and the endpoint's failure window; returns the endpoint's failing_since. */
  private async record(delivery: DeliveryRow, result: AttemptResult, final: DeliveryRow['status'] | null, countsForEndpoint = true): Promise<Date | null> {
    const now = new Date(this.deps.clock.now())
    this.deps.metrics.webhookDeliveries.inc({ outcome: result.ok ? 'succeeded' : (final ?? 'retrying') })
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: delivery.id,
          status_code: result.statusCode,
          latency_ms: result.latencyMs,
          response_excerpt: result.responseExcerpt,
          error: result.error ? `${result.error.code}: ${result.error.message}`.slice(0, 1000) : null,
          created_at: now,
        })
        .execute()
      await trx
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          status: result.ok ? 'succeeded' : (final ?? 'pending'),
          last_error: result.error ? `${result.error.code}: ${result.error.message}`.slice(0, 1000) : null,
          updated_at: now,
        }))
        .where('id', '=', delivery.id)
        .execute()
      if (!countsForEndpoint) return null
      const ep = await trx
        .updateTable('webhook_endpoints')
        .set((eb) => ({ failing_since: result.ok ? null : eb.fn.coalesce('failing_since', eb.val(now)) }))
        .where('id', '=', delivery.endpoint_id)
        .returning('failing_since')
        .executeTakeFirst()
      return ep?.failing_since ?? null
    })
  }

  /** The delivery job: one attempt; a failure throws so the job retries on the schedule. */
  private async deliver(deliveryId: string): Promise<void> {
    const delivery = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst()
    if (!delivery || delivery.status === 'succeeded') return
    const ep = await this.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', delivery.endpoint_id).executeTakeFirst()
    if (!ep) return
    if (!ep.enabled) {
      await this.db
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', last_error: 'endpoint_disabled: the endpoint is disabled', updated_at: new Date(this.deps.clock.now()) })
        .where('id', '=', deliveryId)
        .execute()
      return
    }
    const result = await this.send(ep, delivery.body, delivery.event_id, delivery.event_type)
    const failingSince = await this.record(delivery, result, null)
    if (result.ok) return
    if (failingSince && this.deps.clock.now() - failingSince.getTime() >= DISABLE_AFTER_MS) {
      await this.disable(ep, failingSince, deliveryId)
      return
    }
    throw new Error(result.error ? `${result.error.code}: ${result.error.message}` : 'delivery failed')
  }

  private async disable(ep: EndpointRow, failingSince: Date, deliveryId: string): Promise<void> {
    const reason = `Every delivery failed for ${Math.round(DISABLE_AFTER_MS / HOUR)} hours`
    const now = new Date(this.deps.clock.now())
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('webhook_deliveries').set({ status: 'failed', updated_at: now }).where('id', '=', deliveryId).execute()
      const r = await trx
        .updateTable('webhook_endpoints')
        .set({ enabled: false, disabled_reason: reason, updated_at: now })
        .where('id', '=', ep.id)
        .where('enabled', '=', true)
        .executeTakeFirst()
      // Once, by whichever failing delivery got there first.
      if (Number(r.numUpdatedRows) === 1)
        await emit(appDb(trx), {
          type: 'webhook_endpoint.disabled',
          licenseId: ep.license_id,
          data: { endpointId: ep.id, url: ep.url, failingSince: failingSince.toISOString(), reason },
        })
    })
    this.deps.logger.warn('webhooks: endpoint disabled after failing continuously', { endpoint: ep.id, license: ep.license_id })
  }

  /** "Send a test event": a `ping` delivered now, logged like any delivery, and what happened. */
  async test(licenseId: string, id: string): Promise<AttemptResult & { deliveryId: string }> {
    const ep = await this.get(licenseId, id)
    const eventId = newId('evt')
    const now = this.deps.clock.now()
    const body = OutboundWebhooks.body({ id: eventId, type: 'ping', createdAt: now, data: { endpointId: ep.id, message: 'A test event from Intelagent' } })
    const delivery = await this.db
      .insertInto('webhook_deliveries')
      .values({
        id: newId('wd'),
        endpoint_id: ep.id,
        license_id: licenseId,
        event_id: eventId,
        event_type: 'ping',
        body,
        created_at: new Date(now),
        updated_at: new Date(now),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    const result = await this.send(ep, body, eventId, 'ping')
    // A test is not a delivery the endpoint owes us: it neither retries nor counts toward disabling.
    await this.record(delivery, result, 'failed', false)
    return { ...result, deliveryId: delivery.id }
  }

  /** Sends a delivery again from the first attempt of a fresh schedule (or now, if it is already waiting for a retry). */
  async redeliver(licenseId: string, deliveryId: string): Promise<DeliveryRow> {
    const delivery = await deliveryOf(this.db, licenseId, deliveryId)
    if (!delivery) throw notFound('Webhook delivery')
    const ep = await endpointOf(this.db, licenseId, delivery.endpoint_id)
    if (!ep?.enabled) throw new AppError('conflict', 'The endpoint is disabled: enable it before redelivering')
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', updated_at: new Date(this.deps.clock.now()) })
        .where('id', '=', deliveryId)
        .returningAll()
        .executeTakeFirstOrThrow()
      const job = await this.enqueueDelivery(trx, deliveryId)
      if (job === null)
        await trx
          .updateTable('jobs')
          .set({ run_at: sql<Date>`now()` })
          .where('dedupe_key', '=', `${DELIVER_JOB}:${deliveryId}`)
          .where('status', '=', 'queued')
          .execute()
      return row
    })
  }

  /** Redelivers every failed delivery of an endpoint (at most 1000 a call); resolves to how many. */
  async redeliverFailed(licenseId: string, endpointId: string): Promise<number> {
    const ep = await this.get(licenseId, endpointId)
    if (!ep.enabled) throw new AppError('conflict', 'The endpoint is disabled: enable it before redelivering')
    const failed = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('endpoint_id', '=', endpointId)
      .where('status', '=', 'failed')
      .where('event_type', '!=', 'ping')
      .orderBy('created_at')
      .limit(1000)
      .execute()
    if (failed.length === 0) return 0
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', updated_at: new Date(this.deps.clock.now()) })
        .where(
          'id',
          'in',
          failed.map((f) => f.id),
        )
        .execute()
      for (const f of failed) await this.enqueueDelivery(trx, f.id)
    })
    return failed.length
  }

  /** An endpoint's deliveries, newest first, each with its attempts (keyset pagination). */
  async deliveries(licenseId: string, endpointId: string, opts: { limit: number; cursor?: string; status?: DeliveryRow['status'] }) {
    await this.get(licenseId, endpointId)
    let q = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpointId)
      .where('license_id', '=', licenseId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(opts.limit + 1)
    if (opts.status) q = q.where('status', '=', opts.status)
    if (opts.cursor) {
      const [at, id] = decodeCursor(opts.cursor)
      q = q.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]))
    }
    const rows = await q.execute()
    const page = rows.slice(0, opts.limit)
    const attempts =
      page.length === 0
        ? []
        : await this.db
            .selectFrom('webhook_attempts')
            .selectAll()
            .where(
              'delivery_id',
              'in',
              page.map((d) => d.id),
            )
            .orderBy('id')
            .execute()
    const last = page.at(-1)
    return {
      data: page.map((d) => ({ delivery: d, attempts: attempts.filter((a) => a.delivery_id === d.id) })),
      nextCursor: rows.length > opts.limit && last ? encodeCursor(last.created_at, last.id) : null,
    }
  }
}

const encodeCursor = (at: Date, id: string): string => Buffer.from(`${at.toISOString()}|${id}`).toString('base64url')

function decodeCursor(cursor: string): [Date, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|')
  const date = new Date(at ?? '')
  if (!id || Number.isNaN(date.getTime())) throw new AppError('validation_failed', 'cursor: not a cursor this endpoint returned')
  return [date, id]
}
