// Wire shapes of conversations and messages, for the customer's routes (routes.ts) and the
// widget's: every success answer is a named component of the OpenAPI document.
import { z } from '@hono/zod-openapi'
import { KnowledgeProgressSchema } from '../platform/live.js'
import { WidgetProductSchema } from '../platform/products.js'

const dateTime = z.iso.datetime({ offset: true })

export { widgetProductParam } from '../platform/products.js'
export const conversationIdParam = z.object({ id: z.uuid() })

import { pageQuery } from '../platform/pagination.js'

export { pageQuery }

export const RatingSchema = z.enum(['helpful', 'not_helpful']).openapi('Rating')
export const ConversationStatusSchema = z.enum(['open', 'waiting', 'closed']).openapi('ConversationStatus')

export const conversationListQuery = pageQuery.extend({
  status: ConversationStatusSchema.optional().openapi({ description: 'Only conversations in this status' }),
})

export const MessageRoleSchema = z.enum(['visitor', 'assistant', 'agent', 'system']).openapi('MessageRole')

export const MessageSchema = z
  .object({
    id: z.uuid(),
    conversationId: z.uuid(),
    seq: z.number().int().min(1).openapi({ description: '1, 2, 3… within the conversation' }),
    role: MessageRoleSchema,
    text: z.string(),
    clientMessageId: z.string().nullable().openapi({ description: 'The sender’s idempotency id, when it gave one' }),
    sources: z
      .array(z.object({ url: z.string().nullable(), title: z.string() }).openapi('MessageSource'))
      .openapi({ description: 'The knowledge pages the answer comes from (crawled pages have a URL; uploaded files do not)' }),
    createdAt: dateTime,
    rating: RatingSchema.nullable().optional().openapi({ description: 'Assistant messages only: the visitor’s rating, null until rated' }),
    unanswered: z.literal(true).optional().openapi({ description: 'Assistant messages only: the bot did not know (the conversation waits for a person)' }),
  })
  .openapi('Message')

export const AttributesSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .openapi('ConversationAttributes', { description: 'Custom attributes the page set with Intelagent("update", …)' })

export const ConversationSchema = z
  .object({
    id: z.uuid(),
    product: WidgetProductSchema,
    status: ConversationStatusSchema,
    visitorId: z.uuid(),
    pageUrl: z.string().nullable(),
    attributes: AttributesSchema,
    user: z
      .object({ id: z.string(), email: z.string().nullable(), name: z.string().nullable() })
      .nullable()
      .openapi({ description: 'The verified user (Intelagent("identify", …)); null for an anonymous visitor' }),
    waitingReason: z
      .enum(['unanswered', 'visitor_request', 'quota'])
      .nullable()
      .openapi({ description: 'Why it waits for a person (status waiting), else null' }),
    closedAt: dateTime.nullable(),
    closedBy: z.enum(['owner', 'inactivity']).nullable(),
    takenOver: z
      .object({ at: dateTime, by: z.string().nullable() })
      .nullable()
      .openapi({ description: 'A person took the conversation over: the bot does not answer in it until handed back' }),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .openapi('Conversation')

export const ConversationSummarySchema = ConversationSchema.extend({
  lastMessage: z.object({ text: z.string(), role: MessageRoleSchema, createdAt: dateTime }).nullable(),
  messageCount: z.number().int().min(0),
}).openapi('ConversationSummary')

export const ConversationPageSchema = z
  .object({
    conversations: z.array(ConversationSummarySchema),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as cursor for the next page; null on the last page' }),
  })
  .openapi('ConversationPage')

export const ConversationDetailSchema = z
  .object({ conversation: ConversationSchema, messages: z.array(MessageSchema).openapi({ description: 'Oldest first' }) })
  .openapi('ConversationDetail')

export const ReplyInputSchema = z
  .strictObject({ text: z.string().trim().min(1).max(4000), clientMessageId: z.string().min(1).max(64).optional() })
  .openapi('ReplyInput')

export const ConversationResponseSchema = z.object({ conversation: ConversationSchema }).openapi('ConversationResponse')

export const MessageResponseSchema = z.object({ message: MessageSchema }).openapi('MessageResponse')

/** The `data:` of the dashboard's live events (GET /api/events): `event:` names the type (each title below). */
export const LiveEventSchema = z
  .union([
    z.object({}).openapi({ title: 'ready' }),
    z.object({ conversationId: z.uuid(), product: WidgetProductSchema }).openapi({ title: 'conversation.created' }),
    z.object({ conversationId: z.uuid(), product: WidgetProductSchema, message: MessageSchema }).openapi({ title: 'message.created' }),
    z.object({ leadId: z.uuid(), product: WidgetProductSchema, conversationId: z.uuid().nullable() }).openapi({ title: 'lead.created' }),
    z
      .object({
        conversationId: z.uuid(),
        product: WidgetProductSchema,
        status: ConversationStatusSchema,
        waitingReason: z.enum(['unanswered', 'visitor_request', 'quota']).nullable(),
        takenOver: z.boolean(),
      })
      .openapi({ title: 'conversation.updated' }),
    KnowledgeProgressSchema,
    z.object({ reason: z.string() }).openapi({ title: 'revoked' }),
  ])
  .openapi('LiveEventData')

/**
 * A text/event-stream answer. The stream is text (`event:` names the type, `data:` carries JSON, `id:` where the
 * stream is resumable); the schema given is that of each event's `data:`, so generated clients know its shape.
 */
export const eventStream = (data: z.ZodType, description: string) => ({ description, content: { 'text/event-stream': { schema: data } } })
