// The wire shapes of the signed webhooks: what Squarespace and n8n send, and what they get back. The handlers
// parse the raw body with these (the signature covers the exact bytes), so they are also the documented contract.
import { z } from '@hono/zod-openapi'
import { TIERS } from '../platform/config.js'
import { PRODUCTS } from '../platform/products.js'

export const SquarespaceNotification = z
  .object({
    id: z.string().min(1).max(200).openapi({ example: '5f3a9c2e7b1d4e6f8a0b1c2e' }),
    websiteId: z.string().optional(),
    subscriptionId: z.string().optional(),
    topic: z.string().min(1).openapi({
      description: 'order.create issues a license, order.update removes what a cancelled or refunded order granted; other topics are acknowledged and ignored',
      example: 'order.create',
    }),
    createdOn: z.string().optional(),
    data: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'The topic’s data: for the order topics, `{orderId}`', example: { orderId: '5f3a9c2e7b1d4e6f8a0b1c2d' } }),
  })
  .openapi('SquarespaceNotification')

export const SquarespaceAck = z
  .object({
    received: z.literal(true),
    ignored: z.string().optional().openapi({ description: 'The topic, when it is not an order topic' }),
    duplicate: z.literal(true).optional().openapi({ description: 'A redelivery of a notification already taken care of' }),
  })
  .openapi('SquarespaceAck')

export const N8nLicenseInput = z
  .strictObject({
    orderId: z.string().min(1).max(200).openapi({ example: 'wc-10423' }),
    email: z.email().max(320).openapi({ example: 'owner@shop.example.com' }),
    products: z
      .array(z.enum(PRODUCTS))
      .min(1)
      .openapi({ example: ['chatbot'] }),
    tier: z.enum(TIERS).default('starter'),
  })
  .openapi('N8nLicenseInput')

export const N8nReplyInput = z
  .strictObject({
    conversationId: z.uuid(),
    text: z.string().trim().min(1).max(4000).openapi({ example: 'Your order shipped this morning; tracking is on its way by email.' }),
    replyId: z.string().min(1).max(64).optional().openapi({ description: 'n8n retries deliveries: the same id is stored once', example: 'exec-8812' }),
  })
  .openapi('N8nReplyInput')

export const WebhookMessage = z
  .object({
    id: z.uuid(),
    conversationId: z.uuid(),
    seq: z.number().int(),
    role: z.enum(['visitor', 'assistant', 'agent', 'system']),
    text: z.string(),
    clientMessageId: z.string().nullable(),
    sources: z.array(z.object({ url: z.string().nullable(), title: z.string() })),
    createdAt: z.iso.datetime(),
  })
  .openapi('WebhookMessage')

export const N8nReplyResult = z.object({ message: WebhookMessage }).openapi('N8nReplyResult')

export const IntelagentSignatureHeaders = z.object({
  // Documented, not validated: the handler reads the raw request (header names are case-insensitive).
  'X-Intelagent-Signature': z.string().openapi({
    description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">; several v1 values allowed while a secret rotates',
    example: 't=1767225600,v1=5d41402abc4b2a76b9719d911017c592',
  }),
})

export const SquarespaceSignatureHeaders = z.object({
  'Squarespace-Signature': z.string().openapi({
    description: 'Hex HMAC-SHA256 of the raw body, keyed by the hex-decoded subscription secret',
    example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  }),
})
