// Wire shapes of the public widget API (/api/widget/*): request bodies and every success answer, as named
// components of the OpenAPI document (the widget's and the SDK's wire types are generated from them).
import { z } from '@hono/zod-openapi'
import { ConversationSchema, MessageSchema, RatingSchema } from '../conversations/schemas.js'
import { seqSchema } from '../platform/input.js'
import { WidgetProductSchema } from '../platform/products.js'
import { ENGINES, WIDGET_LOCALES } from '../settings/settings.js'

const dateTime = z.iso.datetime({ offset: true })

export const conversationIdParam = z.object({ id: z.uuid() })
export const messageIdParam = z.object({ id: z.uuid(), messageId: z.uuid() })

export const RateInputSchema = z.strictObject({ rating: RatingSchema }).openapi('RateInput')

export const WidgetConfigSchema = z
  .object({
    product: WidgetProductSchema,
    botName: z.string(),
    greeting: z.string(),
    color: z.string().openapi({ example: '#4f46e5' }),
    position: z.enum(['bottom-right', 'bottom-left']),
    engine: z.enum(ENGINES),
    streaming: z.boolean().openapi({ description: 'Replies arrive token by token on the event stream (the openai engine)' }),
    sales: z
      .object({ questions: z.array(z.string()), consentText: z.string() })
      .nullable()
      .openapi({ description: 'The sales agent’s questions' }),
    suggestions: z
      .array(z.string())
      .openapi({ description: 'Questions to offer as buttons under the greeting until the visitor’s first message (at most 5; may be empty)' }),
    locale: z.enum(WIDGET_LOCALES),
    branding: z.boolean().openapi({ description: 'Show the “Powered by Intelagent” line (false only on plans that remove branding)' }),
  })
  .openapi('WidgetConfig')

export const StartConversationInputSchema = z
  .strictObject({
    visitorId: z.uuid().optional(),
    visitorSecret: z.string().min(10).max(100).optional(),
    conversationId: z.uuid().optional().openapi({ description: 'Resume this conversation when it belongs to the visitor' }),
    pageUrl: z.string().max(2000).optional(),
  })
  .openapi('StartConversationInput')

const visitorToken = z.string().openapi({ description: 'Short-lived (1 hour) token for this visitor’s conversation calls (Authorization: Bearer)' })

export const StartConversationResponseSchema = z
  .object({
    conversation: ConversationSchema,
    visitorId: z.uuid(),
    visitorSecret: z.string().optional().openapi({ description: 'Only for a new visitor: keep it to resume later' }),
    visitorToken,
    expiresAt: dateTime,
    messages: z.array(MessageSchema),
    handoff: z
      .boolean()
      .optional()
      .openapi({ description: 'Past a quota or the visitor’s cap (or flagged): no engine replies; a person answers and the widget asks for an email' }),
  })
  .openapi('StartConversationResponse')

export const SendMessageInputSchema = z
  .strictObject({
    clientMessageId: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/)
      .openapi({ description: 'The sender’s id for the message: a retry with the same id is stored once' }),
    text: z.string().trim().min(1).max(4000),
    pageUrl: z.string().max(2000).optional().openapi({ description: 'The page the visitor is on as they send' }),
  })
  .openapi('SendMessageInput')

export const SendMessageResponseSchema = z
  .object({
    message: MessageSchema,
    replies: z.array(MessageSchema).openapi({ description: 'Replies produced before the answer was sent (the knowledge engine answers at once)' }),
    handoff: z.boolean().optional().openapi({ description: 'Stored past a quota or cap: no engine reply; a person answers' }),
  })
  .openapi('SendMessageResponse')

export const messagesQuery = z.object({ after: seqSchema.default(0).openapi({ description: 'Only messages with a higher seq' }) })

export const MessageListSchema = z.object({ messages: z.array(MessageSchema) }).openapi('MessageList')

export const eventsQuery = z.object({
  key: z.string().optional().openapi({ description: 'The product key, for EventSource (which cannot send headers)' }),
  token: z.string().optional().openapi({ description: 'The visitor token, for EventSource' }),
  after: z.string().optional().openapi({ description: 'Replay messages with a higher seq first (Last-Event-ID wins when sent)', example: '0' }),
})

/** The widget's stream: `message` (data: Message, id: its seq), `typing`, `token`, and a final `revoked`. */
export const WidgetEventDataSchema = z
  .union([
    MessageSchema,
    z.object({ typing: z.boolean() }).openapi({ title: 'typing' }),
    z.object({ delta: z.string() }).openapi({ title: 'token' }),
    z.object({ reason: z.string() }).openapi({ title: 'revoked' }),
  ])
  .openapi('WidgetEventData')

export const LeadInputSchema = z
  .strictObject({
    conversationId: z.uuid().optional(),
    name: z.string().trim().min(1).max(200),
    email: z.email().max(320),
    company: z.string().trim().max(200).optional(),
    message: z.string().trim().max(4000).optional(),
    consent: z.literal(true, { error: 'consent must be given' }),
    answers: z.record(z.string().max(200), z.string().max(2000)).optional(),
    pageUrl: z.string().max(2000).optional().openapi({ description: 'The page the lead was left on (default: the conversation’s page)' }),
    referrer: z.string().max(2000).optional().openapi({ description: 'The page’s document.referrer, for the traffic source' }),
  })
  .openapi('LeadInput')

export const LeadCreatedSchema = z.object({ lead: z.object({ id: z.uuid(), createdAt: dateTime }) }).openapi('LeadCreated')

export const IdentifyInputSchema = z
  .strictObject({
    // Not trimmed: the hash covers the exact id the site signed.
    userId: z.string().min(1).max(200).openapi({ example: '42' }),
    userHash: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the hex HMAC-SHA256 of userId with the identity secret')
      .openapi({ description: 'hex HMAC-SHA256(identity secret, userId), computed on the site’s server' }),
    email: z.email().max(320).optional(),
    name: z.string().trim().min(1).max(200).optional(),
    visitorId: z.uuid().optional().openapi({ description: 'This browser’s anonymous visitor: its conversation passes to the user' }),
    visitorSecret: z.string().min(10).max(100).optional(),
    conversationId: z.uuid().optional(),
    start: z.boolean().optional().openapi({ description: 'Start a conversation when the user has none (default: only look one up)' }),
    pageUrl: z.string().max(2000).optional(),
  })
  .openapi('IdentifyInput')

export const IdentifyResponseSchema = z
  .object({
    user: z.object({ id: z.string(), email: z.string().nullable(), name: z.string().nullable() }),
    visitorId: z.uuid(),
    visitorToken,
    expiresAt: dateTime,
    // A union, not .nullable(): on a registered schema that documents allOf [Conversation, null], which null fails.
    conversation: z.union([ConversationSchema, z.null()]).openapi({ description: 'The user’s latest conversation, or null' }),
    messages: z.array(MessageSchema),
  })
  .openapi('IdentifyResponse')

export const AttributesResponseSchema = z
  .object({ attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) })
  .openapi('AttributesResponse')
