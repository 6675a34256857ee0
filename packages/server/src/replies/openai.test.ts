import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { completionStream } from '../../test/fake-openai.js'
import { newLicense } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { putSecret } from '../platform/secrets.js'
import { defaultSettings, type ProductSettings } from '../settings/settings.js'
import { createOpenAiEngine, NO_ANSWER_INSTRUCTION } from './openai.js'
import { MAX_REPLY_BYTES, type ReplyContext, type ReplyEngine, type ReplySink } from './types.js'

const API_KEY = 'sk-proj-test-0123456789abcdefWXYZ'
let llmHost: FakeHost
let BASE: string

/** A text/event-stream response whose body arrives in the given byte pieces. */
function sse(pieces: Uint8Array[] | string, hold?: Promise<void>): Response {
  const parts = typeof pieces === 'string' ? [new TextEncoder().encode(pieces)] : pieces
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const [i, part] of parts.entries()) {
        controller.enqueue(part)
        if (i === 0 && hold) await hold
      }
      controller.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } })
}

function bytesInPiecesOf(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text)
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size))
  return out
}

interface Captured {
  authorization: string | null
  body: { model: string; stream: boolean; messages: { role: string; content: string }[] }
}

function llm(respond: () => Response | Promise<Response>): Captured[] {
  const calls: Captured[] = []
  llmHost.on('POST', '/v1/chat/completions', async ({ request }) => {
    calls.push({ authorization: request.headers.get('authorization'), body: (await request.json()) as Captured['body'] })
    return respond()
  })
  return calls
}

function recorder(): ReplySink & { tokens: string[] } {
  const tokens: string[] = []
  return { tokens, typing: () => {}, token: (d) => tokens.push(d) }
}

describe('openai engine', () => {
  let app: TestApp
  let engine: ReplyEngine
  let licenseId: string
  let keyless: string

  function ctx(id: string, settings: Partial<ProductSettings> = {}, signal = new AbortController().signal): ReplyContext {
    return {
      licenseId: id,
      product: 'chatbot',
      conversationId: '5d0c1f4e-5f0e-4a53-9c39-1f1b7e0c2a11',
      settings: {
        ...defaultSettings('chatbot'),
        engine: 'openai',
        openai: { baseUrl: BASE, model: 'gpt-4o-mini', systemPrompt: 'You answer for Harbor & Pine.' },
        ...settings,
      },
      history: [
        { role: 'assistant', text: 'Hi! How can I help you today?' },
        { role: 'visitor', text: 'Do you ship to Norway?' },
        { role: 'agent', text: 'Yes we do.' },
        { role: 'system', text: 'Sorry, I can’t answer right now.' },
        { role: 'visitor', text: 'How long does it take?' },
      ],
      message: { id: '0b6f0c9e-3d7a-4f43-8d55-1f0e9c6b2a10', seq: 5, text: 'How long does it take?' },
      signal,
    }
  }

  beforeAll(async () => {
    llmHost = await fakeHost()
    BASE = `${llmHost.origin}/v1`
    app = await createTestApp({ env: { OUTBOUND_ALLOW_HOSTS: llmHost.hostPort } })
    engine = createOpenAiEngine(app.deps)
    licenseId = (await newLicense(app)).id
    keyless = (await newLicense(app)).id
    await putSecret(app.deps, licenseId, 'chatbot', 'openai_api_key', API_KEY)
  })
  afterEach(() => llmHost.reset())
  afterAll(async () => {
    await llmHost.close()
    await app.shutdown()
  })

  it('streams tokens in order and returns the full text with the model and finish reason', async () => {
    const calls = llm(() => sse(completionStream(['Delivery ', 'to Norway ', 'takes 5–10 ', 'working days.'])))
    const sink = recorder()
    const result = await engine.reply(ctx(licenseId), sink)
    expect(sink.tokens).toEqual(['Delivery ', 'to Norway ', 'takes 5–10 ', 'working days.'])
    expect(result).toEqual({
      kind: 'answer',
      text: 'Delivery to Norway takes 5–10 working days.',
      meta: { model: 'gpt-4o-mini-2024-07-18', finishReason: 'stop' },
    })
    expect(calls).toHaveLength(1)
    expect(calls[0]?.authorization).toBe(`Bearer ${API_KEY}`)
    expect(calls[0]?.body).toEqual({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [
        { role: 'system', content: `You answer for Harbor & Pine.\n\n${NO_ANSWER_INSTRUCTION}` },
        { role: 'assistant', content: 'Hi! How can I help you today?' },
        { role: 'user', content: 'Do you ship to Norway?' },
        { role: 'assistant', content: 'Yes we do.' },
        { role: 'user', content: 'How long does it take?' },
      ],
    })
  })

  it('survives lines, JSON and multi-byte characters split across network chunks, and CRLF line ends', async () => {
    const tokens = ['Sí, ', 'enviamos ', 'a Noruega 🇳🇴 ', '— ', 'ça marche.']
    for (const [size, eol] of [
      [1, '\n'],
      [7, '\r\n'],
      [13, '\n'],
    ] as const) {
      llm(() => sse(bytesInPiecesOf(completionStream(tokens, { eol }), size)))
      const sink = recorder()
      const result = await engine.reply(ctx(licenseId), sink)
      expect(sink.tokens).toEqual(tokens)
      expect(result).toMatchObject({ kind: 'answer', text: 'Sí, enviamos a Noruega 🇳🇴 — ça marche.' })
    }
  })

  it('ignores SSE comments and reports a length cut-off as the finish reason', async () => {
    llm(() => sse(`: OPENROUTER PROCESSING\n\n${completionStream(['Partial'], { finishReason: 'length' })}`))
    expect(await engine.reply(ctx(licenseId), recorder())).toMatchObject({ kind: 'answer', text: 'Partial', meta: { finishReason: 'length' } })
  })

  it('throws with the status and a redacted message on a non-2xx answer', async () => {
    llm(() =>
      Response.json(
        {
          error: {
            message: 'Incorrect API key provided: sk-proj-***WXYZ. You can find your API key at https://platform.openai.com/account/api-keys.',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        },
        { status: 401 },
      ),
    )
    const err = (await engine.reply(ctx(licenseId), recorder()).catch((e) => e)) as Error
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toMatch(/answered 401: Incorrect API key provided/)
    expect(err.message).not.toContain('WXYZ')
    llm(() => Response.json({ error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', code: 'rate_limit_exceeded' } }, { status: 429 }))
    await expect(engine.reply(ctx(licenseId), recorder())).rejects.toThrow(/429: Rate limit reached/)
  })

  it('throws on an error event in the middle of the stream', async () => {
    llm(() =>
      sse(
        `${completionStream(['Hel']).split('data: [DONE]')[0]}data: {"error":{"message":"The server had an error while processing your request.","type":"server_error"}}\n\n`,
      ),
    )
    await expect(engine.reply(ctx(licenseId), recorder())).rejects.toThrow(/mid-stream: The server had an error/)
  })

  it('refuses to call anything without a stored API key', async () => {
    const calls = llm(() => sse(completionStream(['never'])))
    await expect(engine.reply(ctx(keyless), recorder())).rejects.toThrow(/no OpenAI API key/)
    expect(calls).toHaveLength(0)
  })

  it('stops reading when the caller aborts mid-stream', async () => {
    let release: () => void = () => {}
    const hold = new Promise<void>((resolve) => {
      release = resolve
    })
    const text = completionStream(['first ', 'second'])
    const cut = text.indexOf('data:', text.indexOf('first'))
    llm(() => sse([new TextEncoder().encode(text.slice(0, cut)), new TextEncoder().encode(text.slice(cut))], hold))
    const controller = new AbortController()
    const sink: ReplySink & { tokens: string[] } = { ...recorder(), tokens: [] }
    sink.token = (d) => {
      sink.tokens.push(d)
      controller.abort(new Error('visitor left'))
    }
    const pending = engine.reply(ctx(licenseId, {}, controller.signal), sink)
    await expect(pending).rejects.toThrow(/visitor left/)
    release()
    expect(sink.tokens).toEqual(['first '])
  })

  it('accepts a server that ignores stream:true and answers with one chat.completion', async () => {
    llm(() =>
      Response.json({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1732406400,
        model: 'llama3.1:8b',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Whole answer.' }, finish_reason: 'stop' }],
      }),
    )
    const sink = recorder()
    expect(await engine.reply(ctx(licenseId), sink)).toEqual({ kind: 'answer', text: 'Whole answer.', meta: { model: 'llama3.1:8b', finishReason: 'stop' } })
    expect(sink.tokens).toEqual(['Whole answer.'])
  })
  it('turns the model’s NO_ANSWER into the honest fallback, never streaming the marker; a longer answer streams whole', async () => {
    llm(() => sse(completionStream(['NO', '_ANS', 'WER'])))
    const unsure = recorder()
    expect(await engine.reply(ctx(licenseId, { fallback: 'Not sure, a person will follow up.' }), unsure)).toMatchObject({
      kind: 'fallback',
      text: 'Not sure, a person will follow up.',
    })
    expect(unsure.tokens).toEqual([])
    llm(() => sse(completionStream(['NO', ' problem, ', 'we ship there.'])))
    const sure = recorder()
    expect(await engine.reply(ctx(licenseId), sure)).toMatchObject({ kind: 'answer', text: 'NO problem, we ship there.' })
    expect(sure.tokens.join('')).toBe('NO problem, we ship there.')
  })

  it('stops at the reply cap: no more than 16 KiB is streamed or returned, cut on a character boundary', async () => {
    // 3-byte characters, so the cap falls inside one unless the cut respects UTF-8.
    const tokens = Array.from({ length: 400 }, () => '€'.repeat(20))
    llm(() => sse(completionStream(tokens)))
    const sink = recorder()
    const result = await engine.reply(ctx(licenseId), sink)
    expect(result.kind).toBe('answer')
    const text = result.kind === 'answer' ? result.text : ''
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_REPLY_BYTES)
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_REPLY_BYTES - 3)
    expect(text).toMatch(/^€+$/)
    expect(sink.tokens.join('')).toBe(text)
    expect(result).toMatchObject({ meta: { finishReason: 'length' } })
  })

  it('cuts a stream that goes past the 1 MiB response cap without ever ending', async () => {
    let sent = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Keep-alive comments only: no text, so only the byte cap can stop it.
        sent += 64 * 1024
        controller.enqueue(new TextEncoder().encode(`: ${'x'.repeat(64 * 1024 - 3)}\n`))
      },
    })
    llm(() => new Response(endless, { headers: { 'content-type': 'text/event-stream' } }))
    await expect(engine.reply(ctx(licenseId), recorder())).rejects.toThrow(/exceeds 1048576 bytes/)
    expect(sent).toBeLessThan(8 * 1024 * 1024)
  })
})
