// Outbound webhooks end to end: a real receiver on loopback verifying signatures with the SDK's constructEvent,
// retries, redelivery, secret rotation, disabling, tenant isolation and the SSRF checks at save and at delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { constructEvent } from '../../../sdk/src/webhooks.js'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { type SelfSignedHttps, selfSignedHttps } from '../../test/tls.js'
import { emit } from '../platform/events.js'
import { DISABLE_AFTER_MS, PREVIOUS_SECRET_TTL_MS } from './service.js'

interface Received {
  body: string
  signature: string | null
  eventId: string | null
}

const LEAD = (n: number) => ({ leadId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, product: 'sales-agent' as const, conversationId: null })

describe('outbound webhooks', () => {
  let app: TestApp
  let host: FakeHost
  let clock: ManualClock
  let owner: Customer
  let other: Customer
  const logLines: string[] = []
  /** Every request each receiver path got, in order. */
  const received = new Map<string, Received[]>()
  /** Names the simulated DNS answers: public unless a test moves one inward. */
  const dns = new Map<string, string>()

  /** A receiver path answering `statuses` in turn (the last one repeats). */
  function receiver(path: string, statuses: number[], answer = 'thanks'): string {
    const got: Received[] = []
    received.set(path, got)
    host.on('POST', path, async ({ request }) => {
      got.push({ body: await request.text(), signature: request.headers.get('x-intelagent-signature'), eventId: request.headers.get('x-intelagent-event-id') })
      const status = statuses[Math.min(got.length, statuses.length) - 1] as number
      return new Response(answer, { status })
    })
    return `${host.origin}${path}`
  }

  const call = (who: Customer, method: string, path: string, json?: unknown) =>
    app.request(path, { method, token: who.token, ...(json === undefined ? {} : { json }) })

  async function createEndpoint(who: Customer, url: string, events = ['lead.created']) {
    const res = await call(who, 'POST', '/api/webhook-endpoints', { url, events })
    expect(res.status).toBe(201)
    return (await res.json()) as { id: string; secret: string; url: string; enabled: boolean }
  }

  const leadEvent = (who: Customer, n: number) => emit(app.deps.db, { type: 'lead.created', licenseId: who.licenseId, data: LEAD(n) })

  async function deliveries(who: Customer, endpointId: string) {
    const res = await call(who, 'GET', `/api/webhook-endpoints/${endpointId}/deliveries`)
    expect(res.status).toBe(200)
    return (
      (await res.json()) as {
        data: {
          id: string
          eventId: string
          status: string
          attempts: { statusCode: number | null; error: string | null; responseExcerpt: string | null; latencyMs: number }[]
        }[]
      }
    ).data
  }

  /** An HTTPS receiver on loopback with a self-signed certificate: the TLS step of a test must fail. */
  let tls: SelfSignedHttps

  beforeAll(async () => {
    host = await fakeHost()
    tls = await selfSignedHttps()
    clock = new ManualClock(Date.now())
    app = await createTestApp({
      clock,
      env: { OUTBOUND_ALLOW_HOSTS: `${host.hostPort},127.0.0.1:${tls.port}`, LOG_LEVEL: 'debug' },
      log: (line) => logLines.push(line),
      lookup: async (name) => [{ address: dns.get(name) ?? '93.184.215.14', family: 4 }],
    })
    app.webhooks.retryScheduleMs = [20, 20]
    owner = await newCustomer(app)
    other = await newCustomer(app)
  }, 180_000)

  afterAll(async () => {
    await app?.shutdown()
    await host?.close()
    await tls?.close()
  })

  it('creates an endpoint whose secret is shown once, stored encrypted and never logged', async () => {
    const ep = await createEndpoint(owner, receiver('/created', [200]), ['lead.created', 'message.created'])
    expect(ep.id).toMatch(/^we_[0-9A-Za-z]{24}$/)
    expect(ep.secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/)
    const one = await (await call(owner, 'GET', `/api/webhook-endpoints/${ep.id}`)).text()
    const list = await (await call(owner, 'GET', '/api/webhook-endpoints')).text()
    expect(one).toContain(ep.id)
    expect(list).toContain(ep.id)
    expect(one + list).not.toContain(ep.secret)
    const row = await app.deps.db
      .selectFrom('webhook_endpoints' as never)
      .select('secret_ciphertext' as never)
      .where('id' as never, '=', ep.id as never)
      .executeTakeFirstOrThrow()
    expect(JSON.stringify(row)).not.toContain(ep.secret)
    await leadEvent(owner, 1)
    await app.jobs.idle()
    expect(received.get('/created')).toHaveLength(1)
    expect(logLines.join('\n')).not.toContain(ep.secret)
  })

  it('delivers {id, type, created, data} signed so that the SDK’s constructEvent verifies it', async () => {
    const ep = await createEndpoint(owner, receiver('/signed', [200]))
    const eventId = await leadEvent(owner, 2)
    // Another license's event never reaches this endpoint.
    await leadEvent(other, 3)
    await app.jobs.idle()
    const got = received.get('/signed') ?? []
    expect(got).toHaveLength(1)
    const [hit] = got as [Received]
    expect(hit.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    const event = await constructEvent(hit.body, hit.signature, ep.secret, 300, clock.now() / 1000)
    expect(event).toEqual({ id: eventId, type: 'lead.created', created: expect.any(Number), data: LEAD(2) })
    expect(hit.eventId).toBe(eventId)
    // A wrong secret or a changed byte fails.
    await expect(constructEvent(hit.body, hit.signature, 'whsec_wrong', 300, clock.now() / 1000)).rejects.toThrow(/does not match/)
    await expect(constructEvent(hit.body.replace('sales-agent', 'chatbot'), hit.signature, ep.secret, 300, clock.now() / 1000)).rejects.toThrow()
    // An event type the endpoint did not subscribe to is not sent.
    await emit(app.deps.db, { type: 'license.suspended', licenseId: owner.licenseId, data: { licenseId: owner.licenseId, previousStatus: 'active' } })
    await app.jobs.idle()
    expect(received.get('/signed')).toHaveLength(1)
  })

  it('delivers the real events of a widget visit: conversation.created, message.created, lead.created', async () => {
    const ORIGIN = 'https://shop.example.com'
    const ep = await createEndpoint(owner, receiver('/visit', [200]), ['conversation.created', 'message.created', 'lead.created'])
    const { key } = await configure(app, owner, 'sales-agent', { allowedOrigins: [ORIGIN] })
    const headers = { 'x-product-key': key, origin: ORIGIN }
    const started = (await (await app.request('/api/widget/conversations', { method: 'POST', headers, json: { pageUrl: `${ORIGIN}/pricing` } })).json()) as {
      conversation: { id: string }
      visitorToken: string
    }
    const sent = await app.request(`/api/widget/conversations/${started.conversation.id}/messages`, {
      method: 'POST',
      headers,
      token: started.visitorToken,
      json: { clientMessageId: 'm1', text: 'Do you ship to Norway?' },
    })
    expect(sent.status).toBe(201)
    const lead = await app.request('/api/widget/leads', {
      method: 'POST',
      headers,
      token: started.visitorToken,
      json: { conversationId: started.conversation.id, name: 'Ada', email: 'ada@example.com', consent: true },
    })
    expect(lead.status).toBe(201)
    await app.jobs.idle()
    await app.deps.tasks.idle()
    await app.jobs.idle()
    const events = await Promise.all((received.get('/visit') ?? []).map((r) => constructEvent(r.body, r.signature, ep.secret, 300, clock.now() / 1000)))
    const types = new Set(events.map((e) => e.type))
    expect([...types].sort()).toEqual(['conversation.created', 'lead.created', 'message.created'])
    expect(events.find((e) => e.type === 'conversation.created')?.data).toMatchObject({ conversationId: started.conversation.id, pageUrl: `${ORIGIN}/pricing` })
    const messages = events.filter((e) => e.type === 'message.created').map((e) => (e.data as { message: { role: string; text: string } }).message)
    expect(messages).toContainEqual(expect.objectContaining({ role: 'visitor', text: 'Do you ship to Norway?' }))
    // One POST per event, each event once.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
  })

  it('retries after a 500 and logs every attempt; redeliver sends the same event again', async () => {
    const outcomes = async () => Object.fromEntries((await app.deps.metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]))
    const before = await outcomes()
    const ep = await createEndpoint(owner, receiver('/flaky', [500, 200], 'x'.repeat(5000)))
    const eventId = await leadEvent(owner, 4)
    await app.jobs.idle()
    // The /metrics counter saw the failed attempt and the success.
    const counted = await outcomes()
    expect((counted.retrying ?? 0) - (before.retrying ?? 0)).toBeGreaterThanOrEqual(1)
    expect((counted.succeeded ?? 0) - (before.succeeded ?? 0)).toBeGreaterThanOrEqual(1)
    const got = received.get('/flaky') ?? []
    expect(got.map((g) => JSON.parse(g.body).id)).toEqual([eventId, eventId])
    const [d] = await deliveries(owner, ep.id)
    expect(d?.id).toMatch(/^wd_/)
    expect(d?.status).toBe('succeeded')
    expect(d?.attempts.map((a) => a.statusCode)).toEqual([500, 200])
    expect(d?.attempts[0]?.error).toMatch(/HTTP 500/)
    expect(d?.attempts[1]?.error).toBeNull()
    // The answer is kept to its first KiB.
    expect(d?.attempts[0]?.responseExcerpt).toHaveLength(1024)

    const again = await call(owner, 'POST', `/api/webhook-deliveries/${d?.id}/redeliver`)
    expect(again.status).toBe(202)
    await app.jobs.idle()
    expect(got.map((g) => JSON.parse(g.body).id)).toEqual([eventId, eventId, eventId])
    const [after] = await deliveries(owner, ep.id)
    expect(after?.attempts).toHaveLength(3)
    expect(after?.status).toBe('succeeded')
  })

  it('gives up after the schedule, then redeliver-failed sends every failed delivery once the endpoint answers', async () => {
    const url = receiver('/down', [503])
    const ep = await createEndpoint(owner, url)
    await leadEvent(owner, 5)
    await leadEvent(owner, 6)
    await app.jobs.idle()
    const failed = await deliveries(owner, ep.id)
    expect(failed.map((d) => d.status)).toEqual(['failed', 'failed'])
    // The first attempt and one per scheduled retry.
    expect(failed.map((d) => d.attempts.length)).toEqual([3, 3])
    receiver('/down', [200])
    const res = await call(owner, 'POST', `/api/webhook-endpoints/${ep.id}/redeliver-failed`)
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ queued: 2 })
    await app.jobs.idle()
    expect((await deliveries(owner, ep.id)).map((d) => d.status)).toEqual(['succeeded', 'succeeded'])
    expect(received.get('/down')).toHaveLength(2)
  })

  it('sends a test event and reports what happened', async () => {
    const ep = await createEndpoint(owner, receiver('/ping', [200], 'pong'))
    const res = await call(owner, 'POST', `/api/webhook-endpoints/${ep.id}/test`)
    expect(res.status).toBe(200)
    const result = (await res.json()) as Record<string, unknown>
    expect(result).toMatchObject({ ok: true, dns: 'ok', addresses: ['127.0.0.1'], tls: 'not_used', statusCode: 200, responseExcerpt: 'pong', error: null })
    expect(result.latencyMs).toEqual(expect.any(Number))
    const [hit] = received.get('/ping') ?? []
    const event = await constructEvent(hit?.body ?? '', hit?.signature, ep.secret, 300, clock.now() / 1000)
    expect(event.type).toBe('ping')
    const [logged] = await deliveries(owner, ep.id)
    expect(logged).toMatchObject({ id: result.deliveryId, status: 'succeeded' })

    // A receiver that is not listening: the test still answers 200, and says what failed.
    const closed = await createEndpoint(owner, `${host.origin}/nothing-here`)
    const down = (await (await call(owner, 'POST', `/api/webhook-endpoints/${closed.id}/test`)).json()) as Record<string, unknown>
    expect(down).toMatchObject({ ok: false, statusCode: 404, error: { code: 'http_status' } })

    // A certificate nobody vouches for: DNS fine, TLS failed, no HTTP answer.
    const selfSigned = await createEndpoint(owner, `https://127.0.0.1:${tls.port}/hook`)
    const badTls = (await (await call(owner, 'POST', `/api/webhook-endpoints/${selfSigned.id}/test`)).json()) as Record<string, unknown>
    expect(badTls).toMatchObject({ ok: false, dns: 'ok', tls: 'failed', statusCode: null, error: { code: 'tls' } })
  })

  it('signs with both secrets for 24 hours after a rotation, then with the new one only', async () => {
    const ep = await createEndpoint(owner, receiver('/rotate', [200]))
    const res = await call(owner, 'POST', `/api/webhook-endpoints/${ep.id}/rotate-secret`)
    expect(res.status).toBe(200)
    const rotated = (await res.json()) as { secret: string; previousSecretExpiresAt: string }
    expect(rotated.secret).not.toBe(ep.secret)
    expect(Date.parse(rotated.previousSecretExpiresAt)).toBe(clock.now() + PREVIOUS_SECRET_TTL_MS)
    await leadEvent(owner, 7)
    await app.jobs.idle()
    const [overlap] = received.get('/rotate') ?? []
    expect(overlap?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/)
    for (const secret of [ep.secret, rotated.secret])
      await expect(constructEvent(overlap?.body ?? '', overlap?.signature, secret, 300, clock.now() / 1000)).resolves.toBeTruthy()

    clock.advance(PREVIOUS_SECRET_TTL_MS + 1000)
    await leadEvent(owner, 8)
    await app.jobs.idle()
    const later = received.get('/rotate')?.[1]
    expect(later?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    await expect(constructEvent(later?.body ?? '', later?.signature, rotated.secret, 300, clock.now() / 1000)).resolves.toBeTruthy()
    await expect(constructEvent(later?.body ?? '', later?.signature, ep.secret, 300, clock.now() / 1000)).rejects.toThrow(/does not match/)
  })

  it('keeps licenses apart: another license gets 404 for every endpoint and delivery route', async () => {
    const ep = await createEndpoint(owner, receiver('/mine', [200]))
    await leadEvent(owner, 9)
    await app.jobs.idle()
    const [d] = await deliveries(owner, ep.id)
    const attempts = [
      call(other, 'GET', `/api/webhook-endpoints/${ep.id}`),
      call(other, 'PATCH', `/api/webhook-endpoints/${ep.id}`, { enabled: false }),
      call(other, 'DELETE', `/api/webhook-endpoints/${ep.id}`),
      call(other, 'POST', `/api/webhook-endpoints/${ep.id}/rotate-secret`),
      call(other, 'POST', `/api/webhook-endpoints/${ep.id}/test`),
      call(other, 'GET', `/api/webhook-endpoints/${ep.id}/deliveries`),
      call(other, 'POST', `/api/webhook-endpoints/${ep.id}/redeliver-failed`),
      call(other, 'POST', `/api/webhook-deliveries/${d?.id}/redeliver`),
    ]
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
    const theirs = (await (await call(other, 'GET', '/api/webhook-endpoints')).json()) as { data: unknown[] }
    expect(theirs.data).toEqual([])
    expect((await call(owner, 'GET', `/api/webhook-endpoints/${ep.id}`)).status).toBe(200)
    expect(received.get('/mine')).toHaveLength(1)
  })

  it('refuses private addresses when saving and again when delivering (DNS that moves inward)', async () => {
    for (const url of ['http://10.0.0.1/hook', 'http://127.0.0.1:9/hook', 'http://[::1]/hook', 'ftp://example.com/x']) {
      const res = await call(owner, 'POST', '/api/webhook-endpoints', { url, events: ['lead.created'] })
      expect(res.status, url).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('url_not_allowed')
    }
    dns.set('inward.example.com', '10.1.2.3')
    const inward = await call(owner, 'POST', '/api/webhook-endpoints', { url: 'https://inward.example.com/hook', events: ['lead.created'] })
    expect(inward.status).toBe(400)
    expect(await inward.text()).not.toContain('10.1.2.3')

    const ep = await createEndpoint(owner, 'https://rebind.example.com/hook')
    const patch = await call(owner, 'PATCH', `/api/webhook-endpoints/${ep.id}`, { url: 'http://192.168.1.1/' })
    expect(patch.status).toBe(400)
    dns.set('rebind.example.com', '10.9.8.7')
    await leadEvent(owner, 10)
    await app.jobs.idle()
    const [d] = await deliveries(owner, ep.id)
    expect(d?.status).toBe('failed')
    expect(d?.attempts[0]?.error).toMatch(/^url_not_allowed: .*non-public/)
    expect(JSON.stringify(d)).not.toContain('10.9.8.7')
    const test = (await (await call(owner, 'POST', `/api/webhook-endpoints/${ep.id}/test`)).json()) as Record<string, unknown>
    expect(test).toMatchObject({ ok: false, dns: 'refused', statusCode: null, error: { code: 'url_not_allowed' } })
  })

  it('validates input and scopes: bad events 422, a webhooks:read key cannot write', async () => {
    const bad = await call(owner, 'POST', '/api/webhook-endpoints', { url: 'https://hooks.example.com/x', events: ['lead.exploded'] })
    expect(bad.status).toBe(422)
    expect((await call(owner, 'GET', '/api/webhook-endpoints/not-an-id')).status).toBe(422)
    const key = await call(owner, 'POST', '/api/api-keys', { name: 'hooks reader', scopes: ['webhooks:read'] })
    expect(key.status).toBe(201)
    const { key: secretKey } = (await key.json()) as { key: string }
    expect((await app.request('/api/webhook-endpoints', { token: secretKey })).status).toBe(200)
    const denied = await app.request('/api/webhook-endpoints', {
      method: 'POST',
      token: secretKey,
      json: { url: 'https://hooks.example.com/x', events: ['lead.created'] },
    })
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope')
  })

  it('disables an endpoint that has failed for three days and says so with an event', async () => {
    const ep = await createEndpoint(owner, receiver('/dead', [500]))
    await leadEvent(owner, 11)
    await app.jobs.idle()
    const first = await app.webhooks.get(owner.licenseId, ep.id)
    expect(first.enabled).toBe(true)
    expect(first.failing_since?.getTime()).toBe(clock.now())

    clock.advance(DISABLE_AFTER_MS - 60_000)
    await leadEvent(owner, 12)
    await app.jobs.idle()
    expect((await app.webhooks.get(owner.licenseId, ep.id)).enabled).toBe(true)

    clock.advance(60_000)
    await leadEvent(owner, 13)
    await app.jobs.idle()
    const disabled = await app.webhooks.get(owner.licenseId, ep.id)
    expect(disabled.enabled).toBe(false)
    expect(disabled.disabled_reason).toMatch(/72 hours/)
    // Endpoints of earlier tests that were still failing are disabled too; this one's event is there once.
    const events = (await app.deps.db.selectFrom('events').selectAll().where('type', '=', 'webhook_endpoint.disabled').execute()).filter(
      (e) => (e.data as { endpointId: string }).endpointId === ep.id,
    )
    expect(events).toHaveLength(1)
    expect(events[0]?.license_id).toBe(owner.licenseId)
    expect(events[0]?.data).toMatchObject({ endpointId: ep.id })

    // A disabled endpoint gets nothing more.
    const hits = received.get('/dead')?.length
    await leadEvent(owner, 14)
    await app.jobs.idle()
    expect(received.get('/dead')?.length).toBe(hits)
    // Redelivering to it waits until the owner enables it again, which starts a fresh failure window.
    await expect(app.webhooks.redeliverFailed(owner.licenseId, ep.id)).rejects.toMatchObject({ code: 'conflict' })
    const enabled = await app.webhooks.update(owner.licenseId, ep.id, { enabled: true })
    expect(enabled).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null })
    receiver('/dead', [200])
    expect(await app.webhooks.redeliverFailed(owner.licenseId, ep.id)).toBe(3)
    await app.jobs.idle()
    expect(received.get('/dead')).toHaveLength(3)
  })
})
