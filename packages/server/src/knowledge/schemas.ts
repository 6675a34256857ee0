// Wire shapes of /api/products/{product}/knowledge, registered as named components of the OpenAPI document.
import { z } from '@hono/zod-openapi'
import { knowledgeItemSchema } from './knowledge.js'

const dateTime = z.iso.datetime({ offset: true })

export const KnowledgeInputSchema = knowledgeItemSchema.openapi('KnowledgeInput')

export const KnowledgeItemSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['qa', 'doc']),
    title: z.string().openapi({ description: 'The question (qa) or the document’s title (doc)' }),
    body: z.string().openapi({ description: 'The answer (qa) or the document’s text (doc)' }),
    createdAt: dateTime,
  })
  .openapi('KnowledgeItem')

export const KnowledgeListSchema = z.object({ items: z.array(KnowledgeItemSchema) }).openapi('KnowledgeList')
export const KnowledgeCreatedSchema = z.object({ item: KnowledgeItemSchema }).openapi('KnowledgeCreated')
export const DeletedSchema = z.object({ deleted: z.literal(true) }).openapi('Deleted')
