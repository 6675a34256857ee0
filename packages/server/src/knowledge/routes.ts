// /api/products/:product/knowledge: the owner's Q&A pairs and documents, which the knowledge engine answers from.
import { z } from '@hono/zod-openapi'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { widgetProductParam } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { addKnowledge, deleteKnowledge, listKnowledge } from './knowledge.js'
import { DeletedSchema, KnowledgeCreatedSchema, KnowledgeInputSchema, KnowledgeListSchema } from './schemas.js'

const TAG = 'knowledge'

export const listKnowledgeRoute = declareRoute({
  method: 'get',
  path: '/api/products/{product}/knowledge',
  operationId: 'listKnowledge',
  summary: 'List the Q&A pairs and documents the knowledge engine answers from',
  tag: TAG,
  access: access.customer('settings:read'),
  errors: ['product_not_purchased'],
  request: { params: widgetProductParam },
  responses: { 200: json(KnowledgeListSchema, 'Every item, oldest first') },
})

export const addKnowledgeRoute = declareRoute({
  method: 'post',
  path: '/api/products/{product}/knowledge',
  operationId: 'addKnowledge',
  summary: 'Add a Q&A pair or a document',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['product_not_purchased'],
  request: { params: widgetProductParam, body: jsonBody(KnowledgeInputSchema) },
  responses: { 201: json(KnowledgeCreatedSchema, 'Added') },
})

export const deleteKnowledgeRoute = declareRoute({
  method: 'delete',
  path: '/api/products/{product}/knowledge/{id}',
  operationId: 'deleteKnowledge',
  summary: 'Delete a Q&A pair or a document',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['not_found'],
  request: { params: widgetProductParam.extend({ id: z.uuid() }) },
  responses: { 200: json(DeletedSchema, 'Deleted') },
})

const publicItem = (i: { id: string; kind: string; title: string; body: string; created_at: Date }) => ({
  id: i.id,
  kind: i.kind as 'qa' | 'doc',
  title: i.title,
  body: i.body,
  createdAt: i.created_at.toISOString(),
})

function assertBought(products: string[], product: string): void {
  if (!products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
}

export function knowledgeRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(listKnowledgeRoute, async (c) => {
    const { product } = c.req.valid('param')
    assertBought(c.get('principal').products, product)
    const items = await listKnowledge(deps.db, tenantOf(c), product)
    return c.json({ items: items.map(publicItem) }, 200)
  })

  app.openapi(addKnowledgeRoute, async (c) => {
    const { product } = c.req.valid('param')
    assertBought(c.get('principal').products, product)
    const licenseId = tenantOf(c)
    const item = await addKnowledge(deps.db, licenseId, product, c.req.valid('json'))
    await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'knowledge.added', target: item.id, ip: clientIp(c), meta: { product } })
    return c.json({ item: publicItem(item) }, 201)
  })

  app.openapi(deleteKnowledgeRoute, async (c) => {
    const { product, id } = c.req.valid('param')
    const licenseId = tenantOf(c)
    if (!(await deleteKnowledge(deps.db, licenseId, product, id))) throw notFound('Knowledge item')
    await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'knowledge.deleted', target: id, ip: clientIp(c), meta: { product } })
    return c.json({ deleted: true as const }, 200)
  })

  return app
}
