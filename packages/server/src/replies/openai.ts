// The OpenAI-compatible reply engine: a streamed POST {baseUrl}/chat/completions, forwarded token by token to the
// visitor. Works with OpenAI and anything speaking its wire format (Azure-style proxies, OpenRouter, Ollama, vLLM).
import { citedSources, promptWithPassages, retrieve } from '../knowledge/queries.js'
import type { Deps } from '../platform/context.js'
import type { OutboundResponse } from '../platform/outbound.js'
import { getSecret } from '../platform/secrets.js'
import { settingsSchema } from '../settings/settings.js'
import { capUtf8, MAX_REPLY_BYTES, type ReplyContext, type ReplyEngine, type ReplyResult, type ReplySink } from './types.js'

export const OPENAI_SECRET_NAME = 'openai_api_key'

export type OpenAiDeps = Pick<Deps, 'db' | 'memo' | 'config' | 'outbound'>

/** A streamed answer may take a while; respond() bounds the whole reply at 60 s as well. */
const TIMEOUT_MS = 60_000
/** Knowledge passages given to the model per question. */
const PASSAGES = 4

type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string }

/** Defaults for a product that picked the engine without saving OpenAI settings. */
const DEFAULTS = settingsSchema.shape.openai.unwrap().unwrap().parse({})

/**
 * How the model says "I don't know": this exact reply. The engine turns it into the honest fallback (the
 * conversation then waits for a person, docs/conversation-lifecycle.md), and the visitor never sees the marker.
 */
export const NO_ANSWER = 'NO_ANSWER'
export const NO_ANSWER_INSTRUCTION = `If you cannot answer the visitor's question with confidence, reply with exactly ${NO_ANSWER} and nothing else.`

export function chatMessages(ctx: ReplyContext, systemPrompt: string): ChatMessage[] {
  const system = [systemPrompt.trim(), NO_ANSWER_INSTRUCTION].filter(Boolean).join('\n\n')
  const messages: ChatMessage[] = [{ role: 'system', content: system }]
  for (const m of ctx.history) {
    // 'system' rows are notices shown to the visitor ("your message is saved…"), not instructions for the model.
    if (m.role === 'system') continue
    messages.push({ role: m.role === 'visitor' ? 'user' : 'assistant', content: m.text })
  }
  const last = ctx.history.at(-1)
  if (last?.role !== 'visitor' || last.text !== ctx.message.text) messages.push({ role: 'user', content: ctx.message.text })
  return messages
}

/** API error text can echo a masked key ("Incorrect API key provided: sk-abc***xyz"); keep even that out of logs. */
const redact = (text: string): string => text.replace(/\b(sk|rk)-[\w*-]+/g, '$1-…').slice(0, 300)

async function describeError(res: OutboundResponse): Promise<string> {
  const text = await res.text().catch(() => '')
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown }
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message)
    if (typeof message === 'string') return redact(message)
  } catch {
    // not JSON: use the text itself
  }
  return redact(text.trim())
}

interface ChunkState {
  text: string
  /** UTF-8 size of `text`, kept within MAX_REPLY_BYTES. */
  bytes: number
  finishReason: string | null
  model: string | null
}

/** Adds text up to the reply cap; returns false once the cap is reached (the rest is not read, let alone stored). */
function addText(state: ChunkState, sink: ReplySink, delta: string): boolean {
  const size = Buffer.byteLength(delta)
  if (state.bytes + size <= MAX_REPLY_BYTES) {
    state.text += delta
    state.bytes += size
    sink.token(delta)
    return true
  }
  const kept = capUtf8(delta, MAX_REPLY_BYTES - state.bytes)
  if (kept) {
    state.text += kept
    sink.token(kept)
  }
  state.bytes = MAX_REPLY_BYTES
  state.finishReason = 'length'
  return false
}

/** Applies one `data:` payload; returns false at `[DONE]` or when the reply cap is reached. */
function applyEvent(data: string, state: ChunkState, sink: ReplySink): boolean {
  if (data === '[DONE]') return false
  let chunk: {
    model?: unknown
    error?: { message?: unknown }
    choices?: { index?: number; delta?: { content?: unknown }; finish_reason?: unknown }[]
  }
  try {
    chunk = JSON.parse(data)
  } catch {
    throw new Error('OpenAI-compatible endpoint sent a stream event that is not JSON')
  }
  if (chunk.error) throw new Error(`OpenAI-compatible endpoint failed mid-stream: ${redact(String(chunk.error.message ?? 'unknown error'))}`)
  if (typeof chunk.model === 'string') state.model = chunk.model
  const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0)
  const delta = choice?.delta?.content
  if (typeof choice?.finish_reason === 'string') state.finishReason = choice.finish_reason
  if (typeof delta === 'string' && delta.length > 0) return addText(state, sink, delta)
  return true
}

/**
 * Reads a Server-Sent Events body: lines may arrive split across chunks (even inside a UTF-8 character),
 * an event is the `data:` lines up to a blank line, `:` lines are comments (keep-alives from proxies).
 */
async function readStream(body: ReadableStream<Uint8Array>, state: ChunkState, sink: ReplySink, signal: AbortSignal): Promise<void> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader()
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {})
  signal.addEventListener('abort', onAbort, { once: true })
  let buffer = ''
  let data: string[] = []
  const dispatch = (): boolean => {
    signal.throwIfAborted()
    if (data.length === 0) return true
    const payload = data.join('\n')
    data = []
    return applyEvent(payload, state, sink)
  }
  try {
    for (;;) {
      const { value, done } = await reader.read()
      signal.throwIfAborted()
      if (done) break
      buffer += value
      let newline = buffer.search(/\r\n|\r|\n/)
      while (newline !== -1) {
        // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (buffer[newline] === '\r' && newline === buffer.length - 1) break
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
        if (line === '') {
          if (!dispatch()) return
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
        }
        newline = buffer.search(/\r\n|\r|\n/)
      }
    }
    if (buffer.startsWith('data:')) data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5))
    dispatch()
  } finally {
    signal.removeEventListener('abort', onAbort)
    // Stopping early (the reply cap, [DONE] before the end, an error) leaves the rest unread: drop it, free the socket.
    await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}

/** Holds streamed tokens back while the reply could still be the NO_ANSWER marker, so the visitor never sees it. */
function markerGuard(sink: ReplySink): ReplySink {
  let held = ''
  let passing = false
  return {
    typing: (on) => sink.typing(on),
    token(delta) {
      if (passing) return sink.token(delta)
      held += delta
      const t = held.trim()
      if (NO_ANSWER.startsWith(t)) return
      passing = true
      sink.token(held)
    },
  }
}

export function createOpenAiEngine(deps: OpenAiDeps): ReplyEngine {
  return {
    async reply(ctx, outerSink): Promise<ReplyResult> {
      const sink = markerGuard(outerSink)
      const cfg = ctx.settings.openai ?? DEFAULTS
      const apiKey = await getSecret(deps, ctx.licenseId, ctx.product, OPENAI_SECRET_NAME)
      if (!apiKey) throw new Error('The openai engine is selected but no OpenAI API key is stored for this product')
      // RAG: the best passages of the knowledge go into the prompt, with the rule to answer only from them and cite.
      const passages = (await retrieve(deps, ctx.licenseId, ctx.product, ctx.message.text, PASSAGES)).filter((p) => p.confidence > 0)
      // The base URL is the customer's: the guarded client checks it (and every redirect) at each call.
      const res = await deps.outbound.request(`${cfg.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({ model: cfg.model, messages: chatMessages(ctx, promptWithPassages(cfg.systemPrompt, passages)), stream: true }),
        timeoutMs: TIMEOUT_MS,
        signal: ctx.signal,
      })
      if (!res.ok) throw new Error(`OpenAI-compatible endpoint answered ${res.status}: ${await describeError(res)}`)

      const state: ChunkState = { text: '', bytes: 0, finishReason: null, model: null }
      if ((res.headers.get('content-type') ?? '').includes('application/json')) {
        // Some compatible servers ignore stream: true and answer with one chat.completion object.
        const body = (await res.json()) as { model?: string; choices?: { message?: { content?: unknown }; finish_reason?: string }[] }
        const content = body.choices?.[0]?.message?.content
        state.finishReason = body.choices?.[0]?.finish_reason ?? null
        if (typeof content === 'string' && content) addText(state, sink, content)
        state.model = body.model ?? null
      } else {
        await readStream(res.body, state, sink, ctx.signal)
      }
      const text = state.text.trim()
      if (!text) throw new Error(`OpenAI-compatible endpoint returned no text (finish_reason: ${state.finishReason ?? 'none'})`)
      if (text === NO_ANSWER) return { kind: 'fallback', text: ctx.settings.fallback, meta: { model: state.model ?? cfg.model, noAnswer: true } }
      const sources = citedSources(text, passages)
      return { kind: 'answer', text, meta: { model: state.model ?? cfg.model, finishReason: state.finishReason, ...(sources.length ? { sources } : {}) } }
    },
  }
}
