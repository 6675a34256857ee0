import { delay, HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { newLicense } from '../../test/fixtures.js'
import { createTestApp, N8N_SECRET, type TestApp } from '../../test/harness.js'
import { putSecret } from '../platform/secrets.js'
import { defaultSettings, type ProductSettings } from '../products/settings.js'
import { SIGNATURE_HEADER, verifyIntelagent } from '../webhooks/signature.js'
import type { ReplyContext, ReplyEngine, ReplySink } from './types.js'
import { createWebhookEngine, type WebhookPayload } from './webhook.js'

const HOOK = 'https://n8n.example.test/webhook/intelagent-chat'
const PRODUCT_SECRET = 'per-product-signing-secret-0001'

const server = setupServer()
const sink: ReplySink = { typing: () => {}, token: () => {} }

interface Received {
  raw: string
  body: WebhookPayload
  signature: string | null
  contentType: string | null
}

/** An n8n Webhook node: records each delivery after checking its signature, then answers with `respond`. */
function n8n(secret: string, respond: (call: number) => Response | Promise<Response>) {
  const received: Received[] = []
  server.use(
    http.post(HOOK, async ({ request }) => {
      const raw = await request.text()
      const signature = request.headers.get(SIGNATURE_HEADER)
      verifyIntelagent(secret, signature ?? undefined, raw, Date.now())
      received.push({ raw, body: JSON.parse(raw), signature, contentType: request.headers.get('content-type') })
      return respond(received.length)
    }),
  )
  return received
}

describe('webhook engine', () => {
  let app: TestApp
  let engine: ReplyEngine
  let withSecret: string
  let withoutSecret: string

  function ctx(licenseId: string, settings: Partial<ProductSettings> = {}, signal = new AbortController().signal): ReplyContext {
    return {
      licenseId,
      product: 'chatbot',
      conversationId: '5d0c1f4e-5f0e-4a53-9c39-1f1b7e0c2a11',
      settings: { ...defaultSettings('chatbot'), engine: 'webhook', botName: 'Piney', webhook: { url: HOOK, timeoutMs: 2_000 }, ...settings },
      history: [
        { role: 'assistant', text: 'Hi! How can I help you today?' },
        { role: 'visitor', text: 'Do you ship to Norway?' },
      ],
      message: { id: '0b6f0c9e-3d7a-4f43-8d55-1f0e9c6b2a10', seq: 2, text: 'Do you ship to Norway?' },
      signal,
    }
  }

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'error' })
    app = await createTestApp()
    // Resolve fetch per call so msw's interception applies whenever the app was built.
    engine = createWebhookEngine({ ...app.deps, fetch: (input, init) => globalThis.fetch(input, init) })
    withSecret = (await newLicense(app)).id
    withoutSecret = (await newLicense(app)).id
    await putSecret(app.deps, withSecret, 'chatbot', 'webhook_signing_secret', PRODUCT_SECRET)
  })
  afterEach(() => server.resetHandlers())
  afterAll(async () => {
    server.close()
    await app.shutdown()
  })

  it('posts the signed message event and stores the reply from the response', async () => {
    const received = n8n(PRODUCT_SECRET, () => HttpResponse.json({ reply: 'Yes, we ship to Norway in 5–10 days.' }))
    const result = await engine.reply(ctx(withSecret), sink)
    expect(result).toEqual({ kind: 'answer', text: 'Yes, we ship to Norway in 5–10 days.', meta: { status: 200 } })
    expect(received).toHaveLength(1)
    expect(received[0]?.contentType).toBe('application/json')
    expect(received[0]?.body).toEqual({
      event: 'message.created',
      licenseId: withSecret,
      product: 'chatbot',
      conversationId: '5d0c1f4e-5f0e-4a53-9c39-1f1b7e0c2a11',
      message: { id: '0b6f0c9e-3d7a-4f43-8d55-1f0e9c6b2a10', seq: 2, text: 'Do you ship to Norway?' },
      history: [
        { role: 'assistant', text: 'Hi! How can I help you today?' },
        { role: 'visitor', text: 'Do you ship to Norway?' },
      ],
      settings: { botName: 'Piney' },
      replyUrl: 'http://intelagent.test/api/webhooks/n8n/replies',
    })
  })

  it('signs with the product’s own secret, so the server-wide secret does not verify it', async () => {
    const received = n8n(PRODUCT_SECRET, () => HttpResponse.json({ reply: 'ok' }))
    await engine.reply(ctx(withSecret), sink)
    const { raw, signature } = received[0] as Received
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    expect(() => verifyIntelagent(N8N_SECRET, signature ?? undefined, raw, Date.now())).toThrow(/does not match/)
  })

  it('calls nobody when the product has no signing secret: N8N_WEBHOOK_SECRET is never handed to a tenant’s flow', async () => {
    const received = n8n(N8N_SECRET, () => HttpResponse.json({ reply: 'signed with the server secret' }))
    await expect(engine.reply(ctx(withoutSecret), sink)).rejects.toThrow(/No webhook signing secret/)
    expect(received).toHaveLength(0)
  })

  it('accepts n8n’s other common reply shapes: {text}, {output} and a one-item array', async () => {
    const shapes = [{ text: 'from text' }, { output: 'from output' }, [{ output: 'from an array' }]]
    const answers: string[] = []
    for (const shape of shapes) {
      n8n(PRODUCT_SECRET, () => HttpResponse.json(shape))
      const result = await engine.reply(ctx(withSecret), sink)
      answers.push(result.kind === 'answer' ? result.text : result.kind)
    }
    expect(answers).toEqual(['from text', 'from output', 'from an array'])
  })

  it('defers when n8n acknowledges without a reply (202, empty 200, or {deferred:true})', async () => {
    const responses = [
      () => new HttpResponse(null, { status: 202 }),
      () => new HttpResponse('', { status: 200 }),
      () => new HttpResponse(null, { status: 204 }),
      () => HttpResponse.json({ deferred: true }),
    ]
    for (const respond of responses) {
      n8n(PRODUCT_SECRET, respond)
      expect((await engine.reply(ctx(withSecret), sink)).kind).toBe('deferred')
    }
  })

  it('retries once after a 500, then uses the answer', async () => {
    const received = n8n(PRODUCT_SECRET, (call) =>
      call === 1 ? HttpResponse.json({ message: 'Workflow could not be started!' }, { status: 500 }) : HttpResponse.json({ reply: 'second time lucky' }),
    )
    expect(await engine.reply(ctx(withSecret), sink)).toEqual({ kind: 'answer', text: 'second time lucky', meta: { status: 200, attempts: 2 } })
    expect(received).toHaveLength(2)
    expect(received[0]?.raw).toBe(received[1]?.raw)
  })

  it('gives up after one retry when n8n keeps failing', async () => {
    const received = n8n(PRODUCT_SECRET, () => new HttpResponse('Bad gateway', { status: 502 }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/502 \(after one retry\)/)
    expect(received).toHaveLength(2)
  })

  it('times out each attempt, retries once, then throws', async () => {
    const received = n8n(PRODUCT_SECRET, async () => {
      await delay(5_000)
      return HttpResponse.json({ reply: 'too late' })
    })
    const started = Date.now()
    await expect(engine.reply(ctx(withSecret, { webhook: { url: HOOK, timeoutMs: 200 } }), sink)).rejects.toThrow(/timed out after 200 ms \(after one retry\)/)
    expect(received).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('retries a network error once', async () => {
    const received = n8n(PRODUCT_SECRET, (call) => (call === 1 ? HttpResponse.error() : HttpResponse.json({ reply: 'back online' })))
    expect(await engine.reply(ctx(withSecret), sink)).toMatchObject({ kind: 'answer', text: 'back online' })
    expect(received).toHaveLength(2)
  })

  it('does not retry a 4xx', async () => {
    const received = n8n(PRODUCT_SECRET, () => HttpResponse.json({ code: 404, message: 'The requested webhook is not registered.' }, { status: 404 }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/answered 404/)
    expect(received).toHaveLength(1)
  })

  it('throws on a 200 that is neither a reply nor a deferral', async () => {
    n8n(PRODUCT_SECRET, () => HttpResponse.json({ ok: true }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/without a reply/)
  })

  it('throws without calling anything when no webhook URL is configured', async () => {
    const received = n8n(PRODUCT_SECRET, () => HttpResponse.json({ reply: 'x' }))
    await expect(engine.reply(ctx(withSecret, { webhook: null }), sink)).rejects.toThrow(/no webhook URL/)
    expect(received).toHaveLength(0)
  })

  it('stops without a retry when the caller aborts', async () => {
    const received = n8n(PRODUCT_SECRET, async () => {
      await delay(5_000)
      return HttpResponse.json({ reply: 'too late' })
    })
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('visitor left')), 100)
    await expect(engine.reply(ctx(withSecret, {}, controller.signal), sink)).rejects.toThrow(/visitor left/)
    expect(received).toHaveLength(1)
  })
})
