// Engine replies are durable: the instance that acknowledged the visitor's message may die before answering,
// and another instance on the same store still produces the reply, once, even if its job runs twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { configure, newCustomer } from '../../test/fixtures.js'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { ENGINE_FAILED_TEXT, REPLY_JOB } from '../replies/respond.js'

const ORIGIN = 'https://shop.example.com'
/** The product's own signing secret: the engine signs with it, and calls nobody without one. */
const SIGNING_SECRET = 'reply-job-signing-secret-0123'

describe('engine replies as durable jobs', () => {
  let store: TestStore
  let acknowledging: TestApp
  const others: TestApp[] = []
  let hookCalls = 0
  let failing = false
  let fake: FakeHost
  let HOOK = ''
  const env = () => ({ OUTBOUND_ALLOW_HOSTS: fake.hostPort })

  beforeAll(async () => {
    // A real endpoint on loopback, reached through the outbound client like a customer's n8n.
    fake = await fakeHost()
    HOOK = `${fake.origin}/webhook/reply-job`
    fake.on('POST', '/webhook/reply-job', async ({ request }) => {
      hookCalls++
      if (failing) return Response.json({ error: 'boom' }, { status: 500 })
      const body = (await request.json()) as { message: { text: string } }
      return Response.json({ reply: `answer to ${body.message.text}` })
    })
    store = await createStore()
    // An API-only instance: it stores messages and acknowledges them, and runs no jobs (as if it died right after).
    acknowledging = await createTestApp({ store, env: { JOBS_CONCURRENCY: '0', ...env() } })
  })
  afterAll(async () => {
    await fake.close()
    for (const o of others) await o.shutdown()
    await acknowledging.shutdown()
    await store.drop()
  })

  /** Visitor messages acknowledged by the API-only instance; resolves to their conversation. */
  const acknowledged = async (texts: string[]) => {
    const owner = await newCustomer(acknowledging)
    const key = (await configure(acknowledging, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const patched = await acknowledging.request('/api/products/chatbot/settings', {
      method: 'PATCH',
      token: owner.token,
      json: { engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } },
    })
    expect(patched.status).toBe(200)
    const secret = await acknowledging.request('/api/products/chatbot/secrets/webhook_signing_secret', {
      method: 'PUT',
      token: owner.token,
      json: { value: SIGNING_SECRET },
    })
    expect(secret.status).toBe(200)
    const headers = { 'x-product-key': key, origin: ORIGIN }
    const started = (await (await acknowledging.request('/api/widget/conversations', { method: 'POST', headers, json: {} })).json()) as {
      conversation: { id: string }
      visitorToken: string
    }
    for (const [i, text] of texts.entries()) {
      const res = await acknowledging.request(`/api/widget/conversations/${started.conversation.id}/messages`, {
        method: 'POST',
        headers,
        token: started.visitorToken,
        json: { clientMessageId: `c${i}`, text },
      })
      expect(res.status).toBe(201)
      expect(((await res.json()) as { replies: unknown[] }).replies).toEqual([])
    }
    return started.conversation.id
  }
  const messages = (conversationId: string) =>
    acknowledging.deps.db.selectFrom('messages').select(['role', 'text']).where('conversation_id', '=', conversationId).orderBy('seq').execute()

  it('is answered by another instance, and a job that runs again does not ask the engine twice', async () => {
    const conversationId = await acknowledged(['where is my order?'])
    expect((await messages(conversationId)).map((m) => m.role)).toEqual(['assistant', 'visitor'])
    expect(hookCalls).toBe(0)

    const survivor = await createTestApp({ store, sharedDeps: acknowledging.deps, env: env() })
    others.push(survivor)
    await survivor.jobs.idle()
    expect(await messages(conversationId)).toEqual([
      { role: 'assistant', text: expect.any(String) },
      { role: 'visitor', text: 'where is my order?' },
      { role: 'assistant', text: 'answer to where is my order?' },
    ])
    expect(hookCalls).toBe(1)

    // As if the worker had died after storing the reply but before marking the job done.
    await survivor.deps.db.updateTable('jobs').set({ status: 'queued' }).where('name', '=', REPLY_JOB).execute()
    await survivor.jobs.idle()
    expect(hookCalls).toBe(1)
    expect((await messages(conversationId)).filter((m) => m.role === 'assistant')).toHaveLength(2)
  })

  it('tells the visitor when the engine fails, from the job', async () => {
    failing = true
    const conversationId = await acknowledged(['anyone there?'])
    const survivor = await createTestApp({ store, sharedDeps: acknowledging.deps, env: env() })
    others.push(survivor)
    await survivor.jobs.idle()
    expect((await messages(conversationId)).slice(1)).toEqual([
      { role: 'visitor', text: 'anyone there?' },
      { role: 'system', text: ENGINE_FAILED_TEXT },
    ])
  })
})
