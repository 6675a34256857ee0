// The events outbox through the real routes: each change writes its event in its own transaction (a rolled-back
// change writes none), each event's data matches its published schema, and a consumer hears each event once
// even with two instances' workers dispatching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer, uniqueEmail } from '../../test/fixtures.js'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { hashPassword } from '../account/password.js'
import { adb } from '../analytics/store.js'
import { appendMessage } from '../conversations/service.js'
import { issueLicense } from '../licenses/queries.js'
import { type DomainEvent, EVENT_TYPES, emit, eventEnvelope, toDomainEvent } from './events.js'

const ORIGIN = 'https://shop.example.com'

describe('domain events', () => {
  let store: TestStore
  let a: TestApp
  let b: TestApp
  let adminToken: string

  const eventsOf = async (licenseId: string) =>
    (await a.deps.db.selectFrom('events').selectAll().where('license_id', '=', licenseId).orderBy('created_at').orderBy('id').execute()).map(toDomainEvent)

  /** A visitor of `key` starts a conversation, sends `count` messages and leaves a lead. */
  const visit = async (key: string, count: number) => {
    const headers = { 'x-product-key': key, origin: ORIGIN }
    const started = (await (await a.request('/api/widget/conversations', { method: 'POST', headers, json: { pageUrl: `${ORIGIN}/pricing` } })).json()) as {
      conversation: { id: string }
      visitorToken: string
    }
    for (let i = 0; i < count; i++) {
      const res = await a.request(`/api/widget/conversations/${started.conversation.id}/messages`, {
        method: 'POST',
        headers,
        token: started.visitorToken,
        json: { clientMessageId: `m${i}`, text: `question ${i}` },
      })
      expect(res.status).toBe(201)
    }
    const lead = await a.request('/api/widget/leads', {
      method: 'POST',
      headers,
      token: started.visitorToken,
      json: { conversationId: started.conversation.id, name: 'Ada', email: 'ada@example.com', consent: true },
    })
    expect(lead.status).toBe(201)
    return started.conversation.id
  }

  /** Three new licenses' suspension events, emitted in one transaction: one dispatcher pass hands them out as one batch. */
  const suspendThree = async (tag: string, beforeEmit: (ids: string[]) => void = () => {}) => {
    const issued = await Promise.all(
      [0, 1, 2].map((i) =>
        issueLicense(a.deps.db, { source: 'cli', orderId: `${tag}-${i}-${Date.now()}`, email: uniqueEmail(), products: ['chatbot'], tier: 'starter' }),
      ),
    )
    const ids = issued.map((r) => r.license.id)
    beforeEmit(ids)
    await a.deps.db.transaction().execute(async (trx) => {
      for (const licenseId of ids) await emit(trx, { type: 'license.suspended', licenseId, data: { licenseId, previousStatus: 'active' } })
    })
    return ids
  }

  beforeAll(async () => {
    store = await createStore()
    a = await createTestApp({ store })
    b = await createTestApp({ store, sharedDeps: a.deps })
    const admin = uniqueEmail('ops')
    await a.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', a.config.scryptLogN), role: 'admin' })
      .execute()
    const login = await a.request('/api/auth/login', { method: 'POST', json: { email: admin, password: 'operator password' } })
    adminToken = ((await login.json()) as { token: string }).token
  })
  afterAll(async () => {
    await b.shutdown()
    await a.shutdown()
    await store.drop()
  })

  it('writes an event for each change, in the change’s transaction, whose data matches its schema', async () => {
    const owner = await newCustomer(a)
    const key = (await configure(a, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const conversationId = await visit(key, 2)
    for (const status of ['suspended', 'active'] as const) {
      const res = await a.request(`/api/admin/licenses/${owner.licenseId}/status`, { method: 'POST', token: adminToken, json: { status } })
      expect(res.status).toBe(200)
    }

    const events = await eventsOf(owner.licenseId)
    for (const e of events) {
      expect(eventEnvelope(e.type).safeParse(e).success, `${e.type}: ${JSON.stringify(e)}`).toBe(true)
      expect(e.licenseId).toBe(owner.licenseId)
    }
    const types = events.map((e) => e.type)
    // Greeting, two visitor messages and two knowledge answers: honest ones (this license has no knowledge), so the
    // first moves the conversation to waiting and both questions are collected as unanswered.
    expect(types.filter((t) => t === 'message.created')).toHaveLength(5)
    // Events of one transaction share its created_at, so their order among themselves is not defined.
    const lifecycle = new Set(['conversation.waiting', 'question.unanswered'])
    expect(types.filter((t) => lifecycle.has(t)).sort()).toEqual(['conversation.waiting', 'question.unanswered', 'question.unanswered'])
    // lead.enriched comes from the lead.created consumer, a job of its own: whether it ran yet is not ordered here.
    expect(types.filter((t) => t === 'lead.enriched').length).toBeLessThanOrEqual(1)
    expect(types.filter((t) => t !== 'message.created' && t !== 'lead.enriched' && !lifecycle.has(t))).toEqual([
      'license.created',
      'license.updated',
      'conversation.created',
      'lead.created',
      'license.suspended',
      'license.updated',
    ])
    const byType = <T extends DomainEvent['type']>(t: T) => events.filter((e) => e.type === t) as DomainEvent<T>[]
    expect(byType('license.updated').map((e) => e.data.changes)).toEqual([['claimed'], ['status']])
    expect(byType('license.suspended')[0]?.data).toEqual({ licenseId: owner.licenseId, previousStatus: 'active' })
    expect(byType('conversation.created')[0]?.data).toMatchObject({ conversationId, product: 'chatbot', pageUrl: `${ORIGIN}/pricing` })
    expect(byType('message.created').map((e) => e.data.message.text)).toContain('question 1')
    expect(byType('lead.created')[0]?.data).toMatchObject({ product: 'chatbot', conversationId })
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    expect(events.every((e) => /^evt_[0-9A-Za-z]{24}$/.test(e.id))).toBe(true)
  })

  it('writes no event when the change rolls back', async () => {
    const owner = await newCustomer(a)
    const key = (await configure(a, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const conversationId = await visit(key, 0)
    const before = (await eventsOf(owner.licenseId)).length
    const rows = () => a.deps.db.selectFrom('messages').select('id').where('conversation_id', '=', conversationId).execute()
    const messagesBefore = (await rows()).length
    // Whatever else the message's transaction holds fails: the message and its event go together.
    await expect(
      appendMessage(a.deps, { licenseId: owner.licenseId, conversationId, product: 'chatbot', role: 'agent', text: 'never stored' }, async () => {
        throw new Error('the job could not be enqueued')
      }),
    ).rejects.toThrow('the job could not be enqueued')
    // An order whose issuance fails after its event was written.
    await expect(
      a.deps.db.transaction().execute(async (trx) => {
        await emit(trx, { type: 'lead.created', licenseId: owner.licenseId, data: { leadId: crypto.randomUUID(), product: 'chatbot', conversationId: null } })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    // A refused status change (unknown license) and a refused event (data off its schema) write nothing either.
    const missing = await a.request('/api/admin/licenses/00000000-0000-4000-8000-000000000000/status', {
      method: 'POST',
      token: adminToken,
      json: { status: 'suspended' },
    })
    expect(missing.status).toBe(404)
    await expect(
      emit(a.deps.db, { type: 'lead.created', licenseId: owner.licenseId, data: { leadId: 'not-a-uuid', product: 'chatbot', conversationId: null } }),
    ).rejects.toThrow()
    expect((await eventsOf(owner.licenseId)).length).toBe(before)
    expect((await rows()).length).toBe(messagesBefore)
  })

  it('hands each event to a consumer once, with two instances dispatching', async () => {
    const heard = new Map<string, number>()
    const licenses = new Set<string>()
    for (const app of [a, b]) {
      app.events.onEvent('license.created', 'test-counter', async (event) => {
        heard.set(event.id, (heard.get(event.id) ?? 0) + 1)
        licenses.add(event.data.licenseId)
      })
    }
    const issued = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        issueLicense(i % 2 ? a.deps.db : b.deps.db, {
          source: 'cli',
          orderId: `evt-${i}-${Date.now()}`,
          email: uniqueEmail(),
          products: ['chatbot'],
          tier: 'starter',
        }),
      ),
    )
    await Promise.all([a.jobs.idle(), b.jobs.idle()])
    const ids = new Set(issued.map((r) => r.license.id))
    const created = await a.deps.db
      .selectFrom('events')
      .select('id')
      .where('type', '=', 'license.created')
      .where('license_id', 'in', [...ids])
      .execute()
    expect(created).toHaveLength(40)
    for (const e of created) expect(heard.get(e.id), e.id).toBe(1)
    expect([...ids].every((id) => licenses.has(id))).toBe(true)
    // Every consumer job finished; each event was in exactly one batch (a pass hands a consumer its events at once).
    const jobs = await a.deps.db.selectFrom('jobs').select(['status', 'payload']).where('name', '=', 'batch.event.test-counter').execute()
    const batched = jobs.flatMap((j) => (j.payload as { eventIds: string[] }).eventIds).filter((id) => created.some((e) => e.id === id))
    expect(batched.sort()).toEqual(created.map((e) => e.id).sort())
    expect(jobs.length).toBeLessThan(40)
    expect(jobs.every((j) => j.status === 'done')).toBe(true)
  })

  it('hands an event whose handler throws to a job of its own, and the rest of its batch goes on', async () => {
    const heard: string[] = []
    let failures = 0
    let first = ''
    // Registered on both instances, as every instance registers the same consumers: either may dispatch the events
    // and run the jobs.
    for (const app of [a, b])
      app.events.onEvent('license.suspended', 'test-flaky', async (event) => {
        // The first license's event fails twice, then succeeds on its own job's retry.
        if (event.data.licenseId === first && failures < 2) {
          failures++
          throw new Error('flaky consumer')
        }
        heard.push(event.data.licenseId)
      })
    const ids = await suspendThree('flaky', (issued) => {
      first = issued[0] as string
    })
    await Promise.all([a.jobs.idle(30_000), b.jobs.idle(30_000)])
    expect([...heard].sort()).toEqual([...ids].sort())
    expect(heard.at(-1)).toBe(first)
    const single = await a.deps.db.selectFrom('jobs').select(['status', 'attempts']).where('name', '=', 'event.test-flaky').execute()
    expect(single).toEqual([{ status: 'done', attempts: 2 }])
  })

  it('runs a read made with once() a single time for all the events of a batch; a failed read is made again', async () => {
    const heard: { licenseId: string; read: number }[] = []
    let reads = 0
    let failedReads = 0
    for (const app of [a, b])
      app.events.onEvent('license.suspended', 'test-once', async (event, job) => {
        // The first event's attempt at another read fails: that failure is not kept for the next events.
        const retried = await job
          .once('flaky', async () => {
            failedReads++
            if (failedReads === 1) throw new Error('read failed')
            return 'read'
          })
          .catch(() => 'failed')
        const read = await job.once('endpoints', async () => ++reads)
        heard.push({ licenseId: event.data.licenseId, read })
        if (retried === 'failed') expect(heard).toHaveLength(1)
      })
    const ids = await suspendThree('once')
    await Promise.all([a.jobs.idle(30_000), b.jobs.idle(30_000)])
    expect(heard.map((h) => h.licenseId).sort()).toEqual([...ids].sort())
    expect(heard.map((h) => h.read)).toEqual([1, 1, 1])
    expect(reads).toBe(1)
    expect(failedReads).toBe(2)
  })

  it('hands a pass’s events to an onEvents consumer together, and each on its own when the batch throws', async () => {
    const calls: number[] = []
    const heard: string[] = []
    let thrown = false
    for (const app of [a, b])
      app.events.onEvents('license.suspended', 'test-all', async (list) => {
        calls.push(list.length)
        if (list.length > 1 && !thrown) {
          thrown = true
          throw new Error('the batch fails once')
        }
        heard.push(...list.map((e) => e.data.licenseId))
      })
    const ids = await suspendThree('all')
    await Promise.all([a.jobs.idle(30_000), b.jobs.idle(30_000)])
    expect(calls).toEqual([3, 1, 1, 1])
    expect([...heard].sort()).toEqual([...ids].sort())
  })

  it('runs a batch chosen as a deadlock’s victim again whole, not event by event', async () => {
    const calls: number[] = []
    const heard: string[] = []
    let thrown = false
    for (const app of [a, b])
      app.events.onEvents('license.suspended', 'test-deadlock', async (list) => {
        calls.push(list.length)
        if (!thrown) {
          thrown = true
          throw Object.assign(new Error('deadlock detected'), { code: '40P01' })
        }
        heard.push(...list.map((e) => e.data.licenseId))
      })
    const ids = await suspendThree('deadlock')
    await Promise.all([a.jobs.idle(30_000), b.jobs.idle(30_000)])
    expect(calls).toEqual([3, 3])
    expect([...heard].sort()).toEqual([...ids].sort())
  })

  it('does not read a batch’s events of licenses its consumer says it has no work for', async () => {
    const asked: string[][] = []
    const heard: string[] = []
    let wanted = ''
    for (const app of [a, b])
      app.events.onEvent(
        'license.suspended',
        'test-interested',
        async (event) => {
          heard.push(event.data.licenseId)
        },
        {
          interestedIn: async (licenseIds) => {
            asked.push([...licenseIds].sort())
            return new Set(licenseIds.filter((id) => id === wanted))
          },
        },
      )
    const ids = await suspendThree('interested', (ids) => {
      wanted = ids[1] as string
    })
    await Promise.all([a.jobs.idle(30_000), b.jobs.idle(30_000)])
    expect(asked).toEqual([[...ids].sort()])
    expect(heard).toEqual([wanted])
  })

  it('publishes every event schema in the OpenAPI components', async () => {
    const doc = (await (await a.request('/api/openapi.json')).json()) as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }
    const names = Object.keys(doc.components.schemas)
    expect(names).toEqual(
      expect.arrayContaining([
        'LicenseCreatedEvent',
        'LicenseUpdatedEvent',
        'LicenseSuspendedEvent',
        'ConversationCreatedEvent',
        'MessageCreatedEvent',
        'LeadCreatedEvent',
        'SubscriptionUpdatedEvent',
        'BillingPaymentFailedEvent',
        'UsageWarningEvent',
        'UsageLimitedEvent',
        'WebhookEndpointDisabledEvent',
        'ConversationWaitingEvent',
        'ConversationClosedEvent',
        'ConversationReopenedEvent',
        'MessageRatedEvent',
        'QuestionUnansweredEvent',
        'LeadEnrichedEvent',
        'DomainEvent',
      ]),
    )
    expect(EVENT_TYPES).toHaveLength(18)
    expect(Object.keys(doc.components.schemas.MessageCreatedEvent?.properties ?? {})).toEqual(['id', 'type', 'licenseId', 'createdAt', 'data'])
  })

  it('prunes dispatched events past the retention, with the records consumers kept of them, and nothing else', async () => {
    // No dispatcher runs meanwhile: the old undispatched event would be dispatched between its insert and the prune
    // (and then pruned). They start again after it, for whatever test comes next.
    await Promise.all([a.jobs.stop(), b.jobs.stop()])
    try {
      await pruneWithoutDispatchers()
    } finally {
      await Promise.all([a.jobs.start(), b.jobs.start()])
    }
  })

  async function pruneWithoutDispatchers(): Promise<void> {
    const issued = await issueLicense(a.deps.db, {
      source: 'cli',
      orderId: `prune-${Date.now()}`,
      email: uniqueEmail(),
      products: ['chatbot'],
      tier: 'starter',
    })
    const licenseId = issued.license.id
    const old = new Date(Date.now() - 31 * 86_400_000)
    const event = (dispatched: boolean, createdAt: Date) =>
      emit(a.deps.db, { type: 'license.suspended', licenseId, data: { licenseId, previousStatus: 'active' } }).then(async (id) => {
        await a.deps.db
          .updateTable('events')
          .set({ created_at: createdAt, dispatched_at: dispatched ? createdAt : null })
          .where('id', '=', id)
          .execute()
        return id
      })
    const gone = await event(true, old)
    const waiting = await event(false, old)
    const young = await event(true, new Date())
    const counted = adb(a.deps.db).insertInto('analytics_counted_events')
    await counted.values([gone, young].map((event_id) => ({ event_id, consumer: 'analytics.test' }))).execute()

    expect(await a.events.pruneDispatched()).toBeGreaterThanOrEqual(1)
    const left = await a.deps.db.selectFrom('events').select('id').where('id', 'in', [gone, waiting, young]).execute()
    expect(left.map((r) => r.id).sort()).toEqual([waiting, young].sort())
    const records = await adb(a.deps.db).selectFrom('analytics_counted_events').select('event_id').where('consumer', '=', 'analytics.test').execute()
    expect(records.map((r) => r.event_id)).toEqual([young])
  }
})
