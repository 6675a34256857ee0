// /api/knowledge/sources: sites, sitemaps, pages and files the knowledge engine learns from, crawled by durable jobs.
import { z } from '@hono/zod-openapi'
import { actorOf, audit } from '../platform/audit.js'
import { tenantOf } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { WidgetProductSchema } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { DeletedSchema, SourceDetailSchema, SourceInputSchema, SourceListSchema, SourceResultSchema } from './schemas.js'
import { type KnowledgeSources, publicPage, publicSource, UPLOAD_BODY_BYTES } from './sources.js'

const TAG = 'knowledge'
const idParam = z.object({
  id: z
    .string()
    .regex(/^ks_[0-9A-Za-z]{24}$/)
    .openapi({ example: 'ks_3f1c2b7a9d8e4f60a1b2c3d4' }),
})

export const createSourceRoute = declareRoute({
  method: 'post',
  path: '/api/knowledge/sources',
  operationId: 'createKnowledgeSource',
  summary: 'Add a knowledge source (a site, a sitemap, a page or a file); it is crawled in the background',
  description:
    'A file is sent in the JSON body: a text file as its text, a PDF as base64 (up to 10 MiB). A PDF locked with a password answers `file_encrypted`, one that cannot be read `file_corrupt`; its pages are read in the background.',
  tag: TAG,
  access: access.customer('settings:write'),
  // Room for a PDF in base64; every other route keeps BODY_LIMIT_BYTES.
  bodyLimitBytes: UPLOAD_BODY_BYTES,
  errors: ['product_not_purchased', 'url_not_allowed', 'validation_failed', 'file_encrypted', 'file_corrupt', 'payload_too_large'],
  request: { body: jsonBody(SourceInputSchema) },
  responses: { 202: json(SourceResultSchema, 'Accepted: queued for its first sync') },
})

export const listSourcesRoute = declareRoute({
  method: 'get',
  path: '/api/knowledge/sources',
  operationId: 'listKnowledgeSources',
  summary: 'List the knowledge sources, newest first',
  tag: TAG,
  access: access.customer('settings:read'),
  request: { query: z.object({ product: WidgetProductSchema.optional() }) },
  responses: { 200: json(SourceListSchema, 'Every source (of one product when asked)') },
})

export const getSourceRoute = declareRoute({
  method: 'get',
  path: '/api/knowledge/sources/{id}',
  operationId: 'getKnowledgeSource',
  summary: 'A knowledge source with its pages: indexed, or skipped with the reason',
  tag: TAG,
  access: access.customer('settings:read'),
  errors: ['not_found'],
  request: { params: idParam },
  responses: { 200: json(SourceDetailSchema, 'The source and its pages') },
})

export const syncSourceRoute = declareRoute({
  method: 'post',
  path: '/api/knowledge/sources/{id}/sync',
  operationId: 'syncKnowledgeSource',
  summary: 'Sync a knowledge source now: changed pages are re-indexed, gone pages removed, unchanged ones kept',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['not_found'],
  request: { params: idParam },
  responses: { 202: json(SourceResultSchema, 'Accepted: a sync is queued (or already running)') },
})

export const deleteSourceRoute = declareRoute({
  method: 'delete',
  path: '/api/knowledge/sources/{id}',
  operationId: 'deleteKnowledgeSource',
  summary: 'Delete a knowledge source with its pages and passages',
  tag: TAG,
  access: access.customer('settings:write'),
  errors: ['not_found'],
  request: { params: idParam },
  responses: { 200: json(DeletedSchema, 'Deleted') },
})

export function knowledgeSourceRoutes(sources: KnowledgeSources) {
  const app = createRouter()

  app.openapi(createSourceRoute, async (c) => {
    const input = c.req.valid('json')
    if (!c.get('principal').products.includes(input.product)) throw new AppError('product_not_purchased', `This license did not buy ${input.product}`)
    const licenseId = tenantOf(c)
    const source = await sources.create(licenseId, input)
    await audit(sources.db, {
      licenseId,
      ...actorOf(c.get('principal')),
      action: 'knowledge.source_added',
      target: source.id,
      ip: clientIp(c),
      meta: { product: source.product, kind: source.kind, url: source.url, file: source.file_name },
    })
    return c.json({ source: publicSource(source) }, 202)
  })

  app.openapi(listSourcesRoute, async (c) => {
    const { product } = c.req.valid('query')
    const rows = await sources.list(tenantOf(c), product)
    return c.json({ sources: rows.map(publicSource) }, 200)
  })

  app.openapi(getSourceRoute, async (c) => {
    const { source, pages } = await sources.get(tenantOf(c), c.req.valid('param').id)
    return c.json({ source: publicSource(source), pages: pages.map(publicPage) }, 200)
  })

  app.openapi(syncSourceRoute, async (c) => {
    const licenseId = tenantOf(c)
    const source = await sources.sync(licenseId, c.req.valid('param').id)
    await audit(sources.db, { licenseId, ...actorOf(c.get('principal')), action: 'knowledge.source_synced', target: source.id, ip: clientIp(c) })
    return c.json({ source: publicSource(source) }, 202)
  })

  app.openapi(deleteSourceRoute, async (c) => {
    const licenseId = tenantOf(c)
    const source = await sources.delete(licenseId, c.req.valid('param').id)
    await audit(sources.db, { licenseId, ...actorOf(c.get('principal')), action: 'knowledge.source_deleted', target: source.id, ip: clientIp(c) })
    return c.json({ deleted: true as const }, 200)
  })

  return app
}
