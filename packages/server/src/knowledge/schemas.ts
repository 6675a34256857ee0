// Wire shapes of /api/products/{product}/knowledge, registered as named components of the OpenAPI document.
import { z } from '@hono/zod-openapi'
import { WidgetProductSchema } from '../platform/products.js'
import { knowledgeItemSchema } from './knowledge.js'
import { MAX_PDF_BYTES } from './pdf.js'

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

// ---------------------------------------------------------------------------------------------------------
// Knowledge sources (/api/knowledge/sources)

export const SourceKindSchema = z
  .enum(['site', 'sitemap', 'page', 'file'])
  .openapi('KnowledgeSourceKind', { description: 'A site (crawled from its start URL and sitemaps), a sitemap, one page, or an uploaded file' })

export const SourceInputSchema = z
  .strictObject({
    product: WidgetProductSchema,
    kind: SourceKindSchema,
    url: z.string().trim().min(1).max(2000).optional().openapi({ description: 'Required for site, sitemap and page', example: 'https://www.example.com/' }),
    file: z
      .strictObject({
        name: z.string().trim().min(1).max(200).openapi({
          description: 'A text file’s type is read from the extension: .txt, .md, .html; a .pdf name (or contentType application/pdf) makes it a PDF',
          example: 'faq.md',
        }),
        content: z
          .string()
          .min(1)
          .max(Math.ceil(MAX_PDF_BYTES / 3) * 4)
          .openapi({
            description: `A text file’s text (UTF-8, at most 500 000 characters), or a PDF’s bytes in base64 (at most ${MAX_PDF_BYTES / 1024 / 1024} MiB decoded)`,
          }),
        contentType: z
          .string()
          .max(200)
          .optional()
          .openapi({ description: 'The file’s media type, as a browser reports it; `application/pdf` makes it a PDF', example: 'application/pdf' }),
      })
      .optional()
      .openapi({ description: 'Required for kind "file"' }),
  })
  .openapi('KnowledgeSourceInput')

export const SourceSchema = z
  .object({
    id: z.string().openapi({ example: 'ks_3f1c2b7a9d8e4f60a1b2c3d4' }),
    product: WidgetProductSchema,
    kind: SourceKindSchema,
    url: z.string().nullable(),
    fileName: z.string().nullable(),
    status: z.enum(['queued', 'crawling', 'ready', 'failed']),
    error: z.string().nullable().openapi({ description: 'Why the last sync failed' }),
    pages: z
      .object({ found: z.number().int(), fetched: z.number().int(), skipped: z.number().int() })
      .openapi({ description: 'Of the last (or running) sync: pages found, fetched and indexed, and skipped (each page says why)' }),
    chunks: z.number().int().openapi({ description: 'Passages indexed from this source' }),
    syncEveryDays: z.number().int(),
    lastSyncedAt: dateTime.nullable(),
    nextSyncAt: dateTime.nullable(),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .openapi('KnowledgeSource')

export const SourcePageSchema = z
  .object({
    url: z.string(),
    title: z.string().nullable(),
    status: z.enum(['indexed', 'skipped']),
    skipReason: z.string().nullable().openapi({
      description:
        'robots, off_site, duplicate_canonical, duplicate_content, too_large, not_html, http_error, gone, js_rendered, no_text, no_text_layer, encrypted, corrupt, noindex, page_limit, depth_limit, time_limit, fetch_failed, url_not_allowed',
    }),
    skipDetail: z.string().nullable().openapi({ description: 'Why, in words; on an indexed PDF, the pages that gave no text' }),
    depth: z.number().int(),
    bytes: z.number().int(),
    chunks: z.number().int(),
    fetchedAt: dateTime,
  })
  .openapi('KnowledgeSourcePage')

export const SourceResultSchema = z.object({ source: SourceSchema }).openapi('KnowledgeSourceResult')
export const SourceListSchema = z.object({ sources: z.array(SourceSchema) }).openapi('KnowledgeSourceList')
export const SourceDetailSchema = z.object({ source: SourceSchema, pages: z.array(SourcePageSchema) }).openapi('KnowledgeSourceDetail')
