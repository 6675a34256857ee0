// Customer side of conversations: lists per product, one conversation with its messages, a human reply, and the
// dashboard's live event stream (GET /api/events).
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { KNOWLEDGE_PROGRESS, liveEvents } from '../platform/live.js'
import { decodeCursor, encodeCursor } from '../platform/pagination.js'
import { access, declareRoute, json } from '../platform/route.js'
import { streamChannel } from '../platform/sse.js'
import { type StreamHub, streamTag } from '../platform/streams.js'
import { changeConversation, closeConversation, handBack, reopenConversation, takeOver } from './lifecycle.js'
import { listConversationsPage } from './queries.js'
import {
  ConversationDetailSchema,
  ConversationPageSchema,
  ConversationResponseSchema,
  conversationIdParam,
  conversationListQuery,
  eventStream,
  LiveEventSchema,
  MessageResponseSchema,
  ReplyInputSchema,
  widgetProductParam,
} from './schemas.js'
import { appendMessage, findConversation, licenseChannel, messagesAfter, publicConversation, publicMessage } from './service.js'

const TAG = 'conversations'

export const listConversationsRoute = declareRoute({
  method: 'get',
  path: '/api/products/{product}/conversations',
  operationId: 'listConversations',
  summary: 'List a product’s conversations, most recently active first',
  tag: TAG,
  access: access.customer('conversations:read'),
  request: { params: widgetProductParam, query: conversationListQuery },
  responses: { 200: json(ConversationPageSchema, 'One page of conversations, each with its last message and message count') },
})

export const getConversationRoute = declareRoute({
  method: 'get',
  path: '/api/conversations/{id}',
  operationId: 'getConversation',
  summary: 'Get a conversation with all its messages',
  tag: TAG,
  access: access.customer('conversations:read'),
  errors: ['not_found'],
  request: { params: conversationIdParam },
  responses: { 200: json(ConversationDetailSchema, 'The conversation and its messages, oldest first') },
})

export const replyRoute = declareRoute({
  method: 'post',
  path: '/api/conversations/{id}/messages',
  operationId: 'replyToConversation',
  summary: 'Reply as a human agent; the visitor sees it live and the bot pauses in this conversation (takeover)',
  tag: TAG,
  access: access.customer('conversations:write'),
  errors: ['not_found'],
  request: { params: conversationIdParam, body: jsonBody(ReplyInputSchema) },
  responses: {
    200: json(MessageResponseSchema, 'Already stored under this clientMessageId (a retry)'),
    201: json(MessageResponseSchema, 'Stored and delivered live to the visitor'),
  },
})

/** close, reopen, takeover, handback: the same shape, each one guarded lifecycle change (lifecycle.ts). */
const lifecycleRoute = (action: string, operationId: string, summary: string, description: string) =>
  declareRoute({
    method: 'post',
    path: `/api/conversations/{id}/${action}`,
    operationId,
    summary,
    description,
    tag: TAG,
    access: access.customer('conversations:write'),
    errors: ['not_found'],
    request: { params: conversationIdParam },
    responses: { 200: json(ConversationResponseSchema, 'The conversation as it is now (unchanged when it already was)') },
  })

export const closeConversationRoute = lifecycleRoute(
  'close',
  'closeConversation',
  'Close a conversation',
  'Emits conversation.closed {by: "owner"} and hands the conversation back to the bot. A new visitor message reopens it.',
)
export const reopenConversationRoute = lifecycleRoute(
  'reopen',
  'reopenConversation',
  'Reopen a closed or waiting conversation',
  'Emits conversation.reopened when it was not open.',
)
export const takeOverConversationRoute = lifecycleRoute(
  'takeover',
  'takeOverConversation',
  'Take a conversation over: the bot stops answering in it',
  'A reply from the dashboard does the same. The bot answers again after handback or close.',
)
export const handBackConversationRoute = lifecycleRoute(
  'handback',
  'handBackConversation',
  'Hand a conversation back to the bot',
  'The bot answers the next visitor message again.',
)

export const liveEventsRoute = declareRoute({
  method: 'get',
  path: '/api/events',
  operationId: 'streamLiveEvents',
  summary: 'Stream the license’s live events (Server-Sent Events) to the dashboard',
  description:
    'Events: ready, conversation.created, message.created, lead.created, conversation.updated (status or takeover changed), knowledge.source.progress (a knowledge source’s crawl: status and page counts, a few a second at most per source; to sessions and keys with settings:read) (data: LiveEventData); a final revoked event ({reason}) when the session or key is revoked or the license suspended.',
  tag: TAG,
  access: access.customer('conversations:read'),
  errors: ['too_many_streams'],
  responses: { 200: eventStream(LiveEventSchema, 'An event stream; each event’s `data:` is JSON (LiveEventData)') },
})

export function conversationRoutes(deps: Deps, streams: StreamHub) {
  const app = createRouter()

  app.openapi(listConversationsRoute, async (c) => {
    const licenseId = tenantOf(c)
    const { product } = c.req.valid('param')
    const { limit, cursor, status } = c.req.valid('query')
    // The entries come as Postgres wrote them (queries.ts): passed through, not parsed and serialized again.
    const page = await listConversationsPage(deps.db, licenseId, product, limit, decodeCursor(cursor), status)
    const nextCursor = page.next ? JSON.stringify(encodeCursor(page.next)) : 'null'
    return c.body(`{"conversations":${page.conversations},"nextCursor":${nextCursor}}`, 200, {
      'Content-Type': 'application/json',
    }) as never
  })

  app.openapi(getConversationRoute, async (c) => {
    const licenseId = tenantOf(c)
    const conv = await findConversation(deps, licenseId, c.req.valid('param').id)
    if (!conv) throw notFound('Conversation')
    const messages = await messagesAfter(deps, licenseId, conv.id, 0, 1000)
    return c.json({ conversation: publicConversation(conv), messages: messages.map(publicMessage) }, 200)
  })

  app.openapi(replyRoute, async (c) => {
    const licenseId = tenantOf(c)
    const conv = await findConversation(deps, licenseId, c.req.valid('param').id)
    if (!conv) throw notFound('Conversation')
    const body = c.req.valid('json')
    const p = c.get('principal')
    const by = p.email ?? p.kind
    // A person answering takes the conversation over: the bot pauses in it until handed back (or closed).
    const { message, created } = await appendMessage(
      deps,
      {
        licenseId,
        conversationId: conv.id,
        product: conv.product,
        role: 'agent',
        text: body.text,
        clientMessageId: body.clientMessageId ?? null,
        meta: { by },
      },
      (trx) => takeOver(trx, conv, by, new Date(deps.clock.now())),
    )
    if (created && (!conv.taken_over_at || conv.status !== 'open')) await changeConversation(deps, conv, async () => undefined)
    // A reply speaks for the business: who sent it (and with which key) is on record; a retry is not a second act.
    if (created)
      await audit(deps.db, { licenseId, ...actorOf(p), action: 'conversation.replied', target: conv.id, ip: clientIp(c), meta: { messageId: message.id } })
    return c.json({ message: publicMessage(message) }, created ? 201 : 200)
  })

  const lifecycle = (
    route: typeof closeConversationRoute,
    action: 'closed' | 'reopened' | 'taken_over' | 'handed_back',
    change: (
      trx: Parameters<Parameters<typeof changeConversation>[2]>[0],
      conv: { id: string; license_id: string; product: string },
      now: Date,
      by: string,
    ) => Promise<unknown>,
  ) =>
    app.openapi(route, async (c) => {
      const licenseId = tenantOf(c)
      const conv = await findConversation(deps, licenseId, c.req.valid('param').id)
      if (!conv) throw notFound('Conversation')
      const p = c.get('principal')
      const row = await changeConversation(deps, conv, (trx, now) => change(trx, conv, now, p.email ?? p.kind))
      await audit(deps.db, { licenseId, ...actorOf(p), action: `conversation.${action}`, target: conv.id, ip: clientIp(c), meta: { status: row.status } })
      return c.json({ conversation: publicConversation(row) }, 200)
    })
  lifecycle(closeConversationRoute, 'closed', (trx, conv, now) => closeConversation(trx, conv, 'owner', now))
  lifecycle(reopenConversationRoute, 'reopened', (trx, conv, now) => reopenConversation(trx, conv, now))
  lifecycle(takeOverConversationRoute, 'taken_over', (trx, conv, now, by) => takeOver(trx, conv, by, now))
  lifecycle(handBackConversationRoute, 'handed_back', (trx, conv, now) => handBack(trx, conv, now))

  app.openapi(liveEventsRoute, async (c) => {
    const licenseId = tenantOf(c)
    const p = c.get('principal')
    const credential = p.sessionId ? streamTag.session(p.sessionId) : p.keyId ? streamTag.key(p.keyId) : undefined
    const lease = await streams.open(
      [streamTag.license(licenseId), ...(credential ? [credential] : [])],
      [{ name: 'license', key: `events:license:${licenseId}`, limit: deps.config.streamCaps.perLicense }],
    )
    // Crawl progress is knowledge, not conversations: a key sees it only with the scope that reads the sources.
    const hideKnowledge = p.scopes !== null && !p.scopes.includes('settings:read')
    return streamChannel(c, deps.cache, licenseChannel(licenseId), {
      lease,
      draining: deps.draining,
      replay: (stream) => stream.writeSSE({ event: 'ready', data: '{}' }),
      async write(stream, raw) {
        for (const { type, ...data } of liveEvents<{ type: string }>(raw)) {
          if (hideKnowledge && type === KNOWLEDGE_PROGRESS) continue
          await stream.writeSSE({ event: type, data: JSON.stringify(data) })
        }
      },
    })
  })

  return app
}
