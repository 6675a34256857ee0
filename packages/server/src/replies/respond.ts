// Runs the product's reply engine after the visitor's message is safely stored; a failure is told, never lost.
// Engines that call out (webhook, OpenAI) run as a durable job enqueued with the visitor's message.
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { announceConversation, markWaiting } from '../conversations/lifecycle.js'
import { appendExchange, appendMessage, findConversation, publishConversation } from '../conversations/service.js'
import { collectUnanswered } from '../knowledge/unanswered.js'
import type { Deps } from '../platform/context.js'
import type { ConversationRow, Database, MessageRow } from '../platform/db.js'
import { enqueue, type JobHandler } from '../platform/jobs.js'
import { effectiveSettings, getSettings, type ProductSettings } from '../settings/settings.js'
import type { Engines, ReplyResult } from './index.js'
import { capUtf8, MAX_REPLY_BYTES } from './types.js'

export const ENGINE_FAILED_TEXT = "Sorry, I can't answer right now. Your message is saved and someone from the team will get back to you."

export const REPLY_JOB = 'conversation.reply'
interface ReplyJob {
  licenseId: string
  conversationId: string
  messageId: string
}

/** Enqueued in the transaction that stores the visitor's message, so an acknowledged message always gets its answer. */
export const enqueueReply = (trx: Kysely<Database>, message: MessageRow) =>
  enqueue(trx, REPLY_JOB, { licenseId: message.license_id, conversationId: message.conversation_id, messageId: message.id } satisfies ReplyJob, {
    dedupeKey: `reply:${message.id}`,
    maxAttempts: 3,
  })

/** The reply stored for a message carries this client id, so a job that runs twice stores one reply. */
const replyClientId = (messageId: string): string => `reply-${messageId}`

export function replyJob(deps: Deps, engines: Engines): JobHandler<ReplyJob> {
  return {
    async run({ licenseId, conversationId, messageId }, job) {
      const [conv, message, answered] = await Promise.all([
        deps.db.selectFrom('conversations').selectAll().where('license_id', '=', licenseId).where('id', '=', conversationId).executeTakeFirst(),
        deps.db.selectFrom('messages').selectAll().where('license_id', '=', licenseId).where('id', '=', messageId).executeTakeFirst(),
        deps.db
          .selectFrom('messages')
          .select('id')
          .where('conversation_id', '=', conversationId)
          .where('client_message_id', '=', replyClientId(messageId))
          .executeTakeFirst(),
      ])
      // An earlier run stored the answer before its worker died: do not ask the engine twice.
      if (!conv || !message || answered) return
      await respond(deps, engines, conv, message, { signal: job.signal, clientMessageId: replyClientId(messageId) })
    },
  }
}

/**
 * The hot path of the offline engine: the answer is found first (findInline), then the visitor's message and the
 * answer are stored together in one statement (appendExchange). Only for a confident answer in an open conversation
 * nobody took over; otherwise `exchange` is null (an unsure answer moves the conversation, an engine error is told, the
 * conversation moved meanwhile) and the caller takes the general path: appendMessage, then respond() given the
 * `result` found here, so the question is not ranked twice.
 */
export async function answerInline(
  deps: Deps,
  conv: ConversationRow,
  settings: ProductSettings,
  found: InlineFound | null,
  input: { text: string; clientMessageId: string | null; meta: Record<string, unknown> },
): Promise<{ exchange: { message: MessageRow; reply: MessageRow | null; created: boolean } | null; result: ReplyResult | null }> {
  if (found?.result?.kind !== 'answer') return { exchange: null, result: found?.result ?? null }
  const exchange = await appendExchange(
    deps,
    conv,
    { id: found.id, text: input.text, clientMessageId: input.clientMessageId, meta: input.meta },
    { text: capUtf8(found.result.text, MAX_REPLY_BYTES), meta: { engine: settings.engine, outcome: found.result.kind, ...found.result.meta } },
  )
  return { exchange, result: found.result }
}

/** What the offline engine found for a message not stored yet, and the id the message will be stored under. */
export interface InlineFound {
  id: string
  result: ReplyResult | null
}

/**
 * Asks the offline engine about `text` before the message is stored, so the route can check the message's quota
 * meanwhile (one wait instead of two); null when no inline answer is wanted (another engine, a closed conversation,
 * one a person took over). Never rejects: an engine error is a null result, told on the general path.
 */
export function findInline(engines: Engines, conv: ConversationRow, settings: ProductSettings, text: string): Promise<InlineFound> | null {
  if (settings.engine !== 'knowledge' || conv.status === 'closed' || conv.taken_over_at) return null
  const id = randomUUID()
  return engines
    .engineFor(settings)
    .reply(
      {
        licenseId: conv.license_id,
        product: conv.product,
        conversationId: conv.id,
        settings,
        history: [{ role: 'visitor', text }],
        message: { id, seq: conv.last_seq + 1, text },
        signal: NO_DEADLINE,
      },
      QUIET,
    )
    .then(
      (result) => ({ id, result }),
      () => ({ id, result: null }),
    )
}

/**
 * The offline engine calls nothing out, so its answer needs no deadline: an AbortSignal.timeout(60 s) per message
 * kept a timer and its signal alive for a minute each (≈ 120,000 at 2,000 messages a second) for nothing.
 */
const NO_DEADLINE = new AbortController().signal

/** The offline engine neither types nor streams. */
const QUIET = { typing: () => undefined, token: () => undefined }

/** Produces and stores the reply to `message`; resolves to the stored reply, or null when it will come later. */
export async function respond(
  deps: Deps,
  engines: Engines,
  conv: ConversationRow,
  message: MessageRow,
  /** `result`: the engine's answer already found for this message (answerInline), so it is not asked again. */
  options: { signal?: AbortSignal; clientMessageId?: string; result?: ReplyResult | null } = {},
): Promise<MessageRow | null> {
  // A person took the conversation over: the bot stays quiet until it is handed back (lifecycle.ts).
  if (conv.taken_over_at) return null
  const saved = await getSettings(deps, conv.license_id, conv.product)
  // An AI engine answers only on a plan that has it (a downgrade falls back to knowledge; an upgrade restores it).
  const tier =
    saved.engine === 'knowledge' ? null : (await deps.db.selectFrom('licenses').select('tier').where('id', '=', conv.license_id).executeTakeFirst())?.tier
  const settings = tier === null ? saved : effectiveSettings(deps.config.plans, tier ?? 'starter', saved)
  // The offline knowledge engine answers from the message alone: only engines that read the history pay its query.
  const history =
    settings.engine === 'knowledge'
      ? [{ role: message.role, text: message.text }]
      : await deps.db
          .selectFrom('messages')
          .select(['role', 'text'])
          .where('license_id', '=', conv.license_id)
          .where('conversation_id', '=', conv.id)
          .where('seq', '<=', message.seq)
          .orderBy('seq', 'desc')
          .limit(20)
          .execute()
  const base = { licenseId: conv.license_id, conversationId: conv.id, product: conv.product }
  // The offline engine answers within the request: a typing indicator would only flicker.
  const live = settings.engine !== 'knowledge'
  const sink = {
    typing: (on: boolean) => (live ? void publishConversation(deps, conv.id, { type: 'typing', typing: on }) : undefined),
    token: (delta: string) => void publishConversation(deps, conv.id, { type: 'token', delta }),
  }
  sink.typing(true)
  try {
    const result =
      options.result ??
      (await engines.engineFor(settings).reply(
        {
          licenseId: conv.license_id,
          product: conv.product,
          conversationId: conv.id,
          settings,
          history: history.reverse(),
          message: { id: message.id, seq: message.seq, text: message.text },
          signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000),
        },
        sink,
      ))
    if (result.kind === 'deferred') return null
    // Below the confidence threshold (or the engine said it does not know): the honest answer is stored with the
    // conversation's move to "waiting for a person" and the question collected, in one transaction.
    const unsure = result.kind === 'fallback'
    let waiting = false
    const { message: reply, created } = await appendMessage(
      deps,
      {
        ...base,
        role: 'assistant',
        // Whatever the engine (a custom one included), a reply is bounded before it is stored.
        text: capUtf8(result.text, MAX_REPLY_BYTES),
        clientMessageId: options.clientMessageId ?? null,
        meta: { engine: settings.engine, outcome: result.kind, ...result.meta },
      },
      unsure
        ? async (trx) => {
            const now = new Date(deps.clock.now())
            waiting = await markWaiting(trx, conv, 'unanswered', now)
            await collectUnanswered(trx, conv, message, now)
          }
        : undefined,
    )
    if (created && waiting) {
      const now = await findConversation(deps, conv.license_id, conv.id)
      if (now) await announceConversation(deps, now)
    }
    return reply
  } catch (err) {
    deps.logger.warn('reply engine failed', {
      engine: settings.engine,
      licenseId: conv.license_id,
      product: conv.product,
      conversationId: conv.id,
      error: String((err as Error)?.message ?? err),
    })
    const { message: reply } = await appendMessage(deps, {
      ...base,
      role: 'system',
      text: ENGINE_FAILED_TEXT,
      clientMessageId: options.clientMessageId ?? null,
      meta: { engine: settings.engine, outcome: 'error' },
    })
    return reply
  } finally {
    sink.typing(false)
  }
}
