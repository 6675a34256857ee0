// POST /api/products/:product/engine/test against real local servers: an OpenAI-compatible API answering real
// chat.completions shapes, an n8n-style webhook checking the signature, one answering 500, one answering nonsense,
// a self-signed https host, and addresses the outbound client must refuse.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delay, type FakeHost, fakeHost } from '../../test/fake-host.js'
import { completionStream, invalidKeyError } from '../../test/fake-openai.js'
import { type Customer, newCustomer, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { type SelfSignedHttps, selfSignedHttps } from '../../test/tls.js'
import { SIGNATURE_HEADER, verifyIntelagent } from '../platform/signature.js'
import { NO_ANSWER_INSTRUCTION } from './openai.js'
import type { WebhookPayload } from './webhook.js'

const API_KEY = 'sk-proj-engine-test-0123456789abcdefWXYZ'
const HOOK_SECRET = 'per-product-signing-secret-engine-test'

interface Report {
  ok: boolean
  product: string
  engine: string
  tested: string
  question: string
  dns: string
  addresses: string[]
  tls: string
  tlsProtocol: string | null
  certificate: unknown
  statusCode: number | null
  latencyMs: number
  responseExcerpt: string | null
  reply: { kind: string; text: string | null } | null
  error: { code: string; message: string } | null
}

describe('POST /api/products/:product/engine/test', () => {
  let app: TestApp
  let host: FakeHost
  let owner: Customer
  const logLines: string[] = []
  const dns = new Map<string, string>()
  let tls: SelfSignedHttps

  const call = (who: Customer | string, method: string, path: string, json?: unknown) =>
    app.request(path, { method, token: typeof who === 'string' ? who : who.token, ...(json === undefined ? {} : { json }) })
  async function test(who: Customer, json?: unknown): Promise<Report> {
    const res = await call(who, 'POST', '/api/products/chatbot/engine/test', json)
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as Report
  }
  const save = async (who: Customer, patch: unknown) => expect((await call(who, 'PATCH', '/api/products/chatbot/settings', patch)).status).toBe(200)
  const secret = async (who: Customer, name: string, value: string) =>
    expect((await call(who, 'PUT', `/api/products/chatbot/secrets/${name}`, { value })).status).toBe(200)

  /** An OpenAI-compatible API at /v1: records each call, answers with `respond`. */
  function llm(respond: () => Response) {
    const calls: {
      authorization: string | null
      accept: string | null
      body: { model: string; stream: boolean; messages: { role: string; content: string }[] }
    }[] = []
    host.on('POST', '/v1/chat/completions', async ({ request }) => {
      calls.push({ authorization: request.headers.get('authorization'), accept: request.headers.get('accept'), body: (await request.json()) as never })
      return respond()
    })
    return calls
  }

  /** An n8n Webhook node at `path`: checks the signature with the product's secret, then answers with `respond`. */
  function n8n(path: string, respond: () => Response | Promise<Response>) {
    const received: WebhookPayload[] = []
    host.on('POST', path, async ({ request }) => {
      const raw = await request.text()
      verifyIntelagent(HOOK_SECRET, request.headers.get(SIGNATURE_HEADER) ?? undefined, raw, Date.now())
      received.push(JSON.parse(raw) as WebhookPayload)
      return respond()
    })
    return received
  }

  beforeAll(async () => {
    host = await fakeHost()
    tls = await selfSignedHttps()
    app = await createTestApp({
      env: { OUTBOUND_ALLOW_HOSTS: `${host.hostPort},127.0.0.1:${tls.port}`, LOG_LEVEL: 'debug' },
      log: (line) => logLines.push(line),
      lookup: async (name) => [{ address: dns.get(name) ?? '93.184.215.14', family: 4 }],
    })
    owner = await newCustomer(app, { tier: 'professional' })
    await secret(owner, 'openai_api_key', API_KEY)
    await secret(owner, 'webhook_signing_secret', HOOK_SECRET)
    const qa = await call(owner, 'POST', '/api/products/chatbot/knowledge', {
      kind: 'qa',
      title: 'Do you ship to Norway?',
      body: 'Yes: delivery to Norway takes 5 to 10 working days.',
    })
    expect(qa.status).toBe(201)
  }, 180_000)
  afterEach(() => host.reset())
  afterAll(async () => {
    await app?.shutdown()
    await host?.close()
    await tls?.close()
  })

  it('tests the saved OpenAI-compatible engine with a streamed chat completion, as a real reply would be asked', async () => {
    await save(owner, { engine: 'openai', openai: { baseUrl: `${host.origin}/v1`, model: 'gpt-4o-mini', systemPrompt: 'You answer for Harbor & Pine.' } })
    const calls = llm(
      () =>
        new Response(completionStream(['We ship ', 'to Norway ', 'in 5–10 days.']), {
          headers: { 'content-type': 'text/event-stream; charset=utf-8' },
        }),
    )
    const report = await test(owner)
    expect(report).toMatchObject({
      ok: true,
      product: 'chatbot',
      engine: 'openai',
      tested: 'saved',
      question: 'Do you ship to Norway?',
      dns: 'ok',
      addresses: ['127.0.0.1'],
      tls: 'not_used',
      tlsProtocol: null,
      certificate: null,
      statusCode: 200,
      reply: { kind: 'answer', text: 'We ship to Norway in 5–10 days.' },
      error: null,
    })
    expect(report.latencyMs).toEqual(expect.any(Number))
    expect(report.responseExcerpt).toMatch(/^data: \{"id":"chatcmpl-/)
    // The request the engine makes for a visitor: the stored key as Bearer, streaming, the knowledge in the prompt.
    expect(calls).toHaveLength(1)
    expect(calls[0]?.authorization).toBe(`Bearer ${API_KEY}`)
    expect(calls[0]?.accept).toBe('text/event-stream')
    expect(calls[0]?.body).toMatchObject({ model: 'gpt-4o-mini', stream: true })
    expect(calls[0]?.body.messages[0]?.content).toContain('You answer for Harbor & Pine.')
    expect(calls[0]?.body.messages[0]?.content).toContain(NO_ANSWER_INSTRUCTION)
    expect(calls[0]?.body.messages[0]?.content).toContain('delivery to Norway takes 5 to 10 working days')
    expect(calls[0]?.body.messages.at(-1)).toEqual({ role: 'user', content: 'Do you ship to Norway?' })
    expect(logLines.join('\n')).not.toContain(API_KEY)
  })

  it('reports an API error status with its message, the key blanked out of everything it quotes', async () => {
    await save(owner, { engine: 'openai', openai: { baseUrl: `${host.origin}/v1`, model: 'gpt-4o-mini' } })
    // A server that echoes the whole key back: the report must not carry it.
    llm(() => Response.json(invalidKeyError(API_KEY), { status: 401 }))
    const res = await call(owner, 'POST', '/api/products/chatbot/engine/test')
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).not.toContain(API_KEY)
    const report = JSON.parse(text) as Report
    expect(report).toMatchObject({ ok: false, dns: 'ok', statusCode: 401, reply: null, error: { code: 'http_status' } })
    expect(report.error?.message).toMatch(/answered 401: Incorrect API key provided/)
    expect(report.responseExcerpt).toContain('invalid_api_key')
    expect(logLines.join('\n')).not.toContain(API_KEY)
  })

  it('tests the webhook engine with the signed payload a real message gets, and shows the reply', async () => {
    await save(owner, { engine: 'webhook', webhook: { url: `${host.origin}/hook`, timeoutMs: 2000 } })
    const received = n8n('/hook', () => Response.json({ reply: 'Hello from the flow' }))
    const report = await test(owner, { question: 'Are you open on Sundays?' })
    expect(report).toMatchObject({
      ok: true,
      engine: 'webhook',
      tested: 'saved',
      dns: 'ok',
      addresses: ['127.0.0.1'],
      statusCode: 200,
      responseExcerpt: '{"reply":"Hello from the flow"}',
      reply: { kind: 'answer', text: 'Hello from the flow' },
      error: null,
    })
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({
      event: 'message.created',
      licenseId: owner.licenseId,
      product: 'chatbot',
      message: { seq: 1, text: 'Are you open on Sundays?' },
      history: [{ role: 'visitor', text: 'Are you open on Sundays?' }],
      replyUrl: expect.stringMatching(/\/api\/webhooks\/n8n\/replies$/),
    })
    expect(received[0]?.conversationId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('reports a 500 after one call (no retry), with the start of the answer', async () => {
    const received = n8n('/down', () => new Response('Workflow could not be started!', { status: 500 }))
    const report = await test(owner, { engine: 'webhook', webhook: { url: `${host.origin}/down`, timeoutMs: 2000 } })
    expect(report).toMatchObject({
      ok: false,
      tested: 'draft',
      dns: 'ok',
      statusCode: 500,
      responseExcerpt: 'Workflow could not be started!',
      reply: null,
      error: { code: 'http_status', message: 'n8n webhook answered 500' },
    })
    expect(received).toHaveLength(1)
  })

  it('reports an answer the engine cannot use as invalid_answer', async () => {
    n8n('/html', () => new Response('<html><body>Login</body></html>', { headers: { 'content-type': 'text/html' } }))
    const html = await test(owner, { engine: 'webhook', webhook: { url: `${host.origin}/html`, timeoutMs: 2000 } })
    expect(html).toMatchObject({ ok: false, statusCode: 200, responseExcerpt: '<html><body>Login</body></html>', error: { code: 'invalid_answer' } })
    expect(html.error?.message).toMatch(/not JSON/)

    llm(() => Response.json({ id: 'chatcmpl-1', object: 'chat.completion', choices: [] }))
    const empty = await test(owner, { engine: 'openai', openai: { baseUrl: `${host.origin}/v1`, model: 'gpt-4o-mini' } })
    expect(empty).toMatchObject({ ok: false, engine: 'openai', statusCode: 200, error: { code: 'invalid_answer' } })
    expect(empty.error?.message).toMatch(/returned no text/)
  })

  it('refuses private addresses without the allow-list, and never says where a name pointed inward', async () => {
    const before = host.hits
    const literal = await test(owner, { engine: 'webhook', webhook: { url: 'http://10.0.0.7/hook', timeoutMs: 2000 } })
    expect(literal).toMatchObject({ ok: false, dns: 'refused', tls: 'not_reached', addresses: [], statusCode: null, error: { code: 'url_not_allowed' } })

    // Loopback on a port the allow-list does not name: refused before any socket is opened.
    const other = await fakeHost()
    try {
      other.on('POST', '/hook', () => Response.json({ reply: 'should never be asked' }))
      const loopback = await test(owner, { engine: 'webhook', webhook: { url: `${other.origin}/hook`, timeoutMs: 2000 } })
      expect(loopback).toMatchObject({ ok: false, dns: 'refused', error: { code: 'url_not_allowed' } })
      expect(other.hits).toBe(0)
    } finally {
      await other.close()
    }

    dns.set('inward.example.com', '10.20.30.40')
    const res = await call(owner, 'POST', '/api/products/chatbot/engine/test', {
      engine: 'openai',
      openai: { baseUrl: 'https://inward.example.com/v1', model: 'gpt-4o-mini' },
    })
    const text = await res.text()
    expect(text).not.toContain('10.20.30.40')
    expect(JSON.parse(text)).toMatchObject({ ok: false, dns: 'refused', addresses: [], error: { code: 'url_not_allowed' } })
    expect(host.hits).toBe(before)
  })

  it('reports DNS failure, a timeout and a certificate nobody vouches for, each at its own step', async () => {
    const unresolvable = await createTestApp({
      env: { OUTBOUND_ALLOW_HOSTS: host.hostPort },
      lookup: async (name) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
      },
    })
    try {
      const someone = await newCustomer(unresolvable)
      const put = await unresolvable.request('/api/products/chatbot/secrets/webhook_signing_secret', {
        method: 'PUT',
        token: someone.token,
        json: { value: HOOK_SECRET },
      })
      expect(put.status).toBe(200)
      const res = await unresolvable.request('/api/products/chatbot/engine/test', {
        method: 'POST',
        token: someone.token,
        json: { engine: 'webhook', webhook: { url: 'https://n8n.nowhere.example/hook', timeoutMs: 2000 } },
      })
      expect(await res.json()).toMatchObject({ ok: false, dns: 'failed', tls: 'not_reached', error: { code: 'dns' } })
    } finally {
      await unresolvable.shutdown()
    }

    n8n('/slow', async () => {
      await delay(3000)
      return Response.json({ reply: 'too late' })
    })
    const slow = await test(owner, { engine: 'webhook', webhook: { url: `${host.origin}/slow`, timeoutMs: 500 } })
    expect(slow).toMatchObject({ ok: false, dns: 'ok', statusCode: null, error: { code: 'timeout' } })

    const selfSigned = await test(owner, { engine: 'webhook', webhook: { url: `https://127.0.0.1:${tls.port}/hook`, timeoutMs: 2000 } })
    expect(selfSigned).toMatchObject({ ok: false, dns: 'ok', tls: 'failed', tlsProtocol: null, statusCode: null, error: { code: 'tls' } })
  })

  it('says what is missing when the engine cannot be called, without calling anyone', async () => {
    const fresh = await newCustomer(app, { tier: 'professional' })
    const before = host.hits
    const noSecret = await test(fresh, { engine: 'webhook', webhook: { url: `${host.origin}/hook`, timeoutMs: 2000 } })
    expect(noSecret).toMatchObject({ ok: false, dns: 'not_reached', tls: 'not_reached', statusCode: null, error: { code: 'not_configured' } })
    expect(noSecret.error?.message).toMatch(/webhook_signing_secret/)
    const noUrl = await test(fresh, { engine: 'webhook' })
    expect(noUrl).toMatchObject({ ok: false, error: { code: 'not_configured', message: expect.stringMatching(/no webhook URL/) } })
    expect(host.hits).toBe(before)
  })

  it('answers from the knowledge base for the built-in engine, calling no one', async () => {
    const before = host.hits
    const report = await test(owner, { engine: 'knowledge' })
    expect(report).toMatchObject({
      ok: true,
      engine: 'knowledge',
      tested: 'draft',
      question: 'Do you ship to Norway?',
      dns: 'not_used',
      tls: 'not_used',
      statusCode: null,
      reply: { kind: 'answer', text: 'Yes: delivery to Norway takes 5 to 10 working days.' },
      error: null,
    })
    expect(host.hits).toBe(before)
    // A draft is tested, never saved.
    const saved = (await (await call(owner, 'GET', '/api/products/chatbot/settings')).json()) as { settings: { engine: string } }
    expect(saved.settings.engine).not.toBe('knowledge')
  })

  it('is for admins with settings:write on a product they bought and a plan with AI engines', async () => {
    expect((await app.request('/api/products/chatbot/engine/test', { method: 'POST' })).status).toBe(401)
    const key = await call(owner, 'POST', '/api/api-keys', { name: 'settings reader', scopes: ['settings:read'] })
    expect(key.status).toBe(201)
    const reader = ((await key.json()) as { key: string }).key
    const denied = await call(reader, 'POST', '/api/products/chatbot/engine/test')
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope')

    // A member of the team sees settings but does not run the engine against the outside world.
    const invited = await call(owner, 'POST', '/api/team/invitations', { email: uniqueEmail('member'), role: 'member' })
    expect(invited.status).toBe(201)
    const token = new URL(((await invited.json()) as { acceptUrl: string }).acceptUrl).searchParams.get('token')
    const accepted = await app.request('/api/team/invitations/accept', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { token, password: 'member password 123', name: 'Mate' },
    })
    expect(accepted.status).toBe(201)
    const member = ((await accepted.json()) as { token: string }).token
    const notAdmin = await call(member, 'POST', '/api/products/chatbot/engine/test')
    expect(notAdmin.status).toBe(403)
    expect(((await notAdmin.json()) as { error: { code: string } }).error.code).toBe('forbidden')

    const chatOnly = await newCustomer(app, { products: ['chatbot'] })
    const notBought = await call(chatOnly, 'POST', '/api/products/sales-agent/engine/test')
    expect(notBought.status).toBe(403)
    expect(((await notBought.json()) as { error: { code: string } }).error.code).toBe('product_not_purchased')
    expect((await call(chatOnly, 'POST', '/api/products/data-enrichment/engine/test')).status).toBe(422)

    const starter = await newCustomer(app, { tier: 'starter' })
    const before = host.hits
    const plan = await call(starter, 'POST', '/api/products/chatbot/engine/test', { engine: 'webhook', webhook: { url: `${host.origin}/hook` } })
    expect(plan.status).toBe(403)
    expect(((await plan.json()) as { error: { code: string } }).error.code).toBe('plan_feature_required')
    expect(host.hits).toBe(before)
    expect((await test(starter, { engine: 'knowledge' })).ok).toBe(true)

    const bad = await call(owner, 'POST', '/api/products/chatbot/engine/test', { engine: 'webhook', webhook: { url: `${host.origin}/hook`, timeoutMs: 1 } })
    expect(bad.status).toBe(422)
  })
})
