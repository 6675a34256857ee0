// Customer side of conversations: lists per product, one conversation with its messages, a human reply,
// leads, and the dashboard's live event stream (GET /api/events).
import { createRoute, z } from '@hono/zod-openapi'
import { sql } from 'kysely'
import { actorOf, audit } from '../audit/log.js'
import { tenantOf } from '../auth/middleware.js'
import type { Deps } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { streamChannel } from '../platform/sse.js'
import { type StreamHub, streamTag } from '../platform/streams.js'
import { appendMessage, findConversation, licenseChannel, messagesAfter, publicConversation, publicMessage } from './service.js'

const security = [{ bearerAuth: [] }]
const widgetProduct = z.object({ product: z.enum(['chatbot', 'sales-agent']) })
const page = z.object({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().max(200).optional() })

interface Cursor {
  t: string
  id: string
}
const MAX_CURSOR_MS = Date.UTC(10000, 0, 1)
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url')
function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Cursor
    // Years 1970–9999 only: JavaScript dates reach further back than Postgres timestamps, which would fail the query.
    const ms = typeof c.t === 'string' ? Date.parse(c.t) : Number.NaN
    if (!(ms >= 0 && ms < MAX_CURSOR_MS) || typeof c.id !== 'string' || !z.uuid().safeParse(c.id).success) throw new Error('bad')
    return c
  } catch {
    throw new AppError('validation_failed', 'cursor: not a cursor this API returned')
  }
}

export function conversationRoutes(deps: Deps, streams: StreamHub) {
  const app = createRouter()

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/products/{product}/conversations',
      tags: ['conversations'],
      security,
      request: { params: widgetProduct, query: page },
      responses: { 200: { description: 'Conversations, most recently active first' } },
    }),
    async (c) => {
      const licenseId = tenantOf(c)
      const { product } = c.req.valid('param')
      const { limit, cursor } = c.req.valid('query')
      const after = decodeCursor(cursor)
      let q = deps.db
        .selectFrom('conversations as c')
        .selectAll('c')
        .select((eb) => [
          eb.selectFrom('messages as m').select(sql<number>`count(*)::int`.as('n')).whereRef('m.conversation_id', '=', 'c.id').as('message_count'),
        ])
        .where('c.license_id', '=', licenseId)
        .where('c.product', '=', product)
      if (after)
        q = q.where((eb) =>
          eb.or([eb('c.updated_at', '<', new Date(after.t)), eb.and([eb('c.updated_at', '=', new Date(after.t)), eb('c.id', '<', after.id)])]),
        )
      const rows = await q
        .orderBy('c.updated_at', 'desc')
        .orderBy('c.id', 'desc')
        .limit(limit + 1)
        .execute()
      const pageRows = rows.slice(0, limit)
      const last = await Promise.all(
        pageRows.map((r) =>
          deps.db
            .selectFrom('messages')
            .select(['text', 'role', 'created_at'])
            .where('license_id', '=', licenseId)
            .where('conversation_id', '=', r.id)
            .orderBy('seq', 'desc')
            .limit(1)
            .executeTakeFirst(),
        ),
      )
      const tail = pageRows[pageRows.length - 1]
      return c.json(
        {
          conversations: pageRows.map((r, i) => {
            const m = last[i]
            return {
              ...publicConversation(r),
              messageCount: Number(r.message_count ?? 0),
              lastMessage: m ? { text: m.text, role: m.role, createdAt: m.created_at.toISOString() } : null,
            }
          }),
          nextCursor: rows.length > limit && tail ? encodeCursor({ t: tail.updated_at.toISOString(), id: tail.id }) : null,
        },
        200,
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/conversations/{id}',
      tags: ['conversations'],
      security,
      request: { params: z.object({ id: z.uuid() }) },
      responses: { 200: { description: 'A conversation with all its messages' } },
    }),
    async (c) => {
      const licenseId = tenantOf(c)
      const conv = await findConversation(deps, licenseId, c.req.valid('param').id)
      if (!conv) throw notFound('Conversation')
      const messages = await messagesAfter(deps, licenseId, conv.id, 0, 1000)
      return c.json({ conversation: publicConversation(conv), messages: messages.map(publicMessage) }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/conversations/{id}/messages',
      tags: ['conversations'],
      security,
      request: {
        params: z.object({ id: z.uuid() }),
        body: jsonBody(z.strictObject({ text: z.string().trim().min(1).max(4000), clientMessageId: z.string().min(1).max(64).optional() })),
      },
      responses: { 201: { description: 'A human reply, delivered live to the visitor' } },
    }),
    async (c) => {
      const licenseId = tenantOf(c)
      const conv = await findConversation(deps, licenseId, c.req.valid('param').id)
      if (!conv) throw notFound('Conversation')
      const body = c.req.valid('json')
      const p = c.get('principal')
      const { message, created } = await appendMessage(deps, {
        licenseId,
        conversationId: conv.id,
        product: conv.product,
        role: 'agent',
        text: body.text,
        clientMessageId: body.clientMessageId ?? null,
        meta: { by: p.email ?? p.kind },
      })
      // A reply speaks for the business: who sent it (and with which key) is on record; a retry is not a second act.
      if (created)
        await audit(deps.db, { licenseId, ...actorOf(p), action: 'conversation.replied', target: conv.id, ip: clientIp(c), meta: { messageId: message.id } })
      return c.json({ message: publicMessage(message) }, created ? 201 : 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/products/{product}/leads',
      tags: ['conversations'],
      security,
      request: { params: widgetProduct, query: page },
      responses: { 200: { description: 'Leads, newest first' } },
    }),
    async (c) => {
      const licenseId = tenantOf(c)
      const { product } = c.req.valid('param')
      const { limit, cursor } = c.req.valid('query')
      const after = decodeCursor(cursor)
      let q = deps.db.selectFrom('leads').selectAll().where('license_id', '=', licenseId).where('product', '=', product)
      if (after)
        q = q.where((eb) => eb.or([eb('created_at', '<', new Date(after.t)), eb.and([eb('created_at', '=', new Date(after.t)), eb('id', '<', after.id)])]))
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute()
      const pageRows = rows.slice(0, limit)
      const tail = pageRows[pageRows.length - 1]
      return c.json(
        {
          leads: pageRows.map((l) => ({
            id: l.id,
            product: l.product,
            name: l.name,
            email: l.email,
            company: l.company,
            message: l.message,
            consent: l.consent,
            answers: l.answers,
            conversationId: l.conversation_id,
            createdAt: l.created_at.toISOString(),
            pageUrl: l.page_url,
            // What enrichment found (EnrichResult in the OpenAPI document); null until it has run.
            enrichment: l.enrichment,
            enrichedAt: l.enriched_at?.toISOString() ?? null,
          })),
          nextCursor: rows.length > limit && tail ? encodeCursor({ t: tail.created_at.toISOString(), id: tail.id }) : null,
        },
        200,
      )
    },
  )

  app.get('/api/events', async (c) => {
    const licenseId = tenantOf(c)
    const p = c.get('principal')
    const credential = p.sessionId ? streamTag.session(p.sessionId) : p.keyId ? streamTag.key(p.keyId) : undefined
    const lease = await streams.open(
      [streamTag.license(licenseId), ...(credential ? [credential] : [])],
      [{ name: 'license', key: `events:license:${licenseId}`, limit: deps.config.streamCaps.perLicense }],
    )
    return streamChannel(c, deps.cache, licenseChannel(licenseId), {
      lease,
      draining: deps.draining,
      replay: (stream) => stream.writeSSE({ event: 'ready', data: '{}' }),
      async write(stream, raw) {
        const { type, ...data } = JSON.parse(raw) as { type: string }
        await stream.writeSSE({ event: type, data: JSON.stringify(data) })
      },
    })
  })

  return app
}
