// The n8n reply engine: a signed POST of the visitor's message to the owner's flow, with a timeout and one retry.
// The flow answers in its response, or acknowledges (202, 204, {"deferred": true}) and posts the answer later to
// /api/webhooks/n8n/replies. The call goes through the SSRF-guarded outbound client: the URL is the customer's.
import type { Deps } from '../platform/context.js'
import { OutboundError, type OutboundResponse } from '../platform/outbound.js'
import { getSecret } from '../platform/secrets.js'
import { SIGNATURE_HEADER, signIntelagent } from '../platform/signature.js'
import type { ReplyContext, ReplyEngine, ReplyResult } from './types.js'

export const WEBHOOK_SECRET_NAME = 'webhook_signing_secret'
/** Matches the limit of /api/webhooks/n8n/replies, so an answer is stored the same way either path. */
const MAX_REPLY_CHARS = 4000
const RETRY_DELAY_MS = 250

export type WebhookDeps = Pick<Deps, 'db' | 'config' | 'clock' | 'outbound'>

/** The JSON body n8n receives. Documented in docs/ for flow builders; keep it backwards compatible. */
export interface WebhookPayload {
  event: 'message.created'
  licenseId: string
  product: string
  conversationId: string
  message: { id: string; seq: number; text: string }
  history: { role: string; text: string }[]
  settings: { botName: string }
  /** Where a flow that answers later posts `{conversationId, text, replyId?}` (signed the same way). */
  replyUrl: string
}

export function webhookPayload(ctx: ReplyContext, publicUrl: string): WebhookPayload {
  return {
    event: 'message.created',
    licenseId: ctx.licenseId,
    product: ctx.product,
    conversationId: ctx.conversationId,
    message: { id: ctx.message.id, seq: ctx.message.seq, text: ctx.message.text },
    history: ctx.history.map((m) => ({ role: m.role, text: m.text })),
    settings: { botName: ctx.settings.botName },
    replyUrl: `${publicUrl}/api/webhooks/n8n/replies`,
  }
}

/** The reply in the shapes n8n flows commonly return: {reply}, {text}, {output}, or a one-item array of those. */
export function extractReply(body: unknown): string | undefined {
  const first = Array.isArray(body) ? body[0] : body
  if (typeof first !== 'object' || first === null) return undefined
  const record = first as Record<string, unknown>
  for (const field of ['reply', 'text', 'output']) {
    const value = record[field]
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, MAX_REPLY_CHARS)
  }
  return undefined
}

const isDeferred = (body: unknown): boolean => {
  const first = Array.isArray(body) ? body[0] : body
  return typeof first === 'object' && first !== null && (first as Record<string, unknown>).deferred === true
}

const isUnanswered = (body: unknown): boolean => {
  const first = Array.isArray(body) ? body[0] : body
  return typeof first === 'object' && first !== null && (first as Record<string, unknown>).unanswered === true
}

/** Thrown for a failure worth one more try (network error, timeout, 5xx). */
class RetryableError extends Error {}

/** How a flow says "I will post the answer later": 202, 204 or `{"deferred": true}`; nothing else defers. */
const DEFERRED_STATUSES = new Set([202, 204])

/** `retry: false` makes one call only: a connection test reports one exchange, not the retry after it. */
export function createWebhookEngine(deps: WebhookDeps, options: { retry?: boolean } = {}): ReplyEngine {
  async function attempt(url: string, raw: string, secret: string, timeoutMs: number, signal: AbortSignal): Promise<ReplyResult> {
    let res: OutboundResponse
    let text: string
    try {
      res = await deps.outbound.request(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          [SIGNATURE_HEADER]: signIntelagent(secret, raw, Math.floor(deps.clock.now() / 1000)),
        },
        body: raw,
        timeoutMs,
        signal,
      })
      text = await res.text()
    } catch (err) {
      if (signal.aborted) throw err
      if (!(err instanceof OutboundError) || err.code === 'url_not_allowed' || err.code === 'too_many_redirects' || err.code === 'response_too_large')
        throw new Error(`n8n webhook refused: ${(err as Error)?.message ?? err}`)
      if (err.code === 'timeout') throw new RetryableError(`n8n webhook timed out after ${timeoutMs} ms`)
      throw new RetryableError(`n8n webhook unreachable: ${err.message}`)
    }
    if (res.status >= 500) throw new RetryableError(`n8n webhook answered ${res.status}`)
    if (!res.ok) throw new Error(`n8n webhook answered ${res.status}`)

    let body: unknown
    if (text.trim()) {
      try {
        body = JSON.parse(text)
      } catch {
        // n8n's "Respond to Webhook" node can answer with plain text.
        if ((res.headers.get('content-type') ?? '').startsWith('text/plain'))
          return { kind: 'answer', text: text.trim().slice(0, MAX_REPLY_CHARS), meta: { status: res.status } }
        throw new Error(`n8n webhook answered ${res.status} with a body that is not JSON`)
      }
    }
    const reply = extractReply(body)
    // The flow does not know: {"unanswered": true} (with an optional reply to say instead of the product's fallback).
    if (isUnanswered(body)) return { kind: 'fallback', text: reply ?? '', meta: { status: res.status } }
    if (reply) return { kind: 'answer', text: reply, meta: { status: res.status } }
    if (DEFERRED_STATUSES.has(res.status) || isDeferred(body)) return { kind: 'deferred', meta: { status: res.status } }
    // n8n answers 200 with an empty body when a Code node throws: a silent failure, not a promise to answer later.
    if (!text.trim()) throw new Error(`n8n webhook answered ${res.status} with an empty body (expected {"reply": "…"}, or 202, 204 or {"deferred": true})`)
    throw new Error(`n8n webhook answered ${res.status} without a reply (expected {"reply": "…"}, or 202, 204 or {"deferred": true})`)
  }

  return {
    async reply(ctx): Promise<ReplyResult> {
      const hook = ctx.settings.webhook
      if (!hook) throw new Error('The webhook engine is selected but no webhook URL is configured')
      // Only the product's own secret: a tenant's flow must never learn N8N_WEBHOOK_SECRET, which issues licenses.
      const secret = await getSecret(deps, ctx.licenseId, ctx.product, WEBHOOK_SECRET_NAME)
      if (!secret) throw new Error(`No webhook signing secret: set ${WEBHOOK_SECRET_NAME} for this product`)
      const raw = JSON.stringify(webhookPayload(ctx, deps.config.publicUrl))
      const honest = (r: ReplyResult): ReplyResult => (r.kind === 'fallback' && !r.text ? { ...r, text: ctx.settings.fallback } : r)
      try {
        return honest(await attempt(hook.url, raw, secret, hook.timeoutMs, ctx.signal))
      } catch (err) {
        if (!(err instanceof RetryableError) || options.retry === false) throw err
      }
      // One retry, re-signed with a fresh timestamp; n8n can dedupe on message.id if the first call did land.
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS))
      ctx.signal.throwIfAborted()
      try {
        const result = honest(await attempt(hook.url, raw, secret, hook.timeoutMs, ctx.signal))
        return { ...result, meta: { ...result.meta, attempts: 2 } }
      } catch (err) {
        if (err instanceof RetryableError) throw new Error(`${err.message} (after one retry)`)
        throw err
      }
    },
  }
}
