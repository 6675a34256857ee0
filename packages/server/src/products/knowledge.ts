// /api/products/:product/knowledge and /secrets: the owner's Q&A and documents, and integration secrets
// (n8n signing secret, OpenAI key) stored encrypted and only ever shown as a hint.
import { createRoute, z } from '@hono/zod-openapi'
import { actorOf, audit } from '../audit/log.js'
import { tenantOf } from '../auth/middleware.js'
import type { Deps } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { listSecretHints, putSecret } from '../platform/secrets.js'
import { addKnowledge, deleteKnowledge, knowledgeItemSchema, listKnowledge } from '../replies/knowledge.js'

const security = [{ bearerAuth: [] }]
const widgetProduct = z.object({ product: z.enum(['chatbot', 'sales-agent']) })
/** Products with integration secrets: the widget products' reply engines, data enrichment's firmographics webhook. */
const secretProduct = z.object({ product: z.enum(['chatbot', 'sales-agent', 'data-enrichment']) })
export const SECRET_NAMES = ['webhook_signing_secret', 'openai_api_key', 'identity_secret'] as const
/** The identity secret signs user ids (an HMAC key): shorter owner-chosen values would be guessable. */
const MIN_IDENTITY_SECRET = 32

function assertBought(products: string[], product: string): void {
  if (!products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
}

export function knowledgeRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/products/{product}/knowledge',
      tags: ['knowledge'],
      security,
      request: { params: widgetProduct },
      responses: { 200: { description: 'Q&A pairs and documents' } },
    }),
    async (c) => {
      const { product } = c.req.valid('param')
      assertBought(c.get('principal').products, product)
      const items = await listKnowledge(deps.db, tenantOf(c), product)
      return c.json({ items: items.map((i) => ({ id: i.id, kind: i.kind, title: i.title, body: i.body, createdAt: i.created_at.toISOString() })) }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/products/{product}/knowledge',
      tags: ['knowledge'],
      security,
      request: { params: widgetProduct, body: jsonBody(knowledgeItemSchema) },
      responses: { 201: { description: 'Added' } },
    }),
    async (c) => {
      const { product } = c.req.valid('param')
      assertBought(c.get('principal').products, product)
      const licenseId = tenantOf(c)
      const item = await addKnowledge(deps.db, licenseId, product, c.req.valid('json'))
      await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'knowledge.added', target: item.id, ip: clientIp(c), meta: { product } })
      return c.json({ item: { id: item.id, kind: item.kind, title: item.title, body: item.body, createdAt: item.created_at.toISOString() } }, 201)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/products/{product}/knowledge/{id}',
      tags: ['knowledge'],
      security,
      request: { params: widgetProduct.extend({ id: z.uuid() }) },
      responses: { 200: { description: 'Deleted' } },
    }),
    async (c) => {
      const { product, id } = c.req.valid('param')
      const licenseId = tenantOf(c)
      if (!(await deleteKnowledge(deps.db, licenseId, product, id))) throw notFound('Knowledge item')
      await audit(deps.db, { licenseId, ...actorOf(c.get('principal')), action: 'knowledge.deleted', target: id, ip: clientIp(c), meta: { product } })
      return c.json({ deleted: true }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/products/{product}/secrets',
      tags: ['knowledge'],
      security,
      request: { params: secretProduct },
      responses: { 200: { description: 'Which integration secrets are stored, as hints only' } },
    }),
    async (c) => {
      const { product } = c.req.valid('param')
      assertBought(c.get('principal').products, product)
      const rows = await listSecretHints(deps.db, tenantOf(c), product)
      return c.json({ secrets: rows.map((r) => ({ name: r.name, hint: r.hint, updatedAt: r.updatedAt.toISOString() })) }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/products/{product}/secrets/{name}',
      tags: ['knowledge'],
      security,
      request: {
        params: secretProduct.extend({ name: z.enum(SECRET_NAMES) }),
        body: jsonBody(z.strictObject({ value: z.string().min(8).max(500) })),
      },
      responses: { 200: { description: 'Stored encrypted; only a hint is returned' } },
    }),
    async (c) => {
      const licenseId = tenantOf(c)
      const { product, name } = c.req.valid('param')
      assertBought(c.get('principal').products, product)
      const { value } = c.req.valid('json')
      if (name === 'identity_secret' && value.length < MIN_IDENTITY_SECRET)
        throw new AppError('validation_failed', `value: an identity secret needs at least ${MIN_IDENTITY_SECRET} characters`)
      const hint = await putSecret(deps, licenseId, product, name, value)
      await audit(deps.db, {
        licenseId,
        ...actorOf(c.get('principal')),
        action: 'settings.updated',
        target: `${product}:${name}`,
        ip: clientIp(c),
        meta: { secret: name },
      })
      return c.json({ name, hint }, 200)
    },
  )

  return app
}
