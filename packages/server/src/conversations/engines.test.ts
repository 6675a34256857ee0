// End to end through the widget API: n8n and OpenAI-compatible engines, deferred n8n replies, engine failure.
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, n8nSigned, newCustomer } from '../../test/fixtures.js'
import { createTestApp, N8N_SECRET, type TestApp } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import { SIGNATURE_HEADER, verifyIntelagent } from '../webhooks/signature.js'
import { ENGINE_FAILED_TEXT } from './respond.js'

const HOOK = 'https://n8n.example.test/webhook/chat'
const OPENAI = 'https://llm.example.test/v1'
const ORIGIN = 'https://shop.example.com'
const server = setupServer()

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
    server.listen({ onUnhandledRequest: 'bypass' })
    app = await createTestApp()
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
  })
  afterEach(() => server.resetHandlers())
  afterAll(async () => {
    server.close()
    await app.shutdown()
  })

  it('refuses engine URLs that point at private or loopback hosts', async () => {
    for (const url of ['http://127.0.0.1:5432/x', 'http://localhost/hook', 'http://169.254.169.254/latest', 'http://10.0.0.5/n8n', 'file:///etc/passwd']) {
      const res = await settings({ engine: 'webhook', webhook: { url } })
      expect(res.status, url).toBe(422)
    }
  })

  it('n8n: signed POST with the conversation, reply taken from the JSON answer', async () => {
    const seen: { text: string; history: number }[] = []
    server.use(
      http.post(HOOK, async ({ request }) => {
        const raw = await request.text()
        verifyIntelagent(N8N_SECRET, request.headers.get(SIGNATURE_HEADER) ?? undefined, raw, Date.now())
        const body = JSON.parse(raw) as { message: { text: string }; history: unknown[] }
        seen.push({ text: body.message.text, history: body.history.length })
        return HttpResponse.json({ reply: `n8n says: ${body.message.text.toUpperCase()}` })
      }),
    )
    expect((await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } })).status).toBe(200)
    const { started, res } = await startAndSend('hello n8n')
    expect(res.status).toBe(201)
    const messages = await history(started)
    expect(seen[0]?.text).toBe('hello n8n')
    expect(messages.map((m) => m.role)).toEqual(['assistant', 'visitor', 'assistant'])
    expect(messages[2]?.text).toBe('n8n says: HELLO N8N')
  })

  it('n8n: a deferred answer posted back later to /api/webhooks/n8n/replies reaches the conversation once', async () => {
    server.use(http.post(HOOK, () => new HttpResponse(null, { status: 202 })))
    await settings({ engine: 'webhook', webhook: { url: HOOK, timeoutMs: 2000 } })
    const { started } = await startAndSend('answer me later')
    expect((await history(started)).map((m) => m.role)).toEqual(['assistant', 'visitor'])
    const post = (body: unknown, signature?: string) => {
      const signed = n8nSigned(body)
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
    expect((await post({ conversationId: '00000000-0000-4000-8000-000000000000', text: 'x' })).status).toBe(404)
  })

  it('a failing engine leaves the visitor message stored and tells the visitor', async () => {
    server.use(http.post(HOOK, () => HttpResponse.json({ error: 'boom' }, { status: 500 })))
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
    expect(listed).toMatchObject({ secrets: [{ name: 'openai_api_key', hint: '6789' }] })
    expect(JSON.stringify(listed)).not.toContain('sk-test-0123456789')
    server.use(
      http.post(`${OPENAI}/chat/completions`, async ({ request }) => {
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
        return new HttpResponse(stream, { headers: { 'content-type': 'text/event-stream' } })
      }),
    )
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
