import type { Context } from 'hono'
import { announceConversation, markWaiting, reopenConversation } from '../conversations/lifecycle.js'
import { ConversationResponseSchema, eventStream, MessageResponseSchema } from '../conversations/schemas.js'
import {
  appendMessage,
  type ConversationEvent,
  conversationChannel,
  findConversation,
  messagesAfter,
  publicConversation,
  publicMessage,
  publishLicense,
} from '../conversations/service.js'
import { anonymizeIp } from '../enrichment/ip-country.js'
import type { KeyResolver } from '../keys/resolver.js'
import { checkVisitor, createVisitor, signVisitorToken, verifyVisitorToken } from '../keys/visitors.js'
import { widgetAuth } from '../keys/widget-auth.js'
import type { AppEnv, Deps } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { clientIp, createRouter, jsonBody, optionalJsonBody, presetHeader } from '../platform/http.js'
import { seqSchema } from '../platform/input.js'
import { liveEvents } from '../platform/live.js'
import type { Product } from '../platform/products.js'
import { enforce, tierWidgetStreams } from '../platform/ratelimit.js'
import { access, declareRoute, json } from '../platform/route.js'
import { type SSEWriter, streamChannel } from '../platform/sse.js'
import { type StreamHub, streamTag } from '../platform/streams.js'
import type { Engines } from '../replies/index.js'
import { answerInline, enqueueReply, findInline, respond } from '../replies/respond.js'
import { effectiveSettings, getSettings } from '../settings/settings.js'
import { gateMessage, type Usage } from '../usage/meter.js'
import { identityRoutes } from './identity.js'
import {
  conversationIdParam,
  eventsQuery,
  LeadCreatedSchema,
  LeadInputSchema,
  MessageListSchema,
  messageIdParam,
  messagesQuery,
  RateInputSchema,
  SendMessageInputSchema,
  SendMessageResponseSchema,
  StartConversationInputSchema,
  StartConversationResponseSchema,
  WidgetConfigSchema,
  WidgetEventDataSchema,
} from './schemas.js'
import { startConversation } from './start.js'

export const MESSAGE_LIMIT_PER_VISITOR_MINUTE = 30
const TAG = 'widget'

// Access is enforced by the guard (access.ts) from each declaration: key and origin, then the visitor token, then
// the license's widget budget, in that order.

export const widgetConfigRoute = declareRoute({
  method: 'get',
  path: '/api/widget/config',
  operationId: 'getWidgetConfig',
  summary: 'What the widget shows: name, greeting, suggested questions, colour, position, language, sales questions',
  tag: TAG,
  access: access.widget,
  responses: { 200: json(WidgetConfigSchema, 'The widget’s configuration (cached by the browser for a minute)') },
})

export const startConversationRoute = declareRoute({
  method: 'post',
  path: '/api/widget/conversations',
  operationId: 'startConversation',
  summary: 'Start a conversation (a new visitor unless visitor credentials are given) or resume one',
  tag: TAG,
  access: access.widget,
  errors: ['visitor_invalid'],
  request: { body: optionalJsonBody(StartConversationInputSchema) },
  responses: {
    200: json(StartConversationResponseSchema, 'Resumed: the visitor’s conversation with its messages'),
    201: json(StartConversationResponseSchema, 'Started, with the greeting'),
  },
})

export const sendMessageRoute = declareRoute({
  method: 'post',
  path: '/api/widget/conversations/{id}/messages',
  operationId: 'sendVisitorMessage',
  summary: 'Send a visitor message; the knowledge engine’s reply comes in the answer, others on the stream',
  tag: TAG,
  access: access.visitor,
  visitorLimit: { policy: 'visitor-messages', perMinute: MESSAGE_LIMIT_PER_VISITOR_MINUTE },
  errors: ['not_found'],
  request: { params: conversationIdParam, body: jsonBody(SendMessageInputSchema) },
  responses: {
    200: json(SendMessageResponseSchema, 'Already stored under this clientMessageId (a retry): no replies'),
    201: json(SendMessageResponseSchema, 'Stored'),
  },
})

export const listMessagesRoute = declareRoute({
  method: 'get',
  path: '/api/widget/conversations/{id}/messages',
  operationId: 'listVisitorMessages',
  summary: 'List the conversation’s messages after a seq, oldest first (at most 200)',
  tag: TAG,
  access: access.visitor,
  errors: ['not_found'],
  request: { params: conversationIdParam, query: messagesQuery },
  responses: { 200: json(MessageListSchema, 'Messages after the given seq') },
})

export const widgetEventsRoute = declareRoute({
  method: 'get',
  path: '/api/widget/conversations/{id}/events',
  operationId: 'streamVisitorEvents',
  summary: 'Stream the conversation’s events (Server-Sent Events) to the visitor',
  description:
    'Events: message (data: Message, id: its seq; resumable with Last-Event-ID), typing, token; a final revoked event ({reason}) when the key is revoked or the license suspended. EventSource cannot send headers: pass the key and visitor token as ?key= and ?token=.',
  tag: TAG,
  access: access.visitorStream,
  errors: ['not_found', 'too_many_streams'],
  request: { params: conversationIdParam, query: eventsQuery },
  responses: { 200: eventStream(WidgetEventDataSchema, 'An event stream; each event’s `data:` is JSON (WidgetEventData)') },
})

export const createLeadRoute = declareRoute({
  method: 'post',
  path: '/api/widget/leads',
  operationId: 'createLead',
  summary: 'Leave the visitor’s contact details (consent required)',
  description: 'With a conversationId the visitor token is required and the conversation must be the visitor’s.',
  tag: TAG,
  access: access.visitorIfSent,
  errors: ['not_found', 'visitor_token_invalid'],
  request: { body: jsonBody(LeadInputSchema) },
  responses: { 201: json(LeadCreatedSchema, 'Lead stored; enrichment follows') },
})

export const rateMessageRoute = declareRoute({
  method: 'post',
  path: '/api/widget/conversations/{id}/messages/{messageId}/rating',
  operationId: 'rateMessage',
  summary: 'Rate one of the bot’s answers helpful or not helpful (a later rating replaces the earlier one)',
  description: 'Only assistant answers (not the greeting) of the visitor’s own conversation: other messages answer 400 message_not_rateable.',
  tag: TAG,
  access: access.visitor,
  errors: ['not_found', 'message_not_rateable'],
  request: { params: messageIdParam, body: jsonBody(RateInputSchema) },
  responses: { 200: json(MessageResponseSchema, 'Rated (or already rated so): the message with its rating') },
})

export const requestHumanRoute = declareRoute({
  method: 'post',
  path: '/api/widget/conversations/{id}/handoff',
  operationId: 'requestHuman',
  summary: 'Ask for a person: the conversation waits for one and the owner is told (once per wait)',
  tag: TAG,
  access: access.visitor,
  errors: ['not_found'],
  request: { params: conversationIdParam },
  responses: { 200: json(ConversationResponseSchema, 'The conversation, waiting for a person') },
})

function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization')
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined
}

export function widgetRoutes(deps: Deps, keys: KeyResolver, engines: Engines, streams: StreamHub, usage: Usage) {
  const app = createRouter()
  // CORS preflights carry no key: answered here (no declared route takes OPTIONS); the real request is checked.
  app.on('OPTIONS', '/api/widget/*', widgetAuth(deps, keys))

  /** The caller's own conversation, or 404 (another visitor's or license's conversation does not exist for them). */
  async function ownConversation(c: Context<AppEnv>, id: string, token: string | undefined) {
    const w = c.get('widget')
    const visitorId = c.get('visitorId') ?? (await verifyVisitorToken(deps, w.licenseId, token))
    const conv = await findConversation(deps, w.licenseId, id)
    if (!conv || conv.visitor_id !== visitorId || conv.product !== w.product) throw notFound('Conversation')
    return conv
  }

  app.openapi(widgetConfigRoute, async (c) => {
    const w = c.get('widget')
    const s = effectiveSettings(deps.config.plans, w.tier, await getSettings(deps, w.licenseId, w.product))
    presetHeader(c, 'Cache-Control', 'private, max-age=60')
    return c.json(
      {
        // Publishable keys, the only ones the widget accepts, belong to the widget products.
        product: w.product as 'chatbot' | 'sales-agent',
        botName: s.botName,
        greeting: s.greeting,
        color: s.color,
        position: s.position,
        engine: s.engine,
        streaming: s.engine === 'openai',
        sales: w.product === 'sales-agent' ? s.sales : null,
        suggestions: s.suggestions,
        locale: s.locale,
        branding: s.branding,
      },
      200,
    )
  })

  app.openapi(startConversationRoute, async (c) => {
    const w = c.get('widget')
    const body = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {}
    let visitorId: string
    let visitorSecret: string | undefined
    if (body.visitorId || body.visitorSecret) {
      if (!body.visitorId || !body.visitorSecret || !(await checkVisitor(deps, w.licenseId, body.visitorId, body.visitorSecret))) {
        throw new AppError('visitor_invalid', 'Unknown visitor or wrong visitor secret')
      }
      visitorId = body.visitorId
    } else {
      const v = await createVisitor(deps, w.licenseId)
      visitorId = v.id
      visitorSecret = v.secret
    }
    const { token, expiresAt } = await signVisitorToken(deps, w.licenseId, visitorId)
    const resumed = body.conversationId ? await findConversation(deps, w.licenseId, body.conversationId) : undefined
    if (resumed && resumed.visitor_id === visitorId && resumed.product === w.product) {
      const messages = await messagesAfter(deps, w.licenseId, resumed.id, 0, 500)
      return c.json(
        {
          conversation: publicConversation(resumed),
          visitorId,
          visitorToken: token,
          expiresAt: new Date(expiresAt).toISOString(),
          messages: messages.map(publicMessage),
          ...(resumed.unmetered || resumed.flagged_at ? { handoff: true } : {}),
        },
        200,
      )
    }
    // Past the conversations quota or the visitor's daily cap the visitor is still served: a person answers.
    const { conversation: conv, messages, unmetered } = await startConversation(deps, usage, w, { visitorId, pageUrl: body.pageUrl })
    return c.json(
      {
        conversation: publicConversation(conv),
        visitorId,
        ...(visitorSecret ? { visitorSecret } : {}),
        visitorToken: token,
        expiresAt: new Date(expiresAt).toISOString(),
        messages,
        ...(unmetered ? { handoff: true } : {}),
      },
      201,
    )
  })

  app.openapi(sendMessageRoute, async (c) => {
    const { id } = c.req.valid('param')
    const body = c.req.valid('json')
    const conv = await ownConversation(c, id, bearer(c))
    const settings = effectiveSettings(deps.config.plans, c.get('widget').tier, await getSettings(deps, conv.license_id, conv.product))
    // Offline retrieval answers in milliseconds, inside the request (looked up while the quota is checked); engines
    // that call out answer from a durable job committed with the message, so a crash after this answer still
    // produces the reply.
    const finding = findInline(engines, conv, settings, body.text)
    // Past a quota or cap the message is still stored and the owner told (usage.limited); a person answers it.
    const handoff = await gateMessage(usage, c.get('widget').tier, conv, body.clientMessageId)
    const inline = settings.engine === 'knowledge' && !handoff
    const meta = { ...(body.pageUrl ? { pageUrl: body.pageUrl } : {}), ...(handoff ? { handoff } : {}) }
    // A confident offline answer in an open conversation: the message and its answer in one statement.
    const { exchange, result: found } = inline
      ? await answerInline(deps, conv, settings, await finding, { text: body.text, clientMessageId: body.clientMessageId ?? null, meta })
      : { exchange: null, result: null }
    if (exchange) {
      const replies = exchange.reply ? [publicMessage(exchange.reply)] : []
      return c.json({ message: publicMessage(exchange.message), replies }, exchange.created ? 201 : 200)
    }
    const now = new Date(deps.clock.now())
    let statusChanged = false
    const { message, created } = await appendMessage(
      deps,
      {
        licenseId: conv.license_id,
        conversationId: conv.id,
        product: conv.product,
        role: 'visitor',
        text: body.text,
        clientMessageId: body.clientMessageId,
        ...(body.pageUrl || handoff ? { meta } : {}),
      },
      async (trx, m) => {
        // A new visitor message reopens a closed conversation (conversation.reopened), in the message's transaction.
        if (conv.status === 'closed') statusChanged = Boolean(await reopenConversation(trx, conv, now))
        if (handoff && handoff !== 'flagged') {
          await emit(trx, {
            type: 'usage.limited',
            licenseId: conv.license_id,
            data: { quota: handoff, conversationId: conv.id, messageId: m.id, product: conv.product as Product },
          })
          // No engine answers past a quota: a person must.
          statusChanged = (await markWaiting(trx, conv, 'quota', now)) || statusChanged
        }
        // Engines that call out answer from a durable job; a conversation a person took over gets no engine reply.
        if (!handoff && !inline && !conv.taken_over_at) await enqueueReply(trx, m)
      },
    )
    if (created && statusChanged) {
      const fresh = await findConversation(deps, conv.license_id, conv.id)
      if (fresh) await announceConversation(deps, fresh)
    }
    if (!created) return c.json({ message: publicMessage(message), replies: [], ...(handoff ? { handoff: true } : {}) }, 200)
    if (handoff) return c.json({ message: publicMessage(message), replies: [], handoff: true }, 201)
    const replies = []
    if (inline) {
      // Included in the answer as well as on the stream.
      const reply = await respond(deps, engines, conv, message, { result: found })
      if (reply) replies.push(publicMessage(reply))
    }
    return c.json({ message: publicMessage(message), replies }, 201)
  })

  app.openapi(rateMessageRoute, async (c) => {
    const { id, messageId } = c.req.valid('param')
    const { rating } = c.req.valid('json')
    const conv = await ownConversation(c, id, bearer(c))
    const result = await deps.db.transaction().execute(async (trx) => {
      const m = await trx
        .selectFrom('messages')
        .selectAll()
        .where('license_id', '=', conv.license_id)
        .where('conversation_id', '=', conv.id)
        .where('id', '=', messageId)
        .forUpdate()
        .executeTakeFirst()
      if (!m) throw notFound('Message')
      if (m.role !== 'assistant' || (m.meta as { greeting?: boolean } | null)?.greeting)
        throw new AppError('message_not_rateable', 'Only the bot’s answers can be rated (not the greeting, a person’s or the visitor’s messages)')
      // The same rating again changes nothing and tells nobody twice.
      if (m.rating === rating) return m
      const rated = await trx
        .updateTable('messages')
        .set({ rating, rated_at: new Date(deps.clock.now()) })
        .where('id', '=', m.id)
        .returningAll()
        .executeTakeFirstOrThrow()
      await emit(trx, {
        type: 'message.rated',
        licenseId: conv.license_id,
        data: { conversationId: conv.id, product: conv.product as Product, messageId: m.id, rating },
      })
      return rated
    })
    return c.json({ message: publicMessage(result) }, 200)
  })

  app.openapi(requestHumanRoute, async (c) => {
    const conv = await ownConversation(c, c.req.valid('param').id, bearer(c))
    const now = new Date(deps.clock.now())
    const changed = await deps.db.transaction().execute((trx) => markWaiting(trx, conv, 'visitor_request', now))
    const fresh = (await findConversation(deps, conv.license_id, conv.id)) ?? conv
    if (changed) await announceConversation(deps, fresh)
    return c.json({ conversation: publicConversation(fresh) }, 200)
  })

  app.openapi(listMessagesRoute, async (c) => {
    const conv = await ownConversation(c, c.req.valid('param').id, bearer(c))
    const rows = await messagesAfter(deps, conv.license_id, conv.id, c.req.valid('query').after)
    return c.json({ messages: rows.map(publicMessage) }, 200)
  })

  app.openapi(widgetEventsRoute, async (c) => {
    const { id } = c.req.valid('param')
    const conv = await ownConversation(c, id, c.req.query('token') ?? bearer(c))
    // ?after= is the client's own choice and is validated like GET …/messages; Last-Event-ID is whatever the
    // browser last saw, so one that cannot be a seq is ignored rather than failing the reconnect.
    const after = seqSchema.safeParse(c.req.query('after') ?? 0)
    if (!after.success) throw new AppError('validation_failed', `after: ${after.error.issues[0]?.message ?? 'not a message seq'}`)
    const fromHeader = seqSchema.safeParse(c.req.header('last-event-id'))
    let lastSeq = fromHeader.success ? fromHeader.data : after.data
    const w = c.get('widget')
    const lease = await streams.open(
      [streamTag.key(w.keyId), streamTag.license(w.licenseId)],
      [
        { name: 'visitor', key: `widget:visitor:${conv.visitor_id}`, limit: deps.config.streamCaps.perVisitor },
        { name: 'key', key: `widget:key:${w.keyId}`, limit: tierWidgetStreams(w.tier, deps.config.plans) },
      ],
    )
    const writeEvent = async (stream: SSEWriter, event: ConversationEvent) => {
      if (event.type === 'message') {
        if (event.message.seq <= lastSeq) return
        lastSeq = event.message.seq
        await stream.writeSSE({ event: 'message', id: String(event.message.seq), data: JSON.stringify(event.message) })
      } else if (event.type === 'typing') {
        await stream.writeSSE({ event: 'typing', data: JSON.stringify({ typing: event.typing }) })
      } else {
        await stream.writeSSE({ event: 'token', data: JSON.stringify({ delta: event.delta }) })
      }
    }
    return streamChannel(c, deps.cache, conversationChannel(conv.id), {
      lease,
      draining: deps.draining,
      async replay(stream) {
        for (const m of await messagesAfter(deps, conv.license_id, conv.id, lastSeq, 500)) {
          await stream.writeSSE({ event: 'message', id: String(m.seq), data: JSON.stringify(publicMessage(m)) })
          lastSeq = m.seq
        }
      },
      async write(stream, raw) {
        for (const event of liveEvents<ConversationEvent>(raw)) await writeEvent(stream, event)
      },
    })
  })

  app.openapi(createLeadRoute, async (c) => {
    const w = c.get('widget')
    const body = c.req.valid('json')
    let conversationId: string | null = null
    let pageUrl = body.pageUrl ?? null
    if (body.conversationId) {
      const conv = await ownConversation(c, body.conversationId, bearer(c))
      conversationId = conv.id
      pageUrl ??= conv.page_url
    }
    await enforce(deps, c, [{ policy: 'leads-ip', key: `lead:${w.keyId}:${clientIp(c)}`, limit: 10, windowMs: 60 * 60_000 }])
    const lead = await deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('leads')
        .values({
          license_id: w.licenseId,
          product: w.product,
          conversation_id: conversationId,
          name: body.name,
          email: body.email,
          company: body.company ?? null,
          message: body.message ?? null,
          consent: body.consent,
          answers: JSON.stringify(body.answers ?? {}),
          page_url: pageUrl,
          referrer: body.referrer ?? null,
          user_agent: c.req.header('user-agent')?.slice(0, 1000) ?? null,
          ip_network: anonymizeIp(clientIp(c)),
        })
        .returning(['id', 'created_at'])
        .executeTakeFirstOrThrow()
      await emit(trx, { type: 'lead.created', licenseId: w.licenseId, data: { leadId: row.id, product: w.product as Product, conversationId } })
      return row
    })
    await publishLicense(deps, w.licenseId, { type: 'lead.created', leadId: lead.id, product: w.product, conversationId })
    // Enrichment follows the lead, off the visitor's request: the lead.created consumer (enrichment/enricher.ts).
    return c.json({ lead: { id: lead.id, createdAt: lead.created_at.toISOString() } }, 201)
  })

  app.route('/', identityRoutes(deps, usage))
  return app
}
