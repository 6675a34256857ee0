import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delay, type FakeHost, fakeHost } from '../../test/fake-host.js'
import { newLicense } from '../../test/fixtures.js'
import { createTestApp, N8N_SECRET, type TestApp } from '../../test/harness.js'
import { putSecret } from '../platform/secrets.js'
import { SIGNATURE_HEADER, verifyIntelagent } from '../platform/signature.js'
import { defaultSettings, type ProductSettings } from '../settings/settings.js'
import type { ReplyContext, ReplyEngine, ReplySink } from './types.js'
import { createWebhookEngine, type WebhookPayload } from './webhook.js'

const HOOK_PATH = '/webhook/intelagent-chat'
const PRODUCT_SECRET = 'per-product-signing-secret-0001'

let n8nHost: FakeHost
let HOOK: string
const sink: ReplySink = { typing: () => {}, token: () => {} }

interface Received {
  raw: string
  body: WebhookPayload
  signature: string | null
  contentType: string | null
}

/** An n8n Webhook node: records each delivery after checking its signature, then answers with `respond`. */
function n8n(secret: string, respond: (call: number, destroy: () => void) => Response | Promise<Response>) {
  const received: Received[] = []
  n8nHost.on('POST', HOOK_PATH, async ({ request, destroy }) => {
    const raw = await request.text()
    const signature = request.headers.get(SIGNATURE_HEADER)
    verifyIntelagent(secret, signature ?? undefined, raw, Date.now())
    received.push({ raw, body: JSON.parse(raw), signature, contentType: request.headers.get('content-type') })
    return respond(received.length, destroy)
  })
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
    n8nHost = await fakeHost()
    HOOK = `${n8nHost.origin}${HOOK_PATH}`
    app = await createTestApp({ env: { OUTBOUND_ALLOW_HOSTS: n8nHost.hostPort } })
    engine = createWebhookEngine(app.deps)
    withSecret = (await newLicense(app)).id
    withoutSecret = (await newLicense(app)).id
    await putSecret(app.deps, withSecret, 'chatbot', 'webhook_signing_secret', PRODUCT_SECRET)
  })
  afterEach(() => n8nHost.reset())
  afterAll(async () => {
    await n8nHost.close()
    await app.shutdown()
  })

  it('posts the signed message event and stores the reply from the response', async () => {
    const received = n8n(PRODUCT_SECRET, () => Response.json({ reply: 'Yes, we ship to Norway in 5–10 days.' }))
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
    const received = n8n(PRODUCT_SECRET, () => Response.json({ reply: 'ok' }))
    await engine.reply(ctx(withSecret), sink)
    const { raw, signature } = received[0] as Received
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    expect(() => verifyIntelagent(N8N_SECRET, signature ?? undefined, raw, Date.now())).toThrow(/does not match/)
  })

  it('calls nobody when the product has no signing secret: N8N_WEBHOOK_SECRET is never handed to a tenant’s flow', async () => {
    const received = n8n(N8N_SECRET, () => Response.json({ reply: 'signed with the server secret' }))
    await expect(engine.reply(ctx(withoutSecret), sink)).rejects.toThrow(/No webhook signing secret/)
    expect(received).toHaveLength(0)
  })

  it('accepts n8n’s other common reply shapes: {text}, {output} and a one-item array', async () => {
    const shapes = [{ text: 'from text' }, { output: 'from output' }, [{ output: 'from an array' }]]
    const answers: string[] = []
    for (const shape of shapes) {
      n8n(PRODUCT_SECRET, () => Response.json(shape))
      const result = await engine.reply(ctx(withSecret), sink)
      answers.push(result.kind === 'answer' ? result.text : result.kind)
    }
    expect(answers).toEqual(['from text', 'from output', 'from an array'])
  })

  it('says it does not know when the flow answers {unanswered: true}: the product fallback, or the flow’s own words', async () => {
    n8n(PRODUCT_SECRET, () => Response.json({ unanswered: true }))
    expect(await engine.reply(ctx(withSecret, { fallback: 'No idea, sorry.' }), sink)).toMatchObject({ kind: 'fallback', text: 'No idea, sorry.' })
    n8n(PRODUCT_SECRET, () => Response.json([{ unanswered: true, reply: 'A colleague will check.' }]))
    expect(await engine.reply(ctx(withSecret), sink)).toMatchObject({ kind: 'fallback', text: 'A colleague will check.' })
  })

  it('defers only when n8n says so: 202, 204 or {deferred:true}', async () => {
    const responses = [
      () => new Response(null, { status: 202 }),
      () => new Response(null, { status: 204 }),
      () => Response.json({ deferred: true }),
      () => Response.json([{ deferred: true }]),
    ]
    for (const respond of responses) {
      n8n(PRODUCT_SECRET, respond)
      expect((await engine.reply(ctx(withSecret), sink)).kind).toBe('deferred')
    }
  })

  it('treats a 200 with an empty body as a failure, not a deferral (n8n’s answer when a Code node throws)', async () => {
    const received = n8n(PRODUCT_SECRET, () => new Response('', { status: 200 }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/answered 200 with an empty body/)
    // Not retried: the flow did run, and a second run could act twice.
    expect(received).toHaveLength(1)
  })

  it('treats a 200 that is not JSON as a failure', async () => {
    n8n(PRODUCT_SECRET, () => new Response('<html>Workflow error</html>', { status: 200, headers: { 'content-type': 'text/html' } }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/not JSON/)
  })

  it('retries once after a 500, then uses the answer', async () => {
    const received = n8n(PRODUCT_SECRET, (call) =>
      call === 1 ? Response.json({ message: 'Workflow could not be started!' }, { status: 500 }) : Response.json({ reply: 'second time lucky' }),
    )
    expect(await engine.reply(ctx(withSecret), sink)).toEqual({ kind: 'answer', text: 'second time lucky', meta: { status: 200, attempts: 2 } })
    expect(received).toHaveLength(2)
    expect(received[0]?.raw).toBe(received[1]?.raw)
  })

  it('gives up after one retry when n8n keeps failing', async () => {
    const received = n8n(PRODUCT_SECRET, () => new Response('Bad gateway', { status: 502 }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/502 \(after one retry\)/)
    expect(received).toHaveLength(2)
  })

  it('times out each attempt, retries once, then throws', async () => {
    const received = n8n(PRODUCT_SECRET, async () => {
      await delay(5_000)
      return Response.json({ reply: 'too late' })
    })
    const started = Date.now()
    await expect(engine.reply(ctx(withSecret, { webhook: { url: HOOK, timeoutMs: 200 } }), sink)).rejects.toThrow(/timed out after 200 ms \(after one retry\)/)
    expect(received).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('retries a network error once', async () => {
    const received = n8n(PRODUCT_SECRET, (call, destroy) => {
      if (call === 1) destroy()
      return Response.json({ reply: 'back online' })
    })
    expect(await engine.reply(ctx(withSecret), sink)).toMatchObject({ kind: 'answer', text: 'back online' })
    expect(received).toHaveLength(2)
  })

  it('does not retry a 4xx', async () => {
    const received = n8n(PRODUCT_SECRET, () => Response.json({ code: 404, message: 'The requested webhook is not registered.' }, { status: 404 }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/answered 404/)
    expect(received).toHaveLength(1)
  })

  it('throws on a 200 that is neither a reply nor a deferral', async () => {
    n8n(PRODUCT_SECRET, () => Response.json({ ok: true }))
    await expect(engine.reply(ctx(withSecret), sink)).rejects.toThrow(/without a reply/)
  })

  it('refuses at call time a URL that resolves inward, even one saved earlier, and never retries it', async () => {
    const received = n8n(PRODUCT_SECRET, () => Response.json({ reply: 'should not be reached' }))
    // The same listener, named `localhost` instead of the allow-listed 127.0.0.1:port pair.
    const inward = `http://localhost:${n8nHost.port}${HOOK_PATH}`
    const hitsBefore = n8nHost.hits
    await expect(engine.reply(ctx(withSecret, { webhook: { url: inward, timeoutMs: 2_000 } }), sink)).rejects.toThrow(/refused: .*not a public address/)
    expect(received).toHaveLength(0)
    expect(n8nHost.hits).toBe(hitsBefore)
  })

  it('throws without calling anything when no webhook URL is configured', async () => {
    const received = n8n(PRODUCT_SECRET, () => Response.json({ reply: 'x' }))
    await expect(engine.reply(ctx(withSecret, { webhook: null }), sink)).rejects.toThrow(/no webhook URL/)
    expect(received).toHaveLength(0)
  })

  it('stops without a retry when the caller aborts', async () => {
    const received = n8n(PRODUCT_SECRET, async () => {
      await delay(5_000)
      return Response.json({ reply: 'too late' })
    })
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('visitor left')), 100)
    await expect(engine.reply(ctx(withSecret, {}, controller.signal), sink)).rejects.toThrow(/visitor left/)
    expect(received).toHaveLength(1)
  })
})
