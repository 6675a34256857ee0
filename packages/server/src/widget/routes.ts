// /api/widget: the public API behind the script tag (docs/widget-api.md): config, conversations, messages,
// the live event stream and leads.
import { randomUUID } from 'node:crypto'
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { enqueueReply, respond } from '../conversations/respond.js'
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
import { enrichLead } from '../enrichment/enricher.js'
import { anonymizeIp } from '../enrichment/ip-country.js'
import type { KeyResolver } from '../keys/resolver.js'
import type { AppEnv, Deps } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { clientIp, createRouter, jsonBody, optionalJsonBody } from '../platform/http.js'
import { seqSchema } from '../platform/input.js'
import type { Product } from '../platform/products.js'
import { streamChannel } from '../platform/sse.js'
import { type StreamHub, streamTag } from '../platform/streams.js'
import { getSettings } from '../products/settings.js'
import { enforce, tierWidgetStreams } from '../ratelimit/index.js'
import type { Engines } from '../replies/index.js'
import { gateConversation, gateMessage, type Usage } from '../usage/meter.js'
import { identityRoutes } from './identity.js'
import { visitorAuth, widgetAuth, widgetBudget } from './middleware.js'
import { checkVisitor, createVisitor, signVisitorToken, verifyVisitorToken } from './visitors.js'

const security = [{ productKey: [] }]
const convParam = z.object({ id: z.uuid() })
export const MESSAGE_LIMIT_PER_VISITOR_MINUTE = 30

function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization')
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined
}

export function widgetRoutes(deps: Deps, keys: KeyResolver, engines: Engines, streams: StreamHub, usage: Usage) {
  const app = createRouter()
  // Order matters: key, origin and visitor token are all checked before the license's widget budget is charged.
  app.use('/api/widget/*', widgetAuth(deps, keys))
  app.use('/api/widget/conversations/:id/messages', visitorAuth(deps))
  app.use('/api/widget/conversations/:id/events', visitorAuth(deps, { queryToken: true }))
  app.use('/api/widget/leads', visitorAuth(deps, { optional: true }))
  app.use('/api/widget/*', widgetBudget(deps))

  /** The caller's own conversation, or 404 (another visitor's or license's conversation does not exist for them). */
  async function ownConversation(c: Context<AppEnv>, id: string, token: string | undefined) {
    const w = c.get('widget')
    const visitorId = c.get('visitorId') ?? (await verifyVisitorToken(deps, w.licenseId, token))
    const conv = await findConversation(deps, w.licenseId, id)
    if (!conv || conv.visitor_id !== visitorId || conv.product !== w.product) throw notFound('Conversation')
    return conv
  }

  app.openapi(
    createRoute({ method: 'get', path: '/api/widget/config', tags: ['widget'], security, responses: { 200: { description: 'What the widget shows' } } }),
    async (c) => {
      const w = c.get('widget')
      const s = await getSettings(deps.db, w.licenseId, w.product)
      c.header('Cache-Control', 'private, max-age=60')
      return c.json(
        {
          product: w.product,
          botName: s.botName,
          greeting: s.greeting,
          color: s.color,
          position: s.position,
          engine: s.engine,
          streaming: s.engine === 'openai',
          sales: w.product === 'sales-agent' ? s.sales : null,
          locale: s.locale,
        },
        200,
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/widget/conversations',
      tags: ['widget'],
      security,
      request: {
        body: optionalJsonBody(
          z.strictObject({
            visitorId: z.uuid().optional(),
            visitorSecret: z.string().min(10).max(100).optional(),
            conversationId: z.uuid().optional(),
            pageUrl: z.string().max(2000).optional(),
          }),
        ),
      },
      responses: { 200: { description: 'Resumed' }, 201: { description: 'Started' } },
    }),
    async (c) => {
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
      const conversationId = randomUUID()
      const unmetered = await gateConversation(usage, { licenseId: w.licenseId, tier: w.tier }, visitorId, conversationId)
      const conv = await deps.db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('conversations')
          .values({
            id: conversationId,
            license_id: w.licenseId,
            product: w.product,
            product_key_id: w.keyId,
            visitor_id: visitorId,
            page_url: body.pageUrl ?? null,
            unmetered,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
        await emit(trx, {
          type: 'conversation.created',
          licenseId: w.licenseId,
          data: { conversationId: row.id, product: w.product as Product, visitorId, pageUrl: row.page_url },
        })
        return row
      })
      // Live pushes stay direct (not through the event dispatcher): docs/architecture.md says why.
      await publishLicense(deps, w.licenseId, { type: 'conversation.created', conversationId: conv.id, product: conv.product })
      const settings = await getSettings(deps.db, w.licenseId, w.product)
      const messages = []
      if (settings.greeting) {
        const { message } = await appendMessage(deps, {
          licenseId: w.licenseId,
          conversationId: conv.id,
          product: conv.product,
          role: 'assistant',
          text: settings.greeting,
          meta: { greeting: true },
        })
        messages.push(publicMessage(message))
      }
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
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/widget/conversations/{id}/messages',
      tags: ['widget'],
      security,
      request: {
        params: convParam,
        body: jsonBody(
          z.strictObject({
            clientMessageId: z
              .string()
              .min(1)
              .max(64)
              .regex(/^[A-Za-z0-9_-]+$/),
            text: z.string().trim().min(1).max(4000),
            /** The page the visitor is on as they send (single-page apps change it without a reload). */
            pageUrl: z.string().max(2000).optional(),
          }),
        ),
      },
      responses: { 200: { description: 'Already stored (replay)' }, 201: { description: 'Stored' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const body = c.req.valid('json')
      const conv = await ownConversation(c, id, bearer(c))
      await enforce(deps, c, [
        { policy: 'visitor-messages', key: `msg:${conv.visitor_id}`, limit: MESSAGE_LIMIT_PER_VISITOR_MINUTE * deps.config.rateLimitScale, windowMs: 60_000 },
      ])
      const settings = await getSettings(deps.db, conv.license_id, conv.product)
      // Past a quota or cap the message is still stored and the owner told (usage.limited); a person answers it.
      const handoff = await gateMessage(usage, c.get('widget').tier, conv, body.clientMessageId)
      // Offline retrieval answers in milliseconds, inside the request; engines that call out answer from a
      // durable job committed with the message, so a crash after this answer still produces the reply.
      const inline = settings.engine === 'knowledge' && !handoff
      const { message, created } = await appendMessage(
        deps,
        {
          licenseId: conv.license_id,
          conversationId: conv.id,
          product: conv.product,
          role: 'visitor',
          text: body.text,
          clientMessageId: body.clientMessageId,
          ...(body.pageUrl || handoff ? { meta: { ...(body.pageUrl ? { pageUrl: body.pageUrl } : {}), ...(handoff ? { handoff } : {}) } } : {}),
        },
        handoff
          ? (trx, m) =>
              handoff === 'flagged'
                ? Promise.resolve()
                : emit(trx, {
                    type: 'usage.limited',
                    licenseId: conv.license_id,
                    data: { quota: handoff, conversationId: conv.id, messageId: m.id, product: conv.product as Product },
                  })
          : inline
            ? undefined
            : enqueueReply,
      )
      if (!created) return c.json({ message: publicMessage(message), replies: [], ...(handoff ? { handoff: true } : {}) }, 200)
      if (handoff) return c.json({ message: publicMessage(message), replies: [], handoff: true }, 201)
      const replies = []
      if (inline) {
        // Included in the answer as well as on the stream.
        const reply = await respond(deps, engines, conv, message)
        if (reply) replies.push(publicMessage(reply))
      }
      return c.json({ message: publicMessage(message), replies }, 201)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/widget/conversations/{id}/messages',
      tags: ['widget'],
      security,
      request: { params: convParam, query: z.object({ after: seqSchema.default(0) }) },
      responses: { 200: { description: 'Messages after the given seq' } },
    }),
    async (c) => {
      const conv = await ownConversation(c, c.req.valid('param').id, bearer(c))
      const rows = await messagesAfter(deps, conv.license_id, conv.id, c.req.valid('query').after)
      return c.json({ messages: rows.map(publicMessage) }, 200)
    },
  )

  app.get('/api/widget/conversations/:id/events', async (c) => {
    const id = c.req.param('id')
    if (!z.uuid().safeParse(id).success) throw notFound('Conversation')
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
        const event = JSON.parse(raw) as ConversationEvent
        if (event.type === 'message') {
          if (event.message.seq <= lastSeq) return
          lastSeq = event.message.seq
          await stream.writeSSE({ event: 'message', id: String(event.message.seq), data: JSON.stringify(event.message) })
        } else if (event.type === 'typing') {
          await stream.writeSSE({ event: 'typing', data: JSON.stringify({ typing: event.typing }) })
        } else {
          await stream.writeSSE({ event: 'token', data: JSON.stringify({ delta: event.delta }) })
        }
      },
    })
  })

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/widget/leads',
      tags: ['widget'],
      security,
      request: {
        body: jsonBody(
          z.strictObject({
            conversationId: z.uuid().optional(),
            name: z.string().trim().min(1).max(200),
            email: z.email().max(320),
            company: z.string().trim().max(200).optional(),
            message: z.string().trim().max(4000).optional(),
            consent: z.literal(true, { error: 'consent must be given' }),
            answers: z.record(z.string().max(200), z.string().max(2000)).optional(),
            pageUrl: z.string().max(2000).optional().openapi({ description: 'The page the lead was left on (default: the conversation’s page)' }),
            referrer: z.string().max(2000).optional().openapi({ description: 'The page’s document.referrer, for the traffic source' }),
          }),
        ),
      },
      responses: { 201: { description: 'Lead stored' } },
    }),
    async (c) => {
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
      // Enrichment follows the lead, off the visitor's request. When domain events land, a lead.created consumer
      // calls this same enrichLead(deps, leadId) instead of this task.
      deps.tasks.run('enrich-lead', () => enrichLead(deps, lead.id))
      return c.json({ lead: { id: lead.id, createdAt: lead.created_at.toISOString() } }, 201)
    },
  )

  app.route('/', identityRoutes(deps, usage))
  return app
}
