// client.webhookEndpoints against the real server app in process, delivering to a receiver on loopback that
// verifies each POST with webhooks.constructEvent; and constructEvent on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EVENT_TYPES, emit } from '../../server/src/platform/events.js'
import { type FakeHost, fakeHost } from '../../server/test/fake-host.js'
import { newCustomer } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { constructEvent, Intelagent, NotFoundError, SignatureVerificationError, sign, WEBHOOK_EVENT_TYPES, type WebhookEvent, webhooks } from '../src/index.js'

let app: TestApp
let host: FakeHost
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (token: string) => new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0, token })

beforeAll(async () => {
  host = await fakeHost()
  app = await createTestApp({ env: { OUTBOUND_ALLOW_HOSTS: host.hostPort } })
  app.webhooks.retryScheduleMs = [20]
})
afterAll(async () => {
  await app?.shutdown()
  await host?.close()
})

describe('webhooks.constructEvent', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'lead.created', created: 1_700_000_000, data: { leadId: 'l' } })

  it('returns the parsed event for a valid signature, with either secret during a rotation', async () => {
    const header = await sign('whsec_a', body)
    expect(await constructEvent(body, header, 'whsec_a')).toEqual(JSON.parse(body))
    const both = `${header},${(await sign('whsec_b', body, Number(header.slice(2, header.indexOf(','))))).split(',')[1]}`
    expect((await webhooks.constructEvent(body, both, 'whsec_b')).id).toBe('evt_1')
    expect((await constructEvent(new TextEncoder().encode(body), both, 'whsec_a')).type).toBe('lead.created')
  })

  it('rejects a wrong secret, a changed body, a stale timestamp and a body that is not an event', async () => {
    const header = await sign('whsec_a', body)
    await expect(constructEvent(body, header, 'whsec_x')).rejects.toBeInstanceOf(SignatureVerificationError)
    await expect(constructEvent(body.replace('evt_1', 'evt_2'), header, 'whsec_a')).rejects.toMatchObject({ code: 'invalid_signature' })
    const old = await sign('whsec_a', body, Math.floor(Date.now() / 1000) - 301)
    await expect(constructEvent(body, old, 'whsec_a')).rejects.toMatchObject({ code: 'stale_signature' })
    await expect(constructEvent(body, old, 'whsec_a', 600)).resolves.toBeTruthy()
    await expect(constructEvent('[1]', await sign('whsec_a', '[1]'), 'whsec_a')).rejects.toMatchObject({ code: 'invalid_signature' })
  })
})

describe('client.webhookEndpoints against the real server', () => {
  it('lists the same event types as the server', () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual(EVENT_TYPES)
  })

  it('creates, tests, delivers, lists deliveries, redelivers, rotates, updates and deletes', async () => {
    const owner = await newCustomer(app)
    const sdk = client(owner.token)
    const verified: WebhookEvent[] = []
    let secrets: string[] = []
    let failNext = true
    host.on('POST', '/sdk', async ({ request }) => {
      const raw = await request.text()
      const header = request.headers.get('x-intelagent-signature')
      for (const s of secrets) verified.push(await constructEvent(raw, header, s))
      if (failNext) {
        failNext = false
        return new Response('not yet', { status: 500 })
      }
      return new Response('ok')
    })

    const ep = await sdk.webhookEndpoints.create({ url: `${host.origin}/sdk`, events: ['lead.created'], description: 'CRM' })
    secrets = [ep.secret]
    expect(ep).toMatchObject({ enabled: true, description: 'CRM', events: ['lead.created'] })
    expect((await sdk.webhookEndpoints.list()).data.map((e) => e.id)).toEqual([ep.id])
    expect(await sdk.webhookEndpoints.get(ep.id)).not.toHaveProperty('secret')

    const test = await sdk.webhookEndpoints.test(ep.id)
    expect(test).toMatchObject({ ok: false, statusCode: 500, responseExcerpt: 'not yet' })
    expect(verified.map((e) => e.type)).toEqual(['ping'])

    const eventId = await emit(app.deps.db, {
      type: 'lead.created',
      licenseId: owner.licenseId,
      data: { leadId: '00000000-0000-4000-8000-000000000001', product: 'sales-agent', conversationId: null },
    })
    await app.jobs.idle()
    const page = await sdk.webhookEndpoints.deliveries(ep.id, { limit: 1 })
    expect(page.data).toHaveLength(1)
    const [delivery] = page.data
    expect(delivery).toMatchObject({ eventId, eventType: 'lead.created', status: 'succeeded' })
    expect(page.hasNextPage()).toBe(true)
    const all = []
    for await (const d of sdk.webhookEndpoints.deliveries(ep.id, { limit: 1 })) all.push(d.eventType)
    expect(all).toEqual(['lead.created', 'ping'])

    const redelivered = await sdk.webhookEndpoints.redeliver(delivery?.id ?? '')
    expect(redelivered.status).toBe('pending')
    await app.jobs.idle()
    expect(verified.filter((e) => e.id === eventId)).toHaveLength(2)
    expect(await sdk.webhookEndpoints.redeliverFailed(ep.id)).toBe(0)

    const rotated = await sdk.webhookEndpoints.rotateSecret(ep.id)
    secrets = [ep.secret, rotated.secret]
    expect((await sdk.webhookEndpoints.test(ep.id)).ok).toBe(true)

    expect((await sdk.webhookEndpoints.update(ep.id, { enabled: false })).enabled).toBe(false)
    await sdk.webhookEndpoints.delete(ep.id)
    await expect(sdk.webhookEndpoints.get(ep.id)).rejects.toBeInstanceOf(NotFoundError)
  })
})
