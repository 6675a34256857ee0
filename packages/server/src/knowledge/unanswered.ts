// Unanswered questions: what visitors asked that the bot could not answer, collected per product (a repeat of the
// same question, normalised, counts on one entry), ranked by how often it was asked. The owner answers one in place
// (it becomes a Q&A pair in the knowledge base, so the bot answers it next time) or dismisses it.
import { z } from '@hono/zod-openapi'
import type { Kysely } from 'kysely'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import type { ConversationRow, Database, MessageRow } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import type { Product } from '../platform/products.js'
import { widgetProductParam } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { addKnowledge } from './knowledge.js'
import { KnowledgeItemSchema } from './schemas.js'

/** The longest question kept (the message itself may be up to 4,000 characters). */
const MAX_QUESTION = 300

/** Lowercase, accents folded, punctuation and runs of space collapsed: "Do you ship to Norway?!" = "do you ship to norway". */
export function normalizeQuestion(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .slice(0, MAX_QUESTION)
}

/**
 * Records the visitor's question as unanswered (in the caller's transaction, with its question.unanswered event):
 * a new entry, or one more ask of the open entry with the same normalised text.
 */
export async function collectUnanswered(trx: Kysely<Database>, conv: Pick<ConversationRow, 'id' | 'license_id' | 'product'>, message: MessageRow, now: Date) {
  const normalized = normalizeQuestion(message.text)
  if (!normalized) return
  const question = message.text.trim().replace(/\s+/g, ' ').slice(0, MAX_QUESTION)
  await trx
    .insertInto('unanswered_questions')
    .values({
      license_id: conv.license_id,
      product: conv.product,
      normalized,
      question,
      first_asked_at: now,
      last_asked_at: now,
      example_conversation_id: conv.id,
      example_message_id: message.id,
    })
    .onConflict((oc) =>
      oc
        .columns(['license_id', 'product', 'normalized'])
        .where('status', '=', 'open')
        .doUpdateSet((eb) => ({
          count: eb('unanswered_questions.count', '+', 1),
          question,
          last_asked_at: now,
          example_conversation_id: conv.id,
          example_message_id: message.id,
        })),
    )
    .execute()
  await emit(trx, {
    type: 'question.unanswered',
    licenseId: conv.license_id,
    data: { conversationId: conv.id, product: conv.product as Product, messageId: message.id, question },
  })
}

// ---------------------------------------------------------------------------------------------------------
// Routes

const TAG = 'unanswered'
const dateTime = z.iso.datetime({ offset: true })

export const UnansweredQuestionSchema = z
  .object({
    id: z.uuid(),
    question: z.string().openapi({ description: 'The latest wording a visitor used' }),
    normalized: z.string().openapi({ description: 'What groups repeats: lowercase, accents and punctuation dropped' }),
    count: z.number().int().min(1).openapi({ description: 'How many times it was asked' }),
    firstAskedAt: dateTime,
    lastAskedAt: dateTime,
    exampleConversationId: z.uuid().nullable().openapi({ description: 'The conversation it was last asked in' }),
    status: z.enum(['open', 'answered', 'dismissed']),
  })
  .openapi('UnansweredQuestion')

const UnansweredListSchema = z.object({ questions: z.array(UnansweredQuestionSchema).openapi({ description: 'Most asked first' }) }).openapi('UnansweredList')
const AnswerInputSchema = z.strictObject({ answer: z.string().trim().min(1).max(50_000) }).openapi('AnswerUnansweredInput')
const AnsweredSchema = z.object({ question: UnansweredQuestionSchema, item: KnowledgeItemSchema }).openapi('UnansweredAnswered')
const DismissedSchema = z.object({ question: UnansweredQuestionSchema }).openapi('UnansweredDismissed')
const unansweredParam = widgetProductParam.extend({ id: z.uuid() })
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'How many, 1–200' }) })

export const listUnansweredRoute = declareRoute({
  method: 'get',
  path: '/api/products/{product}/unanswered',
  operationId: 'listUnanswered',
  summary: 'List the questions the bot could not answer, most asked first',
  tag: TAG,
  access: access.customer('conversations:read'),
  request: { params: widgetProductParam, query: listQuery },
  responses: { 200: json(UnansweredListSchema, 'The open unanswered questions, by how often they were asked, then most recent') },
})

export const answerUnansweredRoute = declareRoute({
  method: 'post',
  path: '/api/products/{product}/unanswered/{id}/answer',
  operationId: 'answerUnanswered',
  summary: 'Answer an unanswered question: it becomes a Q&A pair in the knowledge base and leaves the list',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['not_found', 'conflict'],
  request: { params: unansweredParam, body: jsonBody(AnswerInputSchema) },
  responses: { 201: json(AnsweredSchema, 'Answered: the knowledge engine answers it from now on') },
})

export const dismissUnansweredRoute = declareRoute({
  method: 'post',
  path: '/api/products/{product}/unanswered/{id}/dismiss',
  operationId: 'dismissUnanswered',
  summary: 'Dismiss an unanswered question (it leaves the list; asked again, it comes back as new)',
  tag: TAG,
  access: access.customer('conversations:write'),
  errors: ['not_found'],
  request: { params: unansweredParam },
  responses: { 200: json(DismissedSchema, 'Dismissed (or already dismissed)') },
})

type UnansweredRow = Awaited<ReturnType<typeof findQuestion>>

const publicQuestion = (q: NonNullable<UnansweredRow>) => ({
  id: q.id,
  question: q.question,
  normalized: q.normalized,
  count: q.count,
  firstAskedAt: q.first_asked_at.toISOString(),
  lastAskedAt: q.last_asked_at.toISOString(),
  exampleConversationId: q.example_conversation_id,
  status: q.status,
})

function findQuestion(db: Kysely<Database>, licenseId: string, product: string, id: string) {
  return db
    .selectFrom('unanswered_questions')
    .selectAll()
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .where('id', '=', id)
    .executeTakeFirst()
}

export function unansweredRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(listUnansweredRoute, async (c) => {
    const { product } = c.req.valid('param')
    const rows = await deps.db
      .selectFrom('unanswered_questions')
      .selectAll()
      .where('license_id', '=', tenantOf(c))
      .where('product', '=', product)
      .where('status', '=', 'open')
      .orderBy('count', 'desc')
      .orderBy('last_asked_at', 'desc')
      .limit(c.req.valid('query').limit)
      .execute()
    return c.json({ questions: rows.map(publicQuestion) }, 200)
  })

  app.openapi(answerUnansweredRoute, async (c) => {
    const { product, id } = c.req.valid('param')
    const licenseId = tenantOf(c)
    const { answer } = c.req.valid('json')
    const now = new Date(deps.clock.now())
    const result = await deps.db.transaction().execute(async (trx) => {
      // Locked: two owners answering at once make one Q&A pair.
      const q = await trx
        .selectFrom('unanswered_questions')
        .selectAll()
        .where('license_id', '=', licenseId)
        .where('product', '=', product)
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst()
      if (!q) throw notFound('Unanswered question')
      if (q.status !== 'open') throw new AppError('conflict', `This question was already ${q.status}`)
      const item = await addKnowledge(trx, licenseId, product, { kind: 'qa', title: q.question, body: answer })
      const updated = await trx
        .updateTable('unanswered_questions')
        .set({ status: 'answered', knowledge_item_id: item.id, resolved_at: now })
        .where('id', '=', q.id)
        .returningAll()
        .executeTakeFirstOrThrow()
      return { item, updated }
    })
    await audit(deps.db, {
      licenseId,
      ...actorOf(c.get('principal')),
      action: 'unanswered.answered',
      target: id,
      ip: clientIp(c),
      meta: { product, knowledgeItemId: result.item.id },
    })
    const i = result.item
    return c.json(
      {
        question: publicQuestion(result.updated),
        item: { id: i.id, kind: i.kind as 'qa' | 'doc', title: i.title, body: i.body, createdAt: i.created_at.toISOString() },
      },
      201,
    )
  })

  app.openapi(dismissUnansweredRoute, async (c) => {
    const { product, id } = c.req.valid('param')
    const licenseId = tenantOf(c)
    const q = await findQuestion(deps.db, licenseId, product, id)
    if (!q) throw notFound('Unanswered question')
    const row =
      q.status === 'open'
        ? ((await deps.db
            .updateTable('unanswered_questions')
            .set({ status: 'dismissed', resolved_at: new Date(deps.clock.now()) })
            .where('id', '=', q.id)
            .where('status', '=', 'open')
            .returningAll()
            .executeTakeFirst()) ?? q)
        : q
    if (q.status === 'open')
      await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'unanswered.dismissed', target: id, ip: clientIp(c), meta: { product } })
    return c.json({ question: publicQuestion(row) }, 200)
  })

  return app
}
