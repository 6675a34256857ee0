// End to end through the widget API: n8n and OpenAI-compatible engines, deferred n8n replies, engine failure.
import { lookup as systemLookup } from 'node:dns/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { type Customer, configure, n8nSigned, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import type { Lookup } from '../platform/outbound.js'
import { SIGNATURE_HEADER, verifyIntelagent } from '../platform/signature.js'
import { ENGINE_FAILED_TEXT } from '../replies/respond.js'

const ORIGIN = 'https://shop.example.com'
const PUBLIC_IP = '93.184.215.14'

/**
 * Simulated DNS: `inward.test` points at loopback, `mixed.test` at a public and a private address, and `flip.test`
 * answers a public address once (when the URL is saved) and loopback ever after (when it is called).
 */
function simulatedDns(): Lookup {
  let flips = 0
  return async (hostname) => {
    if (hostname === 'inward.test') return [{ address: '127.0.0.1', family: 4 }]
    if (hostname === 'mixed.test')
      return [
        { address: PUBLIC_IP, family: 4 },
        { address: '10.0.0.7', family: 4 },
      ]
    if (hostname === 'flip.test') return [{ address: flips++ === 0 ? PUBLIC_IP : '127.0.0.1', family: 4 }]
    return systemLookup(hostname, { all: true })
  }
}

/** The chatbot's own webhook signing secret: n8n calls are signed with it both ways. */
const PRODUCT_SECRET = 'chatbot-signing-secret-0123'

interface Started {
  conversation: { id: string }
  visitorToken: string
}
interface Msg {
  role: string
  text: string
  seq: number
}

describe('reply engines through the widget', () => {
  let app: TestApp
  let owner: Customer
  let key: string
  let fake: FakeHost
  let HOOK: string
  let OPENAI: string
  const logs: string[] = []

  const widget = (path: string, init: RequestInit & { json?: unknown; token?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-product-key', key)
    headers.set('origin', ORIGIN)
    return app.request(path, { ...init, headers })
  }
  const settings = (patch: unknown) => app.request('/api/products/chatbot/settings', { method: 'PATCH', token: owner.token, json: patch })
  const startAndSend = async (text: string) => {
    const started = (await (await widget('/api/widget/conversations', { method: 'POST', json: {} })).json()) as Started
    const res = await widget(`/api/widget/conversations/${started.conversation.id}/messages`, {
      method: 'POST',
      token: started.visitorToken,
      json: { clientMessageId: `c-${Math.random().toString(36).slice(2)}`, text },
    })
    return { started, res }
  }
  const history = async (s: Started) => {
    await app.jobs.idle()
    const res = await widget(`/api/widget/conversations/${s.conversation.id}/messages?after=0`, { token: s.visitorToken })
    return ((await res.json()) as { messages: Msg[] }).messages
  }

  beforeAll(async () => {
    fake = await fakeHost()
    HOOK = `${fake.origin}/webhook/chat`
    OPENAI = `${fake.origin}/v1`
    app = await createTestApp({
      env: { OUTBOUND_ALLOW_HOSTS: fake.hostPort, LOG_LEVEL: 'warn' },
      lookup: simulatedDns(),
      log: (line) => logs.push(line),
    })
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const put = await app.request('/api/products/chatbot/secrets/webhook_signing_secret', {
      method: 'PUT',
      token: owner.token,
      json: { value: PRODUCT_SECRET },
    })
    expect(put.status).toBe(200)
  })
  afterEach(() => fake.reset())
  afterAll(async () => {
    await fake.close()
    await app.shutdown()
  })

  it('refuses engine URLs that point at private or loopback hosts, by address or by name, with 400 url_not_allowed', async () => {
    const urls = [
      'http://127.0.0.1:5432/x',
      // The fake's own port, under another name than the one allow-listed pair.
      `http://localhost:${fake.port}/webhook/chat`,
      'http://localhost/hook',
      'http://inward.test/hook',
      'http://mixed.test/hook',
      'http://169.254.169.254/latest',
      'http://10.0.0.5/n8n',
      'http://[::ffff:127.0.0.1]/x',
      'http://[fd00::1]/x',
      'http://100.64.0.1/x',
      'http://0.0.0.0:6379/',
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_INFO',
    ]
    for (const url of urls) {
      const res = await settings({ engine: 'webhook', webhook: { url } })
      expect(res.status, url).toBe(400)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code, url).toBe('url_not_allowed')
      // Where a name points inside the network is not told back to the caller.
      if (/inward|mixed|localhost/.test(url)) expect(body.error.message, url).not.toMatch(/127\.0\.0\.1|10\.0\.0\.7/)
    }
    const openai = await settings({ engine: 'openai', openai: { baseUrl: 'http://inward.test/v1' } })
    expect(openai.status).toBe(400)
    expect(fake.hits).toBe(0)
  })

  it('answers 400, not 500, for a URL that does not parse', async () => {
    for (const url of ['not a url', 'http://', 'https://exa mple.com', 'http://[::1', 'http://a b/']) {
      const res = await settings({ engine: 'webhook', webhook: { url } })
      expect(res.status, url).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code, url).toBe('url_not_allowed')
    }
    const configured = await app.request('/api/products/chatbot/configure', {
      method: 'POST',
      token: owner.token,
      json: { settings: { webhook: { url: 'not a url' } } },
    })
    expect(configured.status).toBe(400)
  })

  it('checks again at call time: a name that turned inward after it was saved is never called', async () => {
    let called = 0
    fake.on('POST', '/webhook/chat', () => {
      called++
      return Response.json({ reply: 'reached the inside' })
    })
    // flip.test resolves to a public address now, so the save is accepted…
    expect((await settings({ engine: 'webhook', webhook: { url: `http://flip.test:${fake.port}/webhook/chat`, timeoutMs: 2000 } })).status).toBe(200)
    // …and to 127.0.0.1, where the fake listens, when the visitor's message is handled.
    logs.length = 0
    const { started } = await startAndSend('rebind me')
    const messages = await history(started)
    expect(messages.map((m) => [m.role, m.text])).toEqual([
      ['assistant', expect.any(String)],
      ['visitor', 'rebind me'],
      ['system', ENGINE_FAILED_TEXT],
    ])
    expect(called).toBe(0)
    expect(fake.hits).toBe(0)
    expect(logs.some((l) => l.includes('reply engine failed') && l.includes('not a public address'))).toBe(true)
  })

  it('n8n: a 200 with an empty body is a failure: logged, and the visitor is told', async () => {
    fake.on('POST', '/webhook/chat', () => new Response('', { status: 200 }))
    await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } })
    logs.length = 0
    const { started } = await startAndSend('anyone home?')
    const messages = await history(started)
    expect(messages.map((m) => [m.role, m.text])).toEqual([
      ['assistant', expect.any(String)],
      ['visitor', 'anyone home?'],
      ['system', ENGINE_FAILED_TEXT],
    ])
    const line = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'reply engine failed')
    expect(line).toMatchObject({
      level: 'warn',
      engine: 'webhook',
      product: 'chatbot',
      conversationId: started.conversation.id,
      error: expect.stringMatching(/answered 200 with an empty body/),
    })
    expect(JSON.stringify(line)).not.toContain(PRODUCT_SECRET)
  })

  it('n8n: 204 and {"deferred": true} leave the answer for later, without a failure notice', async () => {
    for (const respond of [() => new Response(null, { status: 204 }), () => Response.json({ deferred: true })]) {
      fake.on('POST', '/webhook/chat', respond)
      await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } })
      const { started } = await startAndSend('later is fine')
      expect((await history(started)).map((m) => m.role)).toEqual(['assistant', 'visitor'])
    }
  })

  it('n8n: signed POST with the conversation, reply taken from the JSON answer', async () => {
    const seen: { text: string; history: number }[] = []
    fake.on('POST', '/webhook/chat', async ({ request }) => {
      const raw = await request.text()
      verifyIntelagent(PRODUCT_SECRET, request.headers.get(SIGNATURE_HEADER) ?? undefined, raw, Date.now())
      const body = JSON.parse(raw) as { message: { text: string }; history: unknown[] }
      seen.push({ text: body.message.text, history: body.history.length })
      return Response.json({ reply: `n8n says: ${body.message.text.toUpperCase()}` })
    })
    expect((await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } })).status).toBe(200)
    const { started, res } = await startAndSend('hello n8n')
    expect(res.status).toBe(201)
    const messages = await history(started)
    expect(seen[0]?.text).toBe('hello n8n')
    expect(messages.map((m) => m.role)).toEqual(['assistant', 'visitor', 'assistant'])
    expect(messages[2]?.text).toBe('n8n says: HELLO N8N')
  })

  it('n8n: a deferred answer posted back later to /api/webhooks/n8n/replies reaches the conversation once', async () => {
    fake.on('POST', '/webhook/chat', () => new Response(null, { status: 202 }))
    await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } })
    const { started } = await startAndSend('answer me later')
    expect((await history(started)).map((m) => m.role)).toEqual(['assistant', 'visitor'])
    const post = (body: unknown, signature?: string) => {
      const signed = n8nSigned(body, Date.now(), PRODUCT_SECRET)
      return app.request('/api/webhooks/n8n/replies', {
        method: 'POST',
        body: signed.raw,
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature ?? signed.signature },
      })
    }
    const reply = { conversationId: started.conversation.id, text: 'Here is your late answer', replyId: 'r-1' }
    expect((await post(reply, 't=1,v1=deadbeef')).status).toBe(401)
    expect((await post(reply)).status).toBe(201)
    expect((await post(reply)).status).toBe(200)
    const messages = await history(started)
    expect(messages.filter((m) => m.text === 'Here is your late answer')).toHaveLength(1)
    // An unknown conversation answers like a bad signature (see n8n-replies.test.ts).
    expect((await post({ conversationId: '00000000-0000-4000-8000-000000000000', text: 'x' })).status).toBe(401)
  })

  it('a failing engine leaves the visitor message stored and tells the visitor', async () => {
    fake.on('POST', '/webhook/chat', () => Response.json({ error: 'boom' }, { status: 500 }))
    await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 1000 } })
    const { started, res } = await startAndSend('is anyone there?')
    expect(res.status).toBe(201)
    const messages = await history(started)
    expect(messages.map((m) => [m.role, m.text])).toEqual([
      ['assistant', expect.any(String)],
      ['visitor', 'is anyone there?'],
      ['system', ENGINE_FAILED_TEXT],
    ])
  })

  it('openai: streams tokens to the visitor stream and stores the full answer', async () => {
    const put = await app.request('/api/products/chatbot/secrets/openai_api_key', { method: 'PUT', token: owner.token, json: { value: 'sk-test-0123456789' } })
    expect(put.status).toBe(200)
    expect(JSON.stringify(await put.json())).not.toContain('sk-test-0123456789')
    const listed = await (await app.request('/api/products/chatbot/secrets', { token: owner.token })).json()
    expect(listed).toMatchObject({ secrets: expect.arrayContaining([expect.objectContaining({ name: 'openai_api_key', hint: '6789' })]) })
    expect(JSON.stringify(listed)).not.toContain('sk-test-0123456789')
    fake.on('POST', '/v1/chat/completions', async ({ request }) => {
      expect(request.headers.get('authorization')).toBe('Bearer sk-test-0123456789')
      const body = (await request.json()) as { stream: boolean; model: string }
      expect(body).toMatchObject({ stream: true, model: 'test-model' })
      const chunks = ['We ', 'open ', 'at 9am.']
      const enc = new TextEncoder()
      const stream = new ReadableStream({
        start(controller) {
          for (const [i, c] of chunks.entries()) {
            const chunk = {
              id: 'chatcmpl-1',
              object: 'chat.completion.chunk',
              created: 1,
              model: 'test-model',
              choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: c } : { content: c }, finish_reason: null }],
            }
            controller.enqueue(enc.encode(`data: ${JSON.stringify(chunk)}\n\n`))
          }
          controller.enqueue(
            enc.encode(
              `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
            ),
          )
          controller.enqueue(enc.encode('data: [DONE]\n\n'))
          controller.close()
        },
      })
      return new Response(stream, { headers: { 'content-type': 'text/event-stream' } })
    })
    await settings({ engine: 'openai', openai: { baseUrl: OPENAI, model: 'test-model', systemPrompt: 'Be brief.' } })
    const cfg = (await (await widget('/api/widget/config')).json()) as { streaming: boolean }
    expect(cfg.streaming).toBe(true)

    const started = (await (await widget('/api/widget/conversations', { method: 'POST', json: {} })).json()) as Started
    const controller = new AbortController()
    const events = await widget(`/api/widget/conversations/${started.conversation.id}/events?token=${started.visitorToken}`, { signal: controller.signal })
    const reading = new StreamReader(events).until((t) => t.includes('We open at 9am.'))
    await widget(`/api/widget/conversations/${started.conversation.id}/messages`, {
      method: 'POST',
      token: started.visitorToken,
      json: { clientMessageId: 'o1', text: 'When do you open?' },
    })
    const text = await reading
    controller.abort()
    const tokens = [...text.matchAll(/event: token\ndata: (.*)\n/g)].map((m) => (JSON.parse(m[1] as string) as { delta: string }).delta)
    expect(tokens).toEqual(['We ', 'open ', 'at 9am.'])
    expect(text).toContain('event: typing')
    const messages = await history(started)
    expect(messages[messages.length - 1]).toMatchObject({ role: 'assistant', text: 'We open at 9am.' })
    await settings({ engine: 'knowledge' })
  })
})
